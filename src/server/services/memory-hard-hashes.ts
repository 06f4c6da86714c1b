/**
 * Verification of imported scrypt and argon2id hashes, in the PHC string format
 * most systems export them in (libsodium, argon2-cffi, PHP's password_hash,
 * passlib, Better Auth, Go's and Rust's password-hash crates):
 *
 *   $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>
 *   $scrypt$ln=<log2 N>,r=<block size>,p=<parallelism>$<salt>$<hash>
 *
 * (salt and hash in base64 without padding). Users moved here keep their
 * passwords; the sign-in route replaces the hash with PBKDF2 at their first
 * successful sign-in, as for bcrypt (./bcrypt.ts). edgeauth never writes these.
 *
 * WebCrypto has neither function, so they run as JavaScript (@noble/hashes,
 * audited, no dependencies). Both are memory-hard on purpose: the caps below keep
 * one verification within a Worker's 128 MB and a few seconds of CPU (README,
 * "Imported hashes"). A hash above them is refused at import, and treated as
 * non-matching if it reaches the table another way.
 */
import { argon2id } from "@noble/hashes/argon2.js";
import { scrypt } from "@noble/hashes/scrypt.js";
import { constantTimeEqual } from "../lib/crypto";
import { fromBase64 } from "../lib/encoding";

/** argon2id memory, in KiB: 64 MiB, the common default (argon2-cffi, PHP, libsodium's interactive). */
export const ARGON2ID_MAX_MEMORY_KIB = 65_536;
/** argon2id memory × passes: PHP's default (64 MiB, 4 passes) and no more. */
export const ARGON2ID_MAX_MEMORY_PASSES_KIB = 4 * 65_536;
/** scrypt memory is 128 · N · r bytes: 64 MiB (N = 2^16, r = 8, passlib's and Better Auth's). */
export const SCRYPT_MAX_MEMORY_BYTES = 64 * 1024 * 1024;
/** scrypt work is N · r · p: the same 2^16 · 8 · 1. */
export const SCRYPT_MAX_WORK = 65_536 * 8;
/** Derived-key lengths accepted, in bytes; PHC's recommendation is 16 to 64. */
const HASH_BYTES_MIN = 16;
const HASH_BYTES_MAX = 64;
/** Argon2's own minimum salt; scrypt has none (RFC 7914's vectors use 4 bytes). */
const ARGON2_SALT_BYTES_MIN = 8;
const SALT_BYTES_MAX = 64;
/** Argon2 version 1.3, the only one in use since 2016. */
const ARGON2_VERSION = 19;

type Parsed =
  | { kind: "argon2id"; memoryKib: number; passes: number; lanes: number; salt: Uint8Array; hash: Uint8Array }
  | { kind: "scrypt"; n: number; r: number; p: number; salt: Uint8Array; hash: Uint8Array };

/** Whether a stored hash belongs to this module (argon2id or scrypt in PHC form). */
export function isMemoryHardHash(stored: string): boolean {
  return stored.startsWith("$argon2id$") || stored.startsWith("$scrypt$");
}

/** PHC's base64: the standard alphabet with the padding left off. */
function fromPhcBase64(text: string): Uint8Array | null {
  if (text.length % 4 === 1) return null;
  return fromBase64(text + "=".repeat((4 - (text.length % 4)) % 4));
}

function saltAndHash(saltText: string, hashText: string, saltBytesMin: number): { salt: Uint8Array; hash: Uint8Array } | string {
  const salt = fromPhcBase64(saltText);
  const hash = fromPhcBase64(hashText);
  if (salt === null || hash === null) return "salt and hash must be base64 without padding";
  if (salt.length < saltBytesMin || salt.length > SALT_BYTES_MAX) return `the salt must be ${saltBytesMin} to ${SALT_BYTES_MAX} bytes`;
  if (hash.length < HASH_BYTES_MIN || hash.length > HASH_BYTES_MAX) return `the hash must be ${HASH_BYTES_MIN} to ${HASH_BYTES_MAX} bytes`;
  return { salt, hash };
}

/**
 * The parameters of an argon2id or scrypt PHC string, or why it is refused
 * (malformed, or above the caps); the reason names no secret.
 */
export function parseMemoryHardHash(stored: string): Parsed | string {
  const argon = /^\$argon2id\$v=(\d+)\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(stored);
  if (argon !== null) {
    const [, version, m, t, p, saltText, hashText] = argon;
    if (Number(version) !== ARGON2_VERSION) return `argon2id version ${version} is not supported (only v=${ARGON2_VERSION})`;
    const memoryKib = Number(m);
    const passes = Number(t);
    const lanes = Number(p);
    if (passes < 1 || lanes < 1 || memoryKib < 8 * lanes) return "argon2id parameters out of range";
    if (memoryKib > ARGON2ID_MAX_MEMORY_KIB) return `argon2id memory above ${ARGON2ID_MAX_MEMORY_KIB} KiB`;
    if (memoryKib * passes > ARGON2ID_MAX_MEMORY_PASSES_KIB) return `argon2id memory × passes above ${ARGON2ID_MAX_MEMORY_PASSES_KIB} KiB`;
    const bytes = saltAndHash(saltText!, hashText!, ARGON2_SALT_BYTES_MIN);
    if (typeof bytes === "string") return bytes;
    return { kind: "argon2id", memoryKib, passes, lanes, ...bytes };
  }
  const scryptMatch = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(stored);
  if (scryptMatch !== null) {
    const [, ln, rText, pText, saltText, hashText] = scryptMatch;
    const n = 2 ** Number(ln);
    const r = Number(rText);
    const p = Number(pText);
    if (Number(ln) < 1 || r < 1 || p < 1) return "scrypt parameters out of range";
    if (128 * n * r > SCRYPT_MAX_MEMORY_BYTES) return `scrypt memory (128·N·r) above ${SCRYPT_MAX_MEMORY_BYTES} bytes`;
    if (n * r * p > SCRYPT_MAX_WORK) return `scrypt work (N·r·p) above ${SCRYPT_MAX_WORK}`;
    const bytes = saltAndHash(saltText!, hashText!, 1);
    if (typeof bytes === "string") return bytes;
    return { kind: "scrypt", n, r, p, ...bytes };
  }
  return "not an argon2id or scrypt PHC string";
}

/**
 * Checks a password against an imported argon2id or scrypt hash. Malformed hashes
 * and hashes above the caps are non-matching, never an exception.
 */
export function verifyMemoryHardHash(password: string, stored: string): boolean {
  const parsed = parseMemoryHardHash(stored);
  if (typeof parsed === "string") {
    console.warn(`imported password hash refused at sign-in: ${parsed}; that user must reset their password`);
    return false;
  }
  const dkLen = parsed.hash.length;
  const computed =
    parsed.kind === "argon2id"
      ? argon2id(password, parsed.salt, { m: parsed.memoryKib, t: parsed.passes, p: parsed.lanes, dkLen, version: ARGON2_VERSION })
      : scrypt(password, parsed.salt, { N: parsed.n, r: parsed.r, p: parsed.p, dkLen, maxmem: SCRYPT_MAX_MEMORY_BYTES * 2 });
  return constantTimeEqual(computed, parsed.hash);
}
