/**
 * Elevated sessions: `/elevate/webauthn/verify` issues an access token carrying
 * `x-hasura-auth-elevated: <userId>` (Nhost's claim) and a top-level `elevatedAt`
 * (seconds). The routes the spec marks `BearerAuthElevated` call
 * `requireElevationIfKeys`: like Nhost's `AUTH_REQUIRE_ELEVATED_CLAIM=recommended`,
 * a user with at least one security key must present a token elevated within
 * ELEVATION_TTL_SECONDS; a user without keys is not asked (there is nothing to
 * elevate with).
 */
import { HASURA_CLAIMS_NAMESPACE, type AccessTokenClaims } from "@edgeauth/client";
import type { RequestContext } from "../context";
import { countCredentialsOfUser } from "../db/webauthn";
import { AuthError } from "../errors";
import type { ExtraClaims } from "./access-token";

export const ELEVATED_CLAIM = "x-hasura-auth-elevated";

/** The claims of an elevated token for `userId`, elevated at `nowMs`. */
export function elevatedClaims(userId: string, nowMs: number): ExtraClaims {
  return { hasura: { [ELEVATED_CLAIM]: userId }, top: { elevatedAt: Math.floor(nowMs / 1000) } };
}

/** Pure: is this token elevated for its own subject, and recently enough? */
export function isElevated(claims: AccessTokenClaims, ttlSeconds: number, nowMs: number): boolean {
  const elevatedFor = claims[HASURA_CLAIMS_NAMESPACE]?.[ELEVATED_CLAIM];
  const elevatedAt = (claims as unknown as Record<string, unknown>).elevatedAt;
  if (elevatedFor !== claims.sub || typeof elevatedAt !== "number" || !Number.isFinite(elevatedAt)) return false;
  const nowSeconds = nowMs / 1000;
  // A timestamp in the future is not ours (we stamp it at issue): refuse it.
  return elevatedAt <= nowSeconds + 1 && nowSeconds - elevatedAt < ttlSeconds;
}

/**
 * Throws `elevated-claim-required` when the caller's user has a security key and
 * the token is not a fresh elevated one. With passkeys disabled nobody could
 * elevate, so nothing is required (keys left over would otherwise lock users out
 * of these routes).
 */
export async function requireElevationIfKeys(context: RequestContext, claims: AccessTokenClaims): Promise<void> {
  const { config, db, realm } = context;
  if (!config.webauthn.enabled) return;
  if (isElevated(claims, config.elevationTtlSeconds, Date.now())) return;
  if ((await countCredentialsOfUser(db, realm.id, claims.sub)) === 0) return;
  throw new AuthError("elevated-claim-required");
}
