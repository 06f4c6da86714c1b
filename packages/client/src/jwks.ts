/** JWK shapes both the server and the client library use. */

/**
 * The public half of an ES256 signing key, as edgeauth publishes it in its JWKS.
 * `kid` is the key's RFC 7638 thumbprint.
 *
 * @example
 * ```ts
 * const key: PublicSigningJwk = {
 *   kty: "EC", crv: "P-256", alg: "ES256", use: "sig",
 *   x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 *   y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
 *   kid: "<RFC 7638 thumbprint of the key>",
 * };
 * ```
 */
export interface PublicSigningJwk {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
  kid: string;
  alg: "ES256";
  use: "sig";
}

/**
 * The document at `<issuer>/.well-known/jwks.json`.
 *
 * @example
 * ```ts
 * const response = await fetch("https://auth.example.com/.well-known/jwks.json");
 * const jwks = (await response.json()) as JsonWebKeySet;
 * console.log(jwks.keys.map((key) => key.kid));
 * ```
 */
export interface JsonWebKeySet {
  keys: PublicSigningJwk[];
}
