/** Pure helpers for ES256 JSON Web Keys. Only the KeyStore calls `generateSigningKey`. */
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import type { PublicSigningJwk } from "@edgeauth/client";

export interface PrivateSigningJwk extends PublicSigningJwk {
  d: string;
}

export interface GeneratedSigningKey {
  kid: string;
  privateJwk: PrivateSigningJwk;
  publicJwk: PublicSigningJwk;
}

/** A fresh P-256 key; `kid` is its RFC 7638 thumbprint. */
export async function generateSigningKey(): Promise<GeneratedSigningKey> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const exported = await exportJWK(privateKey);
  if (exported.kty !== "EC" || exported.crv !== "P-256" || !exported.x || !exported.y || !exported.d) {
    throw new Error("generated key is not an EC P-256 key");
  }
  const kid = await calculateJwkThumbprint({ kty: "EC", crv: "P-256", x: exported.x, y: exported.y }, "sha256");
  const publicJwk: PublicSigningJwk = { kty: "EC", crv: "P-256", x: exported.x, y: exported.y, kid, alg: "ES256", use: "sig" };
  return { kid, publicJwk, privateJwk: { ...publicJwk, d: exported.d } };
}

/** Strips everything but the public members, whatever the input carries. */
export function toPublicJwk(jwk: PublicSigningJwk): PublicSigningJwk {
  return { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, kid: jwk.kid, alg: "ES256", use: "sig" };
}
