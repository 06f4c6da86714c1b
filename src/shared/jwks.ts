/** JWK shapes both the server and the client library use. */

/** The public half of an ES256 signing key, as published in the JWKS. */
export interface PublicSigningJwk {
  kty: "EC";
  crv: "P-256";
  x: string;
  y: string;
  kid: string;
  alg: "ES256";
  use: "sig";
}

export interface JsonWebKeySet {
  keys: PublicSigningJwk[];
}
