/**
 * Imported bcrypt hashes (design §6): users moved from Nhost or Supabase sign in
 * with their old passwords, and the stored hash becomes PBKDF2 at the first
 * successful sign-in. `$2a$`, `$2b$` and `$2y$` verify; costs above 12 and malformed
 * hashes are wrong passwords, never a 500; a password change racing the rehash wins.
 */
import { env } from "cloudflare:workers";
import bcrypt from "bcryptjs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BCRYPT_MAX_COST, bcryptCost } from "../src/server/services/bcrypt";
import { createPbkdf2Hasher, hashIterations } from "../src/server/services/password";
import { GOOD_PASSWORD, signIn, signUp } from "./helpers";

const PBKDF2_FORMAT = /^pbkdf2-sha256\$i=100000,p=0\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/;
const PREFIXES = ["$2a$", "$2b$", "$2y$"] as const;
/** Fewer PBKDF2 iterations where only the bcrypt branch of the hasher is under test. */
const FAST = 1_000;

afterEach(() => {
  vi.restoreAllMocks();
});

/** A bcrypt hash with the given prefix, as Nhost (bcryptjs), Supabase (Go) or PHP would store it. */
function importedHash(password: string, cost: number, prefix: (typeof PREFIXES)[number] = "$2b$"): string {
  const salt = prefix + bcrypt.genSaltSync(cost).slice("$2b$".length);
  const hash = bcrypt.hashSync(password, salt);
  expect(hash.startsWith(prefix)).toBe(true);
  return hash;
}

async function setStoredHash(email: string, hash: string) {
  await env.DB.prepare("UPDATE users SET password_hash = ? WHERE email = ?").bind(hash, email.toLowerCase()).run();
}

async function storedHash(email: string): Promise<string> {
  const row = await env.DB.prepare("SELECT password_hash FROM users WHERE email = ?").bind(email.toLowerCase()).first<{ password_hash: string }>();
  return row!.password_hash;
}

/** A signed-up user whose password hash was replaced by an imported one. */
async function importedUser(hash: string) {
  const { email } = await signUp();
  await setStoredHash(email, hash);
  return email;
}

/** What any wrong password gets, from a user with an ordinary PBKDF2 hash. */
async function ordinaryWrongPassword() {
  const { email } = await signUp();
  const response = await signIn(email, "not the password at all");
  return { status: response.status, json: response.json };
}

describe("sign-in with an imported bcrypt hash", () => {
  it.each(PREFIXES)("%s verifies, signs in and is re-hashed to PBKDF2 on that sign-in", async (prefix) => {
    const bcryptHash = importedHash(GOOD_PASSWORD, 4, prefix);
    const email = await importedUser(bcryptHash);

    const first = await signIn(email);
    expect(first.status, first.text).toBe(200);
    expect(first.json.session.accessToken).toBeTypeOf("string");
    expect(first.json.session.refreshToken).toBeTypeOf("string");
    expect(first.json.session.user.email).toBe(email);

    const rehashed = await storedHash(email);
    expect(rehashed).not.toBe(bcryptHash);
    expect(rehashed).toMatch(PBKDF2_FORMAT);
    expect(hashIterations(rehashed)).toBe(100_000);

    const second = await signIn(email);
    expect(second.status, second.text).toBe(200);
    expect(await storedHash(email)).toBe(rehashed);
    expect((await signIn(email, `${GOOD_PASSWORD}x`)).status).toBe(401);
  });

  it("a cost-10 hash (the Nhost and Supabase default) and a unicode password verify", async () => {
    const password = "пароль секрет 🔐 ünïcödé";
    const email = await importedUser(importedHash(password, 10));
    expect((await signIn(email, password)).status).toBe(200);
    expect(await storedHash(email)).toMatch(PBKDF2_FORMAT);
    expect((await signIn(email, password)).status).toBe(200);
  });

  it("a wrong password gets the same error as any wrong password and does not rehash", async () => {
    const bcryptHash = importedHash(GOOD_PASSWORD, 4);
    const email = await importedUser(bcryptHash);
    const expected = await ordinaryWrongPassword();
    expect(expected.status).toBe(401);
    expect(expected.json.error).toBe("invalid-email-password");

    for (const wrong of ["not the password at all", `${GOOD_PASSWORD} `, GOOD_PASSWORD.toUpperCase(), GOOD_PASSWORD.slice(0, -1)]) {
      const response = await signIn(email, wrong);
      expect({ status: response.status, json: response.json }, wrong).toEqual(expected);
    }
    expect(await storedHash(email)).toBe(bcryptHash);
    expect((await signIn(email)).status).toBe(200);
  });

  it("a correct password on a disabled account is a failed sign-in and does not rehash", async () => {
    const bcryptHash = importedHash(GOOD_PASSWORD, 4);
    const email = await importedUser(bcryptHash);
    await env.DB.prepare("UPDATE users SET disabled = 1 WHERE email = ?").bind(email).run();
    const response = await signIn(email);
    expect(response.status).toBe(401);
    expect(response.json.error).toBe("disabled-user");
    expect(await storedHash(email)).toBe(bcryptHash);
  });

  it("a user with TOTP is re-hashed when the password step succeeds and the ticket is issued", async () => {
    const email = await importedUser(importedHash(GOOD_PASSWORD, 4));
    await env.DB.prepare("UPDATE users SET active_mfa_type = 'totp' WHERE email = ?").bind(email).run();
    const response = await signIn(email);
    expect(response.status, response.text).toBe(200);
    expect(response.json.session).toBeNull();
    expect(response.json.mfa.ticket).toMatch(/^mfaTotp:/);
    expect(await storedHash(email)).toMatch(PBKDF2_FORMAT);
  });

  it("a password change landing between verification and rehash is not overwritten", async () => {
    const email = await importedUser(importedHash(GOOD_PASSWORD, 4));
    const changed = await createPbkdf2Hasher({ pepper: null }).hash("the password set meanwhile");
    // bcrypt verification does not touch WebCrypto, so the first derivation of the
    // sign-in is the rehash: the concurrent change is written just before it.
    const deriveBits = crypto.subtle.deriveBits.bind(crypto.subtle);
    vi.spyOn(crypto.subtle, "deriveBits").mockImplementationOnce(async (...args) => {
      await setStoredHash(email, changed);
      return deriveBits(...args);
    });
    expect((await signIn(email)).status).toBe(200);
    expect(await storedHash(email)).toBe(changed);
    expect((await signIn(email)).status).toBe(401);
    expect((await signIn(email, "the password set meanwhile")).status).toBe(200);
  });
});

