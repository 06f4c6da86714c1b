/**
 * Personal access tokens: `POST /pat` creates one (shown once), `POST /signin/pat`
 * exchanges it for a session; ours: `GET /pat` lists them without secrets and
 * `DELETE /pat/:id` revokes one.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../context";
import { findLivePatOwner, insertPat, listUnrevokedPatsOfUser, revokePatOfUser, startSessionWithPat } from "../db/personal-access-tokens";
import { findUserById } from "../db/users";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { sha256Hex } from "../lib/crypto";
import { UUID_PATTERN } from "../lib/encoding";
import { boundedString } from "../lib/schema";
import { signUpOptionsSchema } from "../lib/sign-up-options";
import { newSessionToken } from "../tokens/refresh-token";
import { buildSession } from "../tokens/session";
import { checkMaySignIn } from "../tokens/may-sign-in";
import { requireAccessToken, requireSessionUser } from "../tokens/verify";
import { requireElevation } from "../tokens/elevation";
import { reserveCredentialAttempt } from "../limits/limits";
import { auditSignIn, noteSignInSubject } from "./audit-sign-in";

const createBody = z.strictObject({
  expiresAt: z.iso.datetime({ offset: true }),
  metadata: z.optional(signUpOptionsSchema.shape.metadata),
});
const signInBody = z.strictObject({ personalAccessToken: boundedString(1, 256) });

export const patRoutes = new Hono<AppEnv>()
  .post("/pat", async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    // The body is checked before the bearer token, as Nhost's request validation does.
    const body = await readJsonBody(c.req.raw, createBody);
    if (!config.personalAccessTokensEnabled) throw new AuthError("disabled-endpoint");
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    await requireElevation(context, claims, user);
    if (user.disabled) throw new AuthError("disabled-user");
    if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
    const now = Date.now();
    const expiresAt = Date.parse(body.expiresAt);
    if (expiresAt <= now) throw new AuthError("invalid-request", "expiresAt must be in the future");
    if (expiresAt > now + config.patMaxLifetimeSeconds * 1000) {
      throw new AuthError("invalid-request", `expiresAt is beyond the longest lifetime (${config.patMaxLifetimeSeconds} s)`);
    }
    // A UUID, as the spec's pattern says: 122 random bits, stored only as its hash.
    const personalAccessToken = crypto.randomUUID();
    const id = crypto.randomUUID();
    await insertPat(db, realm.id, {
      id,
      userId: user.id,
      tokenHash: await sha256Hex(personalAccessToken),
      metadata: body.metadata ?? {},
      createdAt: now,
      expiresAt,
    });
    return c.json({ id, personalAccessToken });
  })

  .get("/pat", async (c) => {
    const context = c.var.context;
    const claims = await requireAccessToken(context, c.req.raw);
    const rows = await listUnrevokedPatsOfUser(context.db, context.realm.id, claims.sub);
    return c.json({
      personalAccessTokens: rows.map((row) => ({
        id: row.id,
        metadata: JSON.parse(row.metadata) as Record<string, unknown>,
        createdAt: new Date(row.createdAt).toISOString(),
        expiresAt: new Date(row.expiresAt).toISOString(),
        lastUsedAt: row.lastUsedAt === null ? null : new Date(row.lastUsedAt).toISOString(),
      })),
    });
  })

  .delete("/pat/:id", async (c) => {
    const context = c.var.context;
    const claims = await requireAccessToken(context, c.req.raw);
    const revoked = await revokePatOfUser(context.db, context.realm.id, claims.sub, c.req.param("id"), Date.now());
    if (!revoked) throw new AuthError("invalid-pat");
    return c.json("OK");
  })

  .post("/signin/pat", auditSignIn("pat"), async (c) => {
    const context = c.var.context;
    const { db, realm } = context;
    const body = await readJsonBody(c.req.raw, signInBody);
    if (!context.config.personalAccessTokensEnabled) throw new AuthError("disabled-endpoint");
    // The account is unknown until the token is found: guesses count against the IP.
    const attempt = await reserveCredentialAttempt(context, null);
    if (!UUID_PATTERN.test(body.personalAccessToken)) throw new AuthError("invalid-pat");
    const now = Date.now();
    const tokenHash = await sha256Hex(body.personalAccessToken);
    const ownerId = await findLivePatOwner(db, realm.id, tokenHash, now);
    if (ownerId === null) throw new AuthError("invalid-pat");
    const user = await findUserById(db, realm.id, ownerId);
    if (user === null) throw new AuthError("invalid-pat");
    noteSignInSubject(c, { userId: user.id });
    const settled = attempt.succeeded();
    checkMaySignIn(context.config, user);
    // The session exists only if the token is still live when it is written.
    const session = await newSessionToken(context, user.id);
    if (!(await startSessionWithPat(db, realm.id, { tokenHash, now, session: session.row }))) throw new AuthError("invalid-pat");
    await settled;
    return c.json({ session: await buildSession(context, user, session.issued) });
  });

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { createBody as createPatBody, signInBody as signInPatBody };
