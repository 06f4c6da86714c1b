/**
 * `@edgeauth/client`: verify edgeauth access tokens in any runtime with `fetch` and
 * WebCrypto (Workers, Node 20+, Deno, Bun, browsers). The Hono middleware lives in
 * `@edgeauth/client/hono`, so that this entry point never needs Hono.
 *
 * @example
 * ```ts
 * import { createVerifier } from "@edgeauth/client";
 *
 * const verifier = createVerifier({ issuer: "https://auth.example.com" });
 * const result = await verifier.verify(accessToken);
 * ```
 *
 * @packageDocumentation
 */
export { createVerifier } from "./verifier.js";
export type { Verifier, VerifierOptions, VerifyErrorCode, VerifyResult } from "./verifier.js";
export { bearerToken } from "./bearer-token.js";
export { HASURA_CLAIMS_NAMESPACE } from "./claims.js";
export type { AccessTokenClaims, HasuraClaims } from "./claims.js";
export type { JsonWebKeySet, PublicSigningJwk } from "./jwks.js";
