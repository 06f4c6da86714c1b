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
import { aesKeyFromSecret } from "../../lib/crypto";
import { fromBase64, toBase64 } from "../../lib/encoding";

const encoder = new TextEncoder();
/** The HKDF label of this key: changing it makes every stored value unreadable. */
const KEY_LABEL = "edgeauth provider tokens v1";

function keyFor(secret: string): Promise<CryptoKey> {
  return aesKeyFromSecret(secret, KEY_LABEL);
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
