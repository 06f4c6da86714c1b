/**
 * TOTP multi-factor: `GET /mfa/totp/generate` (a secret and its QR code),
 * `POST /user/mfa` (activate or deactivate with a code), and
 * `POST /signin/mfa/totp` (the second step of a sign-in that answered
 * `{ mfa: { ticket } }`).
 */
import { Hono } from "hono";
import { and, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import { insertRefreshTokenIfStatement } from "../db/refresh-tokens";
import qrcode from "qrcode-generator";
import * as z from "zod/mini";
import type { AppEnv, RequestContext } from "../context";
import { tickets, users } from "../db/schema";
import { findUserById, type UserWithRoles } from "../db/users";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { sha256Hex } from "../lib/crypto";
import { boundedString } from "../lib/schema";
import { base32Encode, matchTotp, otpauthUri } from "../lib/totp";
import { decryptTotpSecret, encryptTotpSecret } from "../services/totp-secrets";
import { newSessionToken } from "../tokens/refresh-token";
import { buildSession } from "../tokens/session";
import { requireSessionUser } from "../tokens/verify";
import { reserveCredentialAttempt } from "../limits/limits";

const TOTP_SECRET_BYTES = 20;
const USER_ATTEMPT_WINDOW_MS = 15 * 60 * 1000;

// activeMfaType is any string here so that an unknown type answers the spec's
// `mfa-type-not-found` rather than a generic invalid-request.
const changeMfaBody = z.strictObject({ code: boundedString(1, 16), activeMfaType: z.optional(boundedString(0, 32)) });
const signInTotpBody = z.strictObject({ ticket: boundedString(1, 256), otp: boundedString(1, 16) });

function counter(context: RequestContext, subject: string) {
  const { env, realm } = context;
  return env.ATTEMPT_COUNTER.get(env.ATTEMPT_COUNTER.idFromName(`${realm.id}:${subject}`));
}

async function signedInUser(context: RequestContext, request: Request): Promise<UserWithRoles> {
  const { user } = await requireSessionUser(context, request);
  if (user.disabled) throw new AuthError("disabled-user");
  return user;
}

/**
 * Checks `code` against the user's secret and records its time step, refusing a
 * step already used: the conditional update lets exactly one of two concurrent
 * submissions of the same code through. `alsoSet` rides on the same update, so
 * activating or deactivating TOTP is one atomic write with the code's use.
 */
async function acceptCode(
  context: RequestContext,
  user: UserWithRoles,
  code: string,
  alsoSet: Partial<typeof users.$inferInsert> = {},
): Promise<void> {
  const { config, db, realm } = context;
  if (user.totpSecretEncrypted === null) throw new AuthError("no-totp-secret");
  const secret = await decryptTotpSecret(config, user.totpSecretEncrypted, user.id);
  if (secret === null) throw new AuthError("no-totp-secret");
  const step = await matchTotp(secret, code, Date.now());
  if (step === null) throw new AuthError("invalid-totp");
  const recorded = await db
    .update(users)
    .set({ ...alsoSet, totpLastStep: step })
    .where(
      and(
        eq(users.realm, realm.id),
        eq(users.id, user.id),
        or(isNull(users.totpLastStep), lt(users.totpLastStep, step)),
      ),
    )
    .returning({ id: users.id });
  if (recorded.length === 0) throw new AuthError("invalid-totp");
}

export const mfaRoutes = new Hono<AppEnv>()
  .get("/mfa/totp/generate", async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    const user = await signedInUser(context, c.req.raw);
    if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
    if (user.activeMfaType === "totp") throw new AuthError("totp-already-active");
    const secret = crypto.getRandomValues(new Uint8Array(TOTP_SECRET_BYTES));
    const totpSecret = base32Encode(secret);
    // Pending until `POST /user/mfa` proves the app holds it; a new generate replaces it.
    await db
      .update(users)
      .set({ totpSecretEncrypted: await encryptTotpSecret(config, secret, user.id), totpLastStep: null, updatedAt: Date.now() })
      .where(and(eq(users.realm, realm.id), eq(users.id, user.id)));
    // The QR code is drawn here, never by a third-party service: it carries the secret.
    const qr = qrcode(0, "M");
    qr.addData(otpauthUri(totpSecret, user.email ?? user.id, config.totpIssuer));
    qr.make();
    return c.json({ imageUrl: qr.createDataURL(4, 2), totpSecret });
  })

  .post("/user/mfa", async (c) => {
    const context = c.var.context;
    const user = await signedInUser(context, c.req.raw);
    const body = await readJsonBody(c.req.raw, changeMfaBody);
    if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
    // As Nhost's server does: "totp" activates; "" or no type at all deactivates.
    if (body.activeMfaType !== undefined && body.activeMfaType !== "" && body.activeMfaType !== "totp") {
      throw new AuthError("mfa-type-not-found");
    }
    const activate = body.activeMfaType === "totp";
    if (activate && user.activeMfaType === "totp") throw new AuthError("totp-already-active");
    if (!activate && user.activeMfaType !== "totp") throw new AuthError("disabled-mfa-totp");
    const attempt = await reserveCredentialAttempt(context, { userId: user.id });
    const userCounter = counter(context, `totp-user:${user.id}`);
    if (!(await userCounter.attempt(context.config.totpMaxAttemptsPerUser, USER_ATTEMPT_WINDOW_MS, Date.now()))) {
      throw new AuthError("invalid-totp");
    }
    // Deactivating forgets the secret in the same write that spends the code.
    const change = activate ? { activeMfaType: "totp" } : { activeMfaType: null, totpSecretEncrypted: null };
    await acceptCode(context, user, body.code, { ...change, updatedAt: Date.now() });
    // The caps count wrong codes; a right one gives its attempts back.
    await Promise.all([userCounter.refund(USER_ATTEMPT_WINDOW_MS, Date.now()), attempt.succeeded()]);
    return c.json("OK");
  })

  .post("/signin/mfa/totp", async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    const body = await readJsonBody(c.req.raw, signInTotpBody);
    if (!body.ticket.startsWith("mfaTotp:")) throw new AuthError("invalid-ticket");
    const ticketHash = await sha256Hex(body.ticket);
    const now = Date.now();
    const found = await db
      .select({ userId: tickets.userId })
      .from(tickets)
      .where(
        and(
          eq(tickets.ticketHash, ticketHash),
          eq(tickets.realm, realm.id),
          eq(tickets.purpose, "mfaTotp"),
          isNull(tickets.usedAt),
          gt(tickets.expiresAt, now),
        ),
      )
      .limit(1);
    const userId = found[0]?.userId;
    // A guessed ticket is a failed attempt too, counted against the IP alone.
    const attempt = await reserveCredentialAttempt(context, userId === undefined ? null : { userId });
    if (userId === undefined) throw new AuthError("invalid-ticket");
    // Guesses are counted per ticket (then it is dead) and per user (across tickets).
    if (!(await counter(context, `mfa-ticket:${ticketHash}`).attempt(config.totpMaxAttemptsPerTicket, config.mfaTicketTtlSeconds * 1000, now))) {
      throw new AuthError("invalid-ticket");
    }
    const userCounter = counter(context, `totp-user:${userId}`);
    if (!(await userCounter.attempt(config.totpMaxAttemptsPerUser, USER_ATTEMPT_WINDOW_MS, now))) {
      throw new AuthError("invalid-totp");
    }
    const user = await findUserById(db, realm.id, userId);
    if (user === null) throw new AuthError("invalid-ticket");
    if (user.disabled) throw new AuthError("disabled-user");
    if (user.activeMfaType !== "totp") throw new AuthError("disabled-mfa-totp");
    if (user.totpSecretEncrypted === null) throw new AuthError("no-totp-secret");
    const secret = await decryptTotpSecret(config, user.totpSecretEncrypted, user.id);
    if (secret === null) throw new AuthError("no-totp-secret");
    const step = await matchTotp(secret, body.otp, now);
    if (step === null) throw new AuthError("invalid-totp");

    // One batch, one transaction: redeem the ticket (only while the code's step is
    // unused), spend the step, create the session. The nonce ties the later
    // statements to this request's redemption, so a concurrent replay of the code
    // or of the ticket writes nothing.
    const nonce = crypto.randomUUID();
    const stepUnused = or(isNull(users.totpLastStep), lt(users.totpLastStep, step));
    const owner = and(eq(users.realm, realm.id), eq(users.id, user.id));
    const redeemedHere = sql`EXISTS (SELECT 1 FROM ${tickets} WHERE ${tickets.ticketHash} = ${ticketHash} AND ${tickets.redeemedBy} = ${nonce})`;
    const session = await newSessionToken(context, user.id);
    const [redeemed] = await db.batch([
      db
        .update(tickets)
        .set({ usedAt: now, redeemedBy: nonce })
        .where(
          and(
            eq(tickets.ticketHash, ticketHash),
            eq(tickets.purpose, "mfaTotp"),
            isNull(tickets.usedAt),
            gt(tickets.expiresAt, now),
            sql`EXISTS (SELECT 1 FROM ${users} WHERE ${and(owner, stepUnused)})`,
          ),
        ),
      db.update(users).set({ totpLastStep: step }).where(and(owner, stepUnused, redeemedHere)),
      insertRefreshTokenIfStatement(db, session.row, redeemedHere),
    ]);
    if (redeemed.meta.changes === 0) throw new AuthError("invalid-totp");
    // The caps count wrong codes; a right one gives its attempts back.
    await Promise.all([userCounter.refund(USER_ATTEMPT_WINDOW_MS, now), attempt.succeeded()]);
    return c.json({ session: await buildSession(context, user, session.issued) });
  });
