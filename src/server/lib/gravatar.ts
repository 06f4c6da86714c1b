/** The avatar Nhost gives a new account: its address's Gravatar image. */
import type { GravatarSettings } from "../config";
import { sha256Hex } from "./crypto";

const GRAVATAR_AVATAR_URL = "https://www.gravatar.com/avatar/";

/**
 * `https://www.gravatar.com/avatar/<hash>?d=<default>&r=<rating>`, or "" with
 * Gravatar off. Nhost hashes with MD5; Gravatar also accepts the SHA-256 of the
 * trimmed, lower-cased address, and WebCrypto has no MD5.
 *
 * @example await gravatarUrl(config.gravatar, "Ana@Example.com") // "https://www.gravatar.com/avatar/…?d=blank&r=g"
 */
export async function gravatarUrl(settings: GravatarSettings, email: string): Promise<string> {
  if (!settings.enabled) return "";
  const hash = await sha256Hex(email.trim().toLowerCase());
  return `${GRAVATAR_AVATAR_URL}${hash}?d=${settings.default}&r=${settings.rating}`;
}
