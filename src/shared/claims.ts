/** The access-token claims edgeauth issues (design §3). */

export const HASURA_CLAIMS_NAMESPACE = "https://hasura.io/jwt/claims";

export interface HasuraClaims {
  "x-hasura-user-id": string;
  "x-hasura-default-role": string;
  "x-hasura-allowed-roles": string[];
  /** A string, as Hasura compares session variables as text. */
  "x-hasura-user-is-anonymous": "true" | "false";
  [custom: `x-hasura-${string}`]: string | string[];
}

export interface AccessTokenClaims {
  sub: string;
  iss: string;
  aud?: string | string[];
  iat: number;
  exp: number;
  /** Unique per token. */
  jti: string;
  /** The session (refresh-token family) this token belongs to. */
  sid: string;
  [HASURA_CLAIMS_NAMESPACE]: HasuraClaims;
}
