/** Hashing and comparison primitives, all on WebCrypto. */
import { toHex } from "./encoding";

const encoder = new TextEncoder();

export async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

// Imported once per secret and isolate: the refresh path signs with the same key on every call.
const hmacKeys = new Map<string, Promise<CryptoKey>>();

export async function hmacSha256(secret: string, message: string): Promise<Uint8Array> {
  let key = hmacKeys.get(secret);
  if (key === undefined) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    hmacKeys.set(secret, key);
  }
  return new Uint8Array(await crypto.subtle.sign("HMAC", await key, encoder.encode(message)));
}

/**
 * Compares two byte strings in time that depends only on their lengths. Uses the
 * Workers runtime's `timingSafeEqual` where present (workerd), and a plain XOR
 * fold elsewhere.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (a: ArrayBufferView, b: ArrayBufferView) => boolean };
  if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(a, b);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}

/**
 * Compares two strings in constant time by comparing their SHA-256 digests, so
 * that neither the content nor the length of the expected value leaks.
 */
export async function constantTimeEqualStrings(a: string, b: string): Promise<boolean> {
  const [digestA, digestB] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(a)),
    crypto.subtle.digest("SHA-256", encoder.encode(b)),
  ]);
  return constantTimeEqual(new Uint8Array(digestA), new Uint8Array(digestB));
}

// Derived once per secret, label and isolate.
const aesKeys = new Map<string, Promise<CryptoKey>>();

/**
 * An AES-GCM-256 key derived with HKDF-SHA-256 from a server secret under its own
 * `label`, so one secret yields independent keys for independent uses (TOTP
 * secrets, provider tokens) and none of them is the secret itself.
 */
export function aesKeyFromSecret(secret: string, label: string): Promise<CryptoKey> {
  const cacheKey = `${label}\u0000${secret}`;
  let key = aesKeys.get(cacheKey);
  if (key === undefined) {
    key = (async () => {
      const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(label) },
        material,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      );
    })();
    aesKeys.set(cacheKey, key);
  }
  return key;
}