describe("bcrypt hashes that are refused: a wrong password, never a 500", () => {
  it(`a genuine cost-13 hash of the right password is refused (at most ${BCRYPT_MAX_COST})`, async () => {
    expect(BCRYPT_MAX_COST).toBe(12);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const costly = importedHash(GOOD_PASSWORD, 13);
    expect(bcrypt.compareSync(GOOD_PASSWORD, costly)).toBe(true);
    const email = await importedUser(costly);
    const expected = await ordinaryWrongPassword();
    const response = await signIn(email);
    expect({ status: response.status, json: response.json }).toEqual(expected);
    expect(await storedHash(email)).toBe(costly);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("cost 13 refused"));
  });

  it("a cost-31 hash is refused without spending days on it", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const greedy = `$2b$31$${importedHash(GOOD_PASSWORD, 4).slice("$2b$04$".length)}`;
    const email = await importedUser(greedy);
    const started = performance.now();
    const response = await signIn(email);
    expect(response.status).toBe(401);
    expect(response.json.error).toBe("invalid-email-password");
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it("malformed $2 strings fail the sign-in with 401 and stay untouched", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const good = importedHash(GOOD_PASSWORD, 4);
    const salt = good.slice(7, 29);
    const checksum = good.slice(29);
    const malformed = [
      "$2b$",
      "$2b$04$",
      "$2b$04$abc",
      `$2b$04$${salt}`,
      `$2b$04$${salt}${checksum.slice(0, -1)}`,
      `$2b$04$${salt}${checksum}A`,
      `$2b$4$${salt}${checksum}`,
      `$2b$004$${salt}${checksum}`,
      `$2b$03$${salt}${checksum}`,
      `$2b$00$${salt}${checksum}`,
      `$2b$99$${salt}${checksum}`,
      `$2b$-4$${salt}${checksum}`,
      `$2B$04$${salt}${checksum}`,
      `$2c$04$${salt}${checksum}`,
      `$2$04$${salt}${checksum}`,
      `$2x$04$${salt}${checksum}`,
      `$2b$04$${salt.slice(0, -1)}+${checksum}`,
      `$2b$04$${salt}${checksum.slice(0, -1)}=`,
      `$2b$04$${salt}${checksum}\n`,
      ` ${good}`,
      `$2b$04$${"\u00e9".repeat(53)}`,
      `$2b$04$${salt}$${checksum.slice(1)}`,
      "$2",
    ];
    for (const hash of malformed) {
      // An account each: more failures on one account than its attempt limit would answer 429.
      const email = await importedUser(good);
      await setStoredHash(email, hash);
      const response = await signIn(email);
      expect(response.status, JSON.stringify(hash)).toBe(401);
      expect(response.json.error, JSON.stringify(hash)).toBe("invalid-email-password");
      expect(await storedHash(email)).toBe(hash);
    }
  });

  it("a tampered checksum or salt does not verify", async () => {
    const hasher = createPbkdf2Hasher({ pepper: null, iterations: FAST });
    const good = importedHash(GOOD_PASSWORD, 4);
    const flip = (text: string, index: number) => text.slice(0, index) + (text[index] === "A" ? "B" : "A") + text.slice(index + 1);
    // Not the salt's last character (28) nor the checksum's (59): both carry unused bits.
    for (const index of [7, 20, 27, 29, 45, 58]) {
      expect(await hasher.verify(GOOD_PASSWORD, flip(good, index)), String(index)).toEqual({ ok: false, needsRehash: false });
    }
    expect(await hasher.verify(GOOD_PASSWORD, good)).toEqual({ ok: true, needsRehash: true });
  });
});

