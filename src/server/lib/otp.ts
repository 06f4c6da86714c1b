/** One-time numeric codes: drawing them, and what the code store keeps of them. */
import { hmacSha256 } from "./crypto";
import { toHex } from "./encoding";

/** A uniformly random code of `digits` decimal digits (rejection sampling, no modulo bias). */
export function randomNumericCode(digits: number): string {
  const range = 10 ** digits;
  const limit = Math.floor(0x1_0000_0000 / range) * range;
  const word = new Uint32Array(1);
  for (;;) {
    crypto.getRandomValues(word);
    if (word[0]! < limit) return String(word[0]! % range).padStart(digits, "0");
  }
}

/**
 * What the code store keeps of a code: an HMAC under a server secret, bound to the
 * address it was sent to. A bare SHA-256 of six digits would be reversed by
 * trying all million of them.
 */
export async function oneTimeCodeDigest(secret: string, address: string, code: string): Promise<string> {
  return toHex(await hmacSha256(secret, `edgeauth one-time code v1\u0000${address}\u0000${code}`));
}
