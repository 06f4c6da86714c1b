/**
 * Verification of imported bcrypt hashes (design §6). Nhost and Supabase store
 * bcrypt; users moved here keep their passwords, and the sign-in route replaces the
 * hash with PBKDF2 at their first successful sign-in. edgeauth never writes bcrypt.
 */
import { hashSync } from "bcryptjs";
import { constantTimeEqual } from "../lib/crypto";

/**
 * The highest bcrypt cost verified. WebCrypto has no bcrypt, so it runs as plain
 * JavaScript, and each cost step doubles the CPU: about 100 ms at 10, 500 ms at 12,
 * a second at 13 and days at 31. Workers cap CPU per request, so a stored hash above
 * this is treated as non-matching instead of being spent on (it would also be a DoS
 * lever for anyone able to write into the users table); such users reset their password.
 */
export const BCRYPT_MAX_COST = 12;
/** bcrypt's own floor: lower costs are not valid bcrypt. */
const BCRYPT_MIN_COST = 4;
const CHECKSUM_CHARS = 31;

// `$2a$` (bcryptjs, Go), `$2b$` (OpenBSD since 2014) and `$2y$` (PHP's crypt_blowfish)
// are one function in bcryptjs and in the systems we import from. `$2x$` (crypt_blowfish's
// sign-extension bug) and the original `$2$` compute something else and are refused.
const BCRYPT_FORMAT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/** Whether a stored hash is bcrypt-shaped, i.e. belongs to this module rather than PBKDF2. */
export function isBcryptHash(stored: string): boolean {
  return stored.startsWith("$2");
}

/** The cost of a well-formed bcrypt hash, or null; for tests and audits. */
export function bcryptCost(stored: string): number | null {
  const match = BCRYPT_FORMAT.exec(stored);
  return match === null ? null : Number(match[1]);
}

/**
 * Checks a password against an imported bcrypt hash. Malformed hashes and costs
 * outside 4..12 are non-matching, never an exception.
 *
 * bcrypt reads only the first 72 bytes of the UTF-8 password, so a longer password
 * also matches on its first 72 bytes. That is exactly what the system the hash came
 * from accepted, so it is kept; the PBKDF2 hash written at the next sign-in covers
 * the whole password from then on.
 */
export function verifyBcrypt(password: string, stored: string): boolean {
  const cost = bcryptCost(stored);
  if (cost === null || cost < BCRYPT_MIN_COST) return false;
  if (cost > BCRYPT_MAX_COST) {
    console.warn(`imported bcrypt hash with cost ${cost} refused (at most ${BCRYPT_MAX_COST}): that user must reset their password`);
    return false;
  }
  // Synchronous on purpose: the async variant slices its work by Date.now(), which
  // does not advance while a Worker computes, so it would never yield anyway.
  const computed = hashSync(password, stored.slice(0, -CHECKSUM_CHARS));
  // Only the checksums are compared, as Go's bcrypt does: the salt's last character
  // carries 4 unused bits that implementations may set differently.
  const encoder = new TextEncoder();
  return constantTimeEqual(encoder.encode(computed.slice(-CHECKSUM_CHARS)), encoder.encode(stored.slice(-CHECKSUM_CHARS)));
}
