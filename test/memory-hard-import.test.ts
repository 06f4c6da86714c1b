/**
 * Imported argon2id and scrypt hashes (README, "Imported hashes"): checked against
 * published vectors, refused above the memory and work caps, and through the admin
 * API a user imported with one signs in and has it replaced by PBKDF2 at once.
 *
 * The full-size vectors (64 MiB) cost seconds of CPU each here, so each runs
 * once; wrong passwords are checked on RFC 7914's small ones.
 *
 * Vectors:
 * - argon2id: the reference implementation's own (phc-winner-argon2, src/test.c):
 *   password "password", salt "somesalt", t=2, p=1, m=65536 and m=256.
 * - scrypt: RFC 7914 §12's two smaller vectors, written as PHC strings, and
 *   passlib's documented example (`passlib.hash.scrypt`, password "password").
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toBase64 } from "../src/server/lib/encoding";
import {
  ARGON2ID_MAX_MEMORY_KIB,
  parseMemoryHardHash,
  verifyMemoryHardHash,
} from "../src/server/services/memory-hard-hashes";
import { createPbkdf2Hasher } from "../src/server/services/password";
import { ADMIN_SECRET, api, uniqueEmail } from "./helpers";

const ARGON2ID_REFERENCE = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
const PASSLIB_SCRYPT = "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E";

function phcBase64(bytes: Uint8Array): string {
  return toBase64(bytes).replace(/=+$/, "");
}

function fromHex(hex: string): Uint8Array {
  return new Uint8Array(hex.match(/../g)!.map((pair) => parseInt(pair, 16)));
}

/** RFC 7914 §12, as PHC strings. */
const RFC7914 = [
  {
    password: "password",
    hash: `$scrypt$ln=10,r=8,p=16$${phcBase64(new TextEncoder().encode("NaCl"))}$${phcBase64(
      fromHex("fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"),
    )}`,
  },
  {
    password: "pleaseletmein",
    hash: `$scrypt$ln=14,r=8,p=1$${phcBase64(new TextEncoder().encode("SodiumChloride"))}$${phcBase64(
      fromHex("7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887"),
    )}`,
  },
];

describe("verifying published vectors", () => {
  it("argon2id: the reference implementation's vector verifies", () => {
    expect(verifyMemoryHardHash("password", ARGON2ID_REFERENCE)).toBe(true);
  });

  it("argon2id: the reference's small vector (m=256) verifies only its password", () => {
    const small = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$";
    expect(verifyMemoryHardHash("password", small + "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")).toBe(true);
    expect(verifyMemoryHardHash("passwore", small + "nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")).toBe(false);
  });

  it.each(RFC7914)("scrypt: RFC 7914's vector for $password verifies; a wrong password does not", ({ password, hash }) => {
    expect(verifyMemoryHardHash(password, hash)).toBe(true);
    expect(verifyMemoryHardHash(`${password}!`, hash)).toBe(false);
  });

  it("scrypt: passlib's example verifies", () => {
    expect(verifyMemoryHardHash("password", PASSLIB_SCRYPT)).toBe(true);
  });
});

describe("the caps and the format", () => {
  const salt = "c29tZXNhbHQ";
  const hash = "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
  it.each([
    [`$argon2id$v=19$m=${ARGON2ID_MAX_MEMORY_KIB * 2},t=1,p=1$${salt}$${hash}`, "memory above"],
    ["$argon2id$v=19$m=65536,t=5,p=1$" + `${salt}$${hash}`, "memory × passes"],
    [`$argon2id$v=16$m=4096,t=3,p=1$${salt}$${hash}`, "version 16"],
    [`$argon2id$v=19$m=4096,t=0,p=1$${salt}$${hash}`, "out of range"],
    [`$argon2id$v=19$m=4096,t=3,p=1$${salt}$aGFzaA`, "the hash must be"],
    [`$argon2id$v=19$m=4096,t=3,p=1$c2FsdA$${hash}`, "the salt must be"],
    [`$argon2id$v=19$m=4096,t=3,p=1$${salt}$${hash}=`, "not an argon2id or scrypt"],
    [`$argon2i$v=19$m=4096,t=3,p=1$${salt}$${hash}`, "not an argon2id or scrypt"],
    [`$scrypt$ln=17,r=8,p=1$${salt}$${hash}`, "scrypt memory"],
    [`$scrypt$ln=16,r=8,p=2$${salt}$${hash}`, "scrypt work"],
  ])("%s is refused (%s)", (stored, reason) => {
    const parsed = parseMemoryHardHash(stored);
    expect(typeof parsed).toBe("string");
    expect(parsed).toContain(reason);
    // At sign-in it is a wrong password, never an exception.
    expect(verifyMemoryHardHash("password", stored)).toBe(false);
  });

  it("the hasher treats them as imported: verified, and flagged for PBKDF2", async () => {
    const hasher = createPbkdf2Hasher({ pepper: null, iterations: 1_000 });
    expect(await hasher.verify("pleaseletmein", RFC7914[1]!.hash)).toEqual({ ok: true, needsRehash: true });
    expect(await hasher.verify("nope", RFC7914[1]!.hash)).toEqual({ ok: false, needsRehash: false });
  });
});

describe("importing through the admin API", () => {
  async function importUser(passwordHash: string) {
    const email = uniqueEmail("memory-hard");
    const response = await api("/admin/realms/default/users", { body: { email, passwordHash }, headers: { "x-admin-secret": ADMIN_SECRET } });
    return { email, response };
  }

  async function storedHash(email: string): Promise<string> {
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE email = ?").bind(email).first<{ password_hash: string }>();
    return row!.password_hash;
  }

  it.each([
    ["argon2id", ARGON2ID_REFERENCE, "password"],
    ["scrypt", RFC7914[1]!.hash, "pleaseletmein"],
  ])("a user imported with %s signs in with the old password; the hash becomes PBKDF2 at that sign-in", async (kind, hash, password) => {
    const { email, response } = await importUser(hash);
    expect(response.status, response.text).toBe(201);
    expect(await storedHash(email)).toBe(hash);
    if (kind === "scrypt") {
      expect((await api("/signin/email-password", { body: { email, password: "wrong password here" } })).status).toBe(401);
      expect(await storedHash(email)).toBe(hash);
    }

    const first = await api("/signin/email-password", { body: { email, password } });
    expect(first.status, first.text).toBe(200);
    expect(await storedHash(email)).toMatch(/^pbkdf2-sha256\$i=100000,p=0\$/);
    expect((await api("/signin/email-password", { body: { email, password } })).status).toBe(200);
  });

  it("a hash above the caps is refused at import with 400 unsupported-password-hash, saying why", async () => {
    const { response } = await importUser("$scrypt$ln=20,r=8,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc");
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe("unsupported-password-hash");
    expect(response.json.error.message).toContain("scrypt memory");
  });
});
