/**
 * Provider tokens at rest: AES-GCM under a key derived with HKDF from
 * REFRESH_TOKEN_SECRET with its own label, bound to realm, user and provider as
 * additional data (a row copied elsewhere does not decrypt). No setting of its
 * own: the tokens live only from the callback to the app's one fetch of
 * `/signin/provider/{provider}/callback/tokens`, so rotating the secret loses at
 * most a few minutes' worth.
 */
import type { ProviderSession } from "../../../shared/api";
import type { Config } from "../../config";
import { fromBase64, toBase64 } from "../../lib/encoding";

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function keyFor(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (key === undefined) {
    key = (async () => {
      const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
      return crypto.subtle.deriveKey(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode("edgeauth provider tokens v1") },
        material,
        { name: "AES-GCM", length: 256 },
        false,
        ["encrypt", "decrypt"],
      );
    })();
    keys.set(secret, key);
  }
  return key;
}

function boundTo(owner: { realm: string; userId: string; provider: string }): Uint8Array {
  return encoder.encode(`${owner.realm}\u0000${owner.userId}\u0000${owner.provider}`);
}

export async function encryptProviderSession(config: Config, session: ProviderSession, owner: { realm: string; userId: string; provider: string }): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: boundTo(owner) },
    await keyFor(config.refreshTokenSecret),
    encoder.encode(JSON.stringify(session)),
  );
  return `v1.${toBase64(iv)}.${toBase64(new Uint8Array(ciphertext))}`;
}

/** Null when the value does not decrypt (another secret, tampered, another owner). */
export async function decryptProviderSession(config: Config, stored: string, owner: { realm: string; userId: string; provider: string }): Promise<ProviderSession | null> {
  const [version, ivText, ciphertextText] = stored.split(".");
  const iv = fromBase64(ivText ?? "");
  const ciphertext = fromBase64(ciphertextText ?? "");
  if (version !== "v1" || iv === null || ciphertext === null) return null;
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: boundTo(owner) }, await keyFor(config.refreshTokenSecret), ciphertext);
    return JSON.parse(new TextDecoder().decode(plain)) as ProviderSession;
  } catch {
    return null;
  }
}
