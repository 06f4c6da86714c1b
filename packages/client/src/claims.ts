/** The access-token claims edgeauth issues (design §3). */

/**
 * The claim that holds the Hasura session variables, as the Nhost ecosystem expects.
 *
 * @example
 * ```ts
 * if (result.ok) {
 *   const role = result.claims[HASURA_CLAIMS_NAMESPACE]["x-hasura-default-role"];
 * }
 * ```
 */
export const HASURA_CLAIMS_NAMESPACE = "https://hasura.io/jwt/claims";

/**
 * The Hasura session variables of an access token, plus any configured custom
 * `x-hasura-*` claims.
 *
 * @example
 * ```ts
 * const hasura: HasuraClaims = claims[HASURA_CLAIMS_NAMESPACE];
 * const canEdit = hasura["x-hasura-allowed-roles"].includes("editor");
 * ```
 */
export interface HasuraClaims {
  "x-hasura-user-id": string;
  "x-hasura-default-role": string;
  "x-hasura-allowed-roles": string[];
  /** A string, as Hasura compares session variables as text. */
  "x-hasura-user-is-anonymous": "true" | "false";
  [custom: `x-hasura-${string}`]: string | string[];
}

/**
 * The claims of an edgeauth access token, as `verify` returns them. Pass your own
 * type to `createVerifier<Claims>()` when your issuer adds top-level custom claims.
 *
 * @example
 * ```ts
 * const result = await verifier.verify(token);
 * if (result.ok) {
 *   const claims: AccessTokenClaims = result.claims;
 *   console.log(claims.sub, claims.sid, new Date(claims.exp * 1000));
 * }
 * ```
 */
export interface AccessTokenClaims {
  /** The user id. */
  sub: string;
  /** The realm's issuer URL. */
  iss: string;
  /** Present when the issuer is configured with an audience. */
  aud?: string | string[];
  /** Issued at, in seconds since the epoch. */
  iat: number;
  /** Expires at, in seconds since the epoch. */
  exp: number;
  /** Unique per token. */
  jti: string;
  /** The session (refresh-token family) this token belongs to. */
  sid: string;
  [HASURA_CLAIMS_NAMESPACE]: HasuraClaims;
}
