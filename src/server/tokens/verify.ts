/**
 * The server's own access-token checks use the published verifier, `@edgeauth/client`
 * (design §5), fed straight from the realm's KeyStore rather than over HTTP; the
 * realm's key module (`keys/realm-keys.ts`) owns it and its cache.
 */
import { bearerToken, type AccessTokenClaims, type Verifier } from "@edgeauth/client";
import type { RequestContext } from "../context";
import { findUserWithLiveSession } from "../db/refresh-tokens";
import type { UserWithRoles } from "../db/users";
import { AuthError } from "../errors";
import { realmKeys } from "../keys/realm-keys";

/** The request's realm's verifier (`POST /token/verify` calls it directly). */
export function serverVerifier(context: RequestContext): Verifier {
  return realmKeys(context).verifier();
}

/** The claims of the request's bearer token; `unauthenticated-user` otherwise. */
export async function requireAccessToken(context: RequestContext, request: Request): Promise<AccessTokenClaims> {
  const token = bearerToken(request.headers.get("authorization"));
  if (token === null) throw new AuthError("unauthenticated-user");
  const result = await serverVerifier(context).verify(token);
  if (!result.ok) throw new AuthError("unauthenticated-user");
  return result.claims;
}

/** Like `requireAccessToken`, but null when no Authorization header is sent. */
export async function optionalAccessToken(context: RequestContext, request: Request): Promise<AccessTokenClaims | null> {
  if (request.headers.get("authorization") === null) return null;
  return requireAccessToken(context, request);
}

/**
 * For the routes that change the account (password, email, factors, passkeys,
 * PATs, elevation): the caller's user, and only while the token's session still
 * exists. An access token outlives its session's sign-out by up to its lifetime;
 * that is acceptable for reading, not for taking the account over. The session
 * check rides on the user read: one D1 round trip, as the user alone took.
 */
export async function requireSessionUser(
  context: RequestContext,
  request: Request,
): Promise<{ claims: AccessTokenClaims; user: UserWithRoles }> {
  const claims = await requireAccessToken(context, request);
  // An impersonation token (RFC 8693 `act`, issued by the admin API to support
  // staff) acts as the user but must not take the account over.
  if ("act" in claims) throw new AuthError("impersonation-forbidden");
  const user = await findUserWithLiveSession(context.db, context.realm.id, claims.sub, claims.sid, Date.now());
  if (user === null) throw new AuthError("unauthenticated-user");
  return { claims, user };
}
