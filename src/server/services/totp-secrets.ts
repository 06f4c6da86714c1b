/**
 * TOTP secrets at rest: AES-GCM under a key derived with HKDF from a server
 * secret (TOTP_ENCRYPTION_KEY, or REFRESH_TOKEN_SECRET under its own HKDF label
 * when that is not set), so a copy of the database alone does not yield codes.
 * Stored as `v1.<iv base64>.<ciphertext base64>`.
 */
import type { Config } from "../config";
import { aesKeyFromSecret } from "../lib/crypto";
import { fromBase64, toBase64 } from "../lib/encoding";

const encoder = new TextEncoder();
/** The HKDF label of this key: changing it makes every stored value unreadable. */
const KEY_LABEL = "edgeauth totp secret v1";

function keyFor(secret: string): Promise<CryptoKey> {
  return aesKeyFromSecret(secret, KEY_LABEL);
}

export async function encryptTotpSecret(config: Config, secret: Uint8Array, userId: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  // The user id is bound in as additional data: a secret copied to another row does not decrypt.
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(userId) },
    await keyFor(config.totpEncryptionKey ?? config.refreshTokenSecret),
    secret,
  );
  return `v1.${toBase64(iv)}.${toBase64(new Uint8Array(ciphertext))}`;
}

/** Null when the value is not ours or does not decrypt (wrong key, tampered, wrong user). */
export async function decryptTotpSecret(config: Config, stored: string, userId: string): Promise<Uint8Array | null> {
  const [version, ivText, ciphertextText] = stored.split(".");
  const iv = fromBase64(ivText ?? "");
  const ciphertext = fromBase64(ciphertextText ?? "");
  if (version !== "v1" || iv === null || ciphertext === null) return null;
  // A secret stored before TOTP_ENCRYPTION_KEY was set is under the fallback key:
  // it still decrypts, so setting the key later does not lock users with TOTP out.
  const candidates = [config.totpEncryptionKey, config.refreshTokenSecret].filter((key) => key !== null);
  for (const candidate of candidates) {
    try {
      const plain = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv, additionalData: encoder.encode(userId) },
        await keyFor(candidate),
        ciphertext,
      );
      return new Uint8Array(plain);
    } catch {
      // not under this key; try the next
    }
  }
  return null;
}
