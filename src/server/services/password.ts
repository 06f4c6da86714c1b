/**
 * Password hashing (design §6): PBKDF2-SHA256 through WebCrypto, stored as a
 * self-describing string so that parameters can change later:
 *
 *   pbkdf2-sha256$i=100000,p=0$<salt base64>$<derived key base64>
 *
 * `p=1` marks a hash whose input was first HMAC'd with the server's pepper.
 * Imported bcrypt hashes (`$2a$`, `$2b$`, `$2y$`, see ./bcrypt.ts) and argon2id
 * and scrypt PHC strings (./memory-hard-hashes.ts) also verify, always flagged for
 * rehash.
 */
import { PBKDF2_ITERATIONS } from "../config";
import { constantTimeEqual, hmacSha256 } from "../lib/crypto";
import { fromBase64, toBase64 } from "../lib/encoding";
import { isBcryptHash, verifyBcrypt } from "./bcrypt";
import { isMemoryHardHash, verifyMemoryHardHash } from "./memory-hard-hashes";

const ALGORITHM = "pbkdf2-sha256";
const SALT_BYTES = 16;
const DERIVED_KEY_BITS = 256;
const encoder = new TextEncoder();

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** `needsRehash` is true when the stored hash uses outdated parameters. */
  verify(password: string, stored: string): Promise<{ ok: boolean; needsRehash: boolean }>;
  /** Spends the same work as a real verification; for unknown accounts. */
  verifyDummy(password: string): Promise<void>;
}

interface ParsedHash {
  iterations: number;
  peppered: boolean;
  salt: Uint8Array;
  derivedKey: Uint8Array;
}

function parseHash(stored: string): ParsedHash | null {
  const match = /^pbkdf2-sha256\$i=(\d{1,7}),p=([01])\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (match === null) return null;
  const iterations = Number(match[1]);
  // A stored hash asking for more work than the platform allows is refused before
  // deriving anything: it would throw in production and is a DoS lever here.
  if (iterations < 1 || iterations > PBKDF2_ITERATIONS) return null;
  const salt = fromBase64(match[3]!);
  const derivedKey = fromBase64(match[4]!);
  if (salt === null || derivedKey === null || derivedKey.length !== DERIVED_KEY_BITS / 8) return null;
  return { iterations, peppered: match[2] === "1", salt, derivedKey };
}

async function derive(input: Uint8Array, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", input, "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, DERIVED_KEY_BITS);
  return new Uint8Array(bits);
}

export function createPbkdf2Hasher(options: { pepper: string | null; iterations?: number }): PasswordHasher {
  const iterations = options.iterations ?? PBKDF2_ITERATIONS;
  if (iterations > PBKDF2_ITERATIONS) {
    throw new RangeError(`PBKDF2 iterations above ${PBKDF2_ITERATIONS} are refused by production Workers`);
  }
  const pepper = options.pepper;

  async function passwordInput(password: string, peppered: boolean): Promise<Uint8Array> {
    if (!peppered) return encoder.encode(password);
    if (pepper === null) throw new Error("stored hash is peppered but no PASSWORD_PEPPER is configured");
    return hmacSha256(pepper, password);
  }

  // Built once, lazily: the hash that unknown-account sign-ins verify against.
  let dummyHash: Promise<string> | undefined;

  const hasher: PasswordHasher = {
    async hash(password) {
      const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
      const peppered = pepper !== null;
      const derivedKey = await derive(await passwordInput(password, peppered), salt, iterations);
      return `${ALGORITHM}$i=${iterations},p=${peppered ? 1 : 0}$${toBase64(salt)}$${toBase64(derivedKey)}`;
    },

    async verify(password, stored) {
      if (isBcryptHash(stored)) {
        // Imported hashes were never peppered; a match is replaced by PBKDF2 at once.
        const ok = verifyBcrypt(password, stored);
        return { ok, needsRehash: ok };
      }
      if (isMemoryHardHash(stored)) {
        const ok = verifyMemoryHardHash(password, stored);
        return { ok, needsRehash: ok };
      }
      const parsed = parseHash(stored);
      if (parsed === null) return { ok: false, needsRehash: false };
      if (parsed.peppered && pepper === null) return { ok: false, needsRehash: false };
      const candidate = await derive(await passwordInput(password, parsed.peppered), parsed.salt, parsed.iterations);
      const ok = constantTimeEqual(candidate, parsed.derivedKey);
      const needsRehash = ok && (parsed.iterations !== iterations || parsed.peppered !== (pepper !== null));
      return { ok, needsRehash };
    },

    async verifyDummy(password) {
      dummyHash ??= hasher.hash("edgeauth-dummy-password");
      await hasher.verify(password, await dummyHash);
    },
  };
  return hasher;
}

/** Reads the iteration count out of a stored hash; for tests and audits. */
export function hashIterations(stored: string): number | null {
  return parseHash(stored)?.iterations ?? null;
}
