/**
 * Personal access tokens: `POST /pat` creates one (shown once), `POST /signin/pat`
 * exchanges it for a session; ours: `GET /pat` lists them without secrets and
 * `DELETE /pat/:id` revokes one.
 */
import { Hono } from "hono";
import { and, desc, eq, gt, isNull, sql } from "drizzle-orm";
import { insertRefreshTokenIfStatement } from "../db/refresh-tokens";
import * as z from "zod/mini";
import type { AppEnv } from "../context";
import { personalAccessTokens } from "../db/schema";
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
import { requireElevationIfKeys } from "../tokens/elevation";
import { reserveCredentialAttempt } from "../limits/limits";

const createBody = z.strictObject({
  expiresAt: z.iso.datetime({ offset: true }),
  metadata: z.optional(signUpOptionsSchema.shape.metadata),
});
const signInBody = z.strictObject({ personalAccessToken: boundedString(1, 256) });

export const patRoutes = new Hono<AppEnv>()
  .post("/pat", async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    await requireElevationIfKeys(context, claims);
    const body = await readJsonBody(c.req.raw, createBody);
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
    await db.insert(personalAccessTokens).values({
      id,
      realm: realm.id,
      userId: user.id,
      tokenHash: await sha256Hex(personalAccessToken),
      metadata: JSON.stringify(body.metadata ?? {}),
      createdAt: now,
      expiresAt,
    });
    return c.json({ id, personalAccessToken });
  })

  .get("/pat", async (c) => {
    const context = c.var.context;
    const claims = await requireAccessToken(context, c.req.raw);
    const rows = await context.db
      .select()
      .from(personalAccessTokens)
      .where(
        and(
          eq(personalAccessTokens.realm, context.realm.id),
          eq(personalAccessTokens.userId, claims.sub),
          isNull(personalAccessTokens.revokedAt),
        ),
      )
      .orderBy(desc(personalAccessTokens.createdAt));
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
    const revoked = await context.db
      .update(personalAccessTokens)
      .set({ revokedAt: Date.now() })
      .where(
        and(
          eq(personalAccessTokens.realm, context.realm.id),
          eq(personalAccessTokens.id, c.req.param("id")),
          eq(personalAccessTokens.userId, claims.sub),
          isNull(personalAccessTokens.revokedAt),
        ),
      )
      .returning({ id: personalAccessTokens.id });
    if (revoked.length === 0) throw new AuthError("invalid-pat");
    return c.json("OK");
  })

  .post("/signin/pat", async (c) => {
    const context = c.var.context;
    const { db, realm } = context;
    const body = await readJsonBody(c.req.raw, signInBody);
    // The account is unknown until the token is found: guesses count against the IP.
    const attempt = await reserveCredentialAttempt(context, null);
    if (!UUID_PATTERN.test(body.personalAccessToken)) throw new AuthError("invalid-pat");
    const now = Date.now();
    const live = and(
      eq(personalAccessTokens.realm, realm.id),
      eq(personalAccessTokens.tokenHash, await sha256Hex(body.personalAccessToken)),
      isNull(personalAccessTokens.revokedAt),
      gt(personalAccessTokens.expiresAt, now),
    );
    const found = await db.select({ userId: personalAccessTokens.userId }).from(personalAccessTokens).where(live).limit(1);
    if (found[0] === undefined) throw new AuthError("invalid-pat");
    const user = await findUserById(db, realm.id, found[0].userId);
    if (user === null) throw new AuthError("invalid-pat");
    const settled = attempt.succeeded();
    checkMaySignIn(context.config, user);
    // One batch: the use is recorded and the session exists only if the token is
    // still live when the batch runs (a revocation in between wins).
    const session = await newSessionToken(context, user.id);
    const [used] = await db.batch([
      db.update(personalAccessTokens).set({ lastUsedAt: now }).where(live),
      insertRefreshTokenIfStatement(db, session.row, sql`EXISTS (SELECT 1 FROM ${personalAccessTokens} WHERE ${live})`),
    ]);
    if (used.meta.changes === 0) throw new AuthError("invalid-pat");
    await settled;
    return c.json({ session: await buildSession(context, user, session.issued) });
  });