describe("bcrypt's 72-byte limit, kept for imported hashes only", () => {
  it("a password longer than 72 bytes matches on its first 72, until the PBKDF2 rehash covers all of it", async () => {
    const head = "0123456789".repeat(7) + "ab"; // 72 bytes
    expect(new TextEncoder().encode(head).length).toBe(72);
    const password = `${head} and then some`;
    const email = await importedUser(importedHash(password, 4));
    // What the old system accepted: anything after byte 72 is ignored...
    expect((await signIn(email, `${head} something else`)).status).toBe(200);
    // ...and the hash written by that sign-in is PBKDF2 of the password just used, in full.
    expect(await storedHash(email)).toMatch(PBKDF2_FORMAT);
    expect((await signIn(email, `${head} something else`)).status).toBe(200);
    expect((await signIn(email, password)).status).toBe(401);
    expect((await signIn(email, head)).status).toBe(401);
  });
});

describe("known bcrypt vectors", () => {
  // OpenBSD / crypt_blowfish (Openwall) vectors as shipped in jBCrypt and John the
  // Ripper, and pyca/bcrypt's README example. `$2a$` and `$2b$` agree on all of them.
  const VECTORS: [password: string, hash: string][] = [
    ["U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"],
    ["U*U*", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK"],
    ["U*U*U", "$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a"],
    ["", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy"],
    [
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
      "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
    ],
    ["~!@#$%^&*()      ~!@#$%^&*()PNBFRD", "$2a$06$fPIsBO8qRqkjj273rfaOI.HtSV9jLDpTbZn782DC6/t7qT67P6FfO"],
    ["U*U", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"],
    ["U*U", "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"],
    ["password", "$2b$12$9cwzD/MRnVT7uvkxAQvkIejrif4bwRTGvIRqO7xf4OYtDQ3sl8CWW"],
  ];
  const hasher = createPbkdf2Hasher({ pepper: null, iterations: FAST });

  it.each(VECTORS)("%j verifies against %s, and a wrong password does not", async (password, hash) => {
    expect(bcryptCost(hash)).toBe(Number(hash.slice(4, 6)));
    expect(await hasher.verify(password, hash)).toEqual({ ok: true, needsRehash: true });
    expect(await hasher.verify(`x${password}`, hash)).toEqual({ ok: false, needsRehash: false });
  });

  it("$2x$ (crypt_blowfish's sign-extension bug) is refused even for its own vector", async () => {
    // Openwall's vector for the single byte 0xa3, which is not valid UTF-8: any
    // JavaScript string is refused, whatever it is.
    expect(await hasher.verify("\u00a3", "$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e")).toEqual({ ok: false, needsRehash: false });
    expect(bcryptCost("$2x$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e")).toBeNull();
  });

  it("pyca/bcrypt's cost-12 hash of \"password\" signs in end to end and is re-hashed", async () => {
    const email = await importedUser("$2b$12$9cwzD/MRnVT7uvkxAQvkIejrif4bwRTGvIRqO7xf4OYtDQ3sl8CWW");
    expect((await signIn(email, "passwerd")).status).toBe(401);
    expect((await signIn(email, "password")).status).toBe(200);
    expect(await storedHash(email)).toMatch(PBKDF2_FORMAT);
  });

  it("the Openwall \"U*U\" vector signs in end to end", async () => {
    const email = await importedUser("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW");
    expect((await signIn(email, "U*U")).status).toBe(200);
    expect((await signIn(email, "U*U")).status).toBe(200);
  });

  it("a peppered deployment verifies unpeppered imported hashes and re-hashes them peppered", async () => {
    const peppered = createPbkdf2Hasher({ pepper: "a-pepper-of-sufficient-length", iterations: FAST });
    const hash = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
    expect(await peppered.verify("U*U", hash)).toEqual({ ok: true, needsRehash: true });
    const rehashed = await peppered.hash("U*U");
    expect(rehashed).toMatch(/\$i=1000,p=1\$/);
    expect(await peppered.verify("U*U", rehashed)).toEqual({ ok: true, needsRehash: false });
  });
});
