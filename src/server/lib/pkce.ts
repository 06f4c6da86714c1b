/**
 * PKCE (RFC 7636) for the redirects that carry a session: the app sends an S256
 * `codeChallenge`, the redirect carries an authorization code instead of a refresh
 * token, and only the holder of the verifier can exchange it (`POST /token/exchange`).
 * Pure helpers; the code itself is tokens/authorization-code.ts.
 */
import * as z from "zod/mini";
import { constantTimeEqual } from "./crypto";
import { toBase64Url } from "./encoding";

/** An S256 challenge: base64url of a SHA-256, 43 characters, no padding (RFC 7636 §4.2). */
export const CODE_CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The spec's `codeChallenge` field and query parameter. */
export const codeChallengeSchema = z.string().check(z.regex(CODE_CHALLENGE_PATTERN, "must be an S256 challenge: 43 base64url characters"));

/** A verifier is 43..128 unreserved characters (RFC 7636 §4.1). */
export const codeVerifierSchema = z.string().check(z.regex(/^[A-Za-z0-9._~-]{43,128}$/, "must be 43 to 128 unreserved characters"));

const encoder = new TextEncoder();

/** `BASE64URL(SHA256(ASCII(verifier)))`, RFC 7636 §4.2. */
export async function s256Challenge(verifier: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(verifier))));
}

/** Whether `verifier` answers `challenge`, compared in constant time (both are 43 characters). */
export async function verifierMatches(challenge: string, verifier: string): Promise<boolean> {
  return constantTimeEqual(encoder.encode(await s256Challenge(verifier)), encoder.encode(challenge));
}

/** A fresh authorization code: 256 random bits, base64url. */
export function randomAuthorizationCode(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}
