/** ES256 access tokens with the Hasura claims namespace (design §3). */
import { SignJWT } from "jose";
import { HASURA_CLAIMS_NAMESPACE, type AccessTokenClaims, type HasuraClaims } from "@edgeauth/client";
import type { UserWithRoles } from "../db/users";
import type { RequestContext } from "../context";
import { realmKeys } from "../keys/realm-keys";

export interface IssuedAccessToken {
  accessToken: string;
  accessTokenExpiresIn: number;
}

/** Claims some sessions add (elevation); standard claims always win over them. */
export interface ExtraClaims {
  /** Inside the Hasura namespace, e.g. `x-hasura-auth-elevated`. */
  hasura?: Record<`x-hasura-${string}`, string>;
  /** At the top level, e.g. `elevatedAt`, or an impersonation's `act` (RFC 8693 §4.1). */
  top?: Record<string, string | number | { sub: string }>;
}

export async function issueAccessToken(
  context: RequestContext,
  user: UserWithRoles,
  sessionId: string,
  extraClaims?: ExtraClaims,
): Promise<IssuedAccessToken> {
  const { config, realm } = context;
  const issuedAt = Math.floor(Date.now() / 1000);
  const hasuraClaims: HasuraClaims = {
    ...extraClaims?.hasura,
    "x-hasura-user-id": user.id,
    "x-hasura-default-role": user.defaultRole,
    "x-hasura-allowed-roles": user.roles,
    "x-hasura-user-is-anonymous": user.isAnonymous ? "true" : "false",
  };
  const claims: Omit<AccessTokenClaims, "iss" | "sub" | "iat" | "exp"> = {
    ...extraClaims?.top,
    jti: crypto.randomUUID(),
    sid: sessionId,
    [HASURA_CLAIMS_NAMESPACE]: hasuraClaims,
    ...(config.jwtAudience === null ? {} : { aud: config.jwtAudience }),
  };
  const signingKey = await realmKeys(context).signingKey();
  const accessToken = await new SignJWT(claims)
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: signingKey.kid })
    .setSubject(user.id)
    .setIssuer(realm.issuer)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + config.accessTokenTtlSeconds)
    .sign(signingKey.key);
  return { accessToken, accessTokenExpiresIn: config.accessTokenTtlSeconds };
}
