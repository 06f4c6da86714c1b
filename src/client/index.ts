/**
 * `edgeauth/client`: verify edgeauth access tokens in any runtime with `fetch`
 * and WebCrypto. The Hono middleware lives in `edgeauth/client/hono`.
 */
export { createVerifier } from "./verifier";
export type { Verifier, VerifierOptions, VerifyErrorCode, VerifyResult } from "./verifier";
export { HASURA_CLAIMS_NAMESPACE } from "../shared/claims";
export type { AccessTokenClaims, HasuraClaims } from "../shared/claims";
export type { JsonWebKeySet, PublicSigningJwk } from "../shared/jwks";
