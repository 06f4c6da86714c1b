/**
 * Rotating refresh tokens with reuse detection (design §3).
 *
 * Each use rotates the token to a child. The child is derived, not drawn at
 * random: HMAC of the parent's hash under REFRESH_TOKEN_SECRET. So a concurrent
 * refresh of the same parent inside the grace window gets the very same child
 * (no tab logs another out), while a parent presented after the window is a
 * reuse, and the whole family is revoked.
 */
import { recordAudit } from "../services/audit";
import {
  findRefreshTokenByHash,
  insertRefreshTokenStatement,
  revokeFamily,
  rotateRefreshToken,
  type NewRefreshToken,
} from "../db/refresh-tokens";
import type { UserWithRoles } from "../db/users";
import type { RequestContext } from "../context";
import { AuthError } from "../errors";
import { checkMaySignIn } from "./may-sign-in";
import { hmacSha256, sha256Hex } from "../lib/crypto";
import { formatUuidV4, UUID_PATTERN } from "../lib/encoding";

export interface IssuedRefreshToken {
  refreshToken: string;
  refreshTokenId: string;
  /** The session family; the `sid` claim of access tokens. */
  familyId: string;
}

/** A new session for a user: the first token of a new family, not yet written. */
export async function newSessionToken(context: RequestContext, userId: string) {
  const refreshToken = crypto.randomUUID();
  const now = Date.now();
  const { refreshTokenTtlSeconds, sessionMaxLifetimeSeconds } = context.config;
  const sessionExpiresAt = sessionMaxLifetimeSeconds === 0 ? null : now + sessionMaxLifetimeSeconds * 1000;
  const expiresAt = now + refreshTokenTtlSeconds * 1000;
  const row: NewRefreshToken = {
    id: crypto.randomUUID(),
    realm: context.realm.id,
    userId,
    familyId: crypto.randomUUID(),
    tokenHash: await sha256Hex(refreshToken),
    createdAt: now,
    expiresAt: sessionExpiresAt === null ? expiresAt : Math.min(expiresAt, sessionExpiresAt),
    sessionExpiresAt,
    clientIp: context.clientIp,
    userAgent: context.userAgent,
  };
  const issued: IssuedRefreshToken = { refreshToken, refreshTokenId: row.id, familyId: row.familyId };
  return { issued, row, statement: insertRefreshTokenStatement(context.db, row) };
}

async function deriveChild(secret: string, parentHash: string) {
  const [tokenBytes, idBytes] = await Promise.all([
    hmacSha256(secret, `refresh-token:${parentHash}`),
    hmacSha256(secret, `refresh-token-id:${parentHash}`),
  ]);
  const refreshToken = formatUuidV4(tokenBytes);
  return { refreshToken, id: formatUuidV4(idBytes), tokenHash: await sha256Hex(refreshToken) };
}

/**
 * Exchanges a refresh token for its child in one D1 round trip. Throws
 * `invalid-refresh-token` for an unknown, expired or revoked token, and for a
 * reuse (after revoking the family).
 */
export async function rotate(
  context: RequestContext,
  presentedToken: string,
): Promise<{ issued: IssuedRefreshToken; user: UserWithRoles }> {
  const { db, config, realm } = context;
  if (!UUID_PATTERN.test(presentedToken)) throw new AuthError("invalid-refresh-token");
  const parentHash = await sha256Hex(presentedToken);
  const child = await deriveChild(config.refreshTokenSecret, parentHash);
  const now = Date.now();
  const graceStart = now - config.refreshReuseGraceSeconds * 1000;
  const outcome = await rotateRefreshToken(db, {
    realm: realm.id,
    parentHash,
    child: { id: child.id, tokenHash: child.tokenHash, expiresAt: now + config.refreshTokenTtlSeconds * 1000 },
    now,
    graceStart,
    requireVerifiedEmail: config.requireVerifiedEmail,
  });
  if (outcome === null) throw new AuthError("invalid-refresh-token");
  const { parent, user, childRevoked } = outcome;
  if (parent.revokedAt !== null || parent.expiresAt <= now) throw new AuthError("invalid-refresh-token");
  // The same rule the rotation's SQL applied: such a parent was not rotated.
  checkMaySignIn(config, user);

  // This call rotated the parent (rotatedAt = now), or a concurrent tab did so
  // inside the grace window: both get the same, live child.
  const rotatedInsideGrace = parent.rotatedAt !== null && parent.rotatedAt >= graceStart;
  if (rotatedInsideGrace && childRevoked === false) {
    return { issued: { refreshToken: child.refreshToken, refreshTokenId: child.id, familyId: parent.familyId }, user };
  }
  // Rotated before the grace window (or its child is gone): a replayed token.
  console.warn(`refresh token reuse detected: revoking session family ${parent.familyId} of user ${user.id}`);
  await revokeFamily(db, realm.id, parent.familyId, now);
  // Whoever presented the token may not be its owner: the actor is not the user.
  recordAudit(context, {
    type: "refresh-reuse",
    outcome: "failure",
    userId: user.id,
    actor: { type: "anonymous", id: null },
    detail: { sessionId: parent.familyId, revoked: "session" },
  });
  throw new AuthError("invalid-refresh-token");
}

/** The family of a refresh token in any state, for sign-out; null when unknown. */
export async function familyOf(context: RequestContext, presentedToken: string) {
  if (!UUID_PATTERN.test(presentedToken)) return null;
  const found = await findRefreshTokenByHash(context.db, context.realm.id, await sha256Hex(presentedToken));
  return found === null ? null : { familyId: found.token.familyId, userId: found.user.id };
}
