/**
 * Password hashing (design §6): PBKDF2-SHA256 through WebCrypto, capped at the
 * 100,000 iterations production Workers allow (`wrangler dev` does not enforce
 * the cap, so these tests do), self-describing stored strings, no truncation,
 * and no secret in any response body.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import vectors from "./vectors/wycheproof/pbkdf2_hmacsha256_test.json";
import { PBKDF2_ITERATIONS } from "../src/server/config";
import { createPbkdf2Hasher, hashIterations } from "../src/server/services/password";
import { api, GOOD_PASSWORD, signIn, signUp, uniqueEmail } from "./helpers";

/** Production Workers refuse PBKDF2 above this many iterations. */
const WORKERS_PBKDF2_CAP = 100_000;
const HASH_FORMAT = /^pbkdf2-sha256\$i=(\d+),p=([01])\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;
/** Fewer iterations where only the format is under test, to keep the suite fast. */
const FAST = 1_000;

afterEach(() => {
  vi.restoreAllMocks();
});

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

function bytesToHex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function base64Length(text: string): number {
  return atob(text).length;
}

async function sha256Hex(text: string): Promise<string> {
  return bytesToHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

async function storedHash(email: string): Promise<string> {
  const row = await env.DB.prepare("SELECT password_hash FROM users WHERE email = ?").bind(email.toLowerCase()).first<{ password_hash: string }>();
  return row!.password_hash;
}

describe("the iteration cap", () => {
  it("pins PBKDF2_ITERATIONS at the production Workers cap of 100,000", () => {
    expect(PBKDF2_ITERATIONS).toBe(WORKERS_PBKDF2_CAP);
  });

  it("a real sign-up stores pbkdf2-sha256 with i=100000, a 16-byte salt and a 32-byte key", async () => {
    const { email } = await signUp();
    const hash = await storedHash(email);
    const match = HASH_FORMAT.exec(hash);
    expect(match, hash).not.toBeNull();
    expect(Number(match![1])).toBe(WORKERS_PBKDF2_CAP);
    expect(match![2]).toBe("0");
    expect(base64Length(match![3]!)).toBe(16);
    expect(base64Length(match![4]!)).toBe(32);
    expect(hashIterations(hash)).toBe(WORKERS_PBKDF2_CAP);
  });

  it("sign-up and sign-in derive with exactly 100,000 iterations, never more", async () => {
    const deriveBits = vi.spyOn(crypto.subtle, "deriveBits");
    const { email } = await signUp();
    expect((await signIn(email)).status).toBe(200);
    const iterations = deriveBits.mock.calls.map(([algorithm]) => (algorithm as { iterations?: number }).iterations);
    expect(iterations.length).toBeGreaterThanOrEqual(2);
    for (const count of iterations) expect(count).toBe(WORKERS_PBKDF2_CAP);
  });

  it("a sign-in for an unknown email still spends a full hash", async () => {
    const deriveBits = vi.spyOn(crypto.subtle, "deriveBits");
    const response = await signIn(uniqueEmail("ghost"), "some password 123");
    expect(response.status).toBe(401);
    const iterations = deriveBits.mock.calls.map(([algorithm]) => (algorithm as { iterations?: number }).iterations);
    expect(iterations).toContain(WORKERS_PBKDF2_CAP);
  });

  it("createPbkdf2Hasher refuses more than 100,000 iterations", () => {
    expect(() => createPbkdf2Hasher({ pepper: null, iterations: WORKERS_PBKDF2_CAP + 1 })).toThrow(RangeError);
    expect(() => createPbkdf2Hasher({ pepper: null, iterations: 600_000 })).toThrow(RangeError);
    expect(() => createPbkdf2Hasher({ pepper: null, iterations: WORKERS_PBKDF2_CAP })).not.toThrow();
  });

  it("a stored hash asking for more than 100,000 iterations is refused without deriving", async () => {
    const hasher = createPbkdf2Hasher({ pepper: null, iterations: FAST });
    const hash = await hasher.hash(GOOD_PASSWORD);
    const deriveBits = vi.spyOn(crypto.subtle, "deriveBits");
    for (const iterations of [WORKERS_PBKDF2_CAP + 1, 1_000_000, 9_999_999, 10_000_000_000]) {
      const greedy = hash.replace(`i=${FAST}`, `i=${iterations}`);
      expect(await hasher.verify(GOOD_PASSWORD, greedy)).toEqual({ ok: false, needsRehash: false });
      expect(hashIterations(greedy)).toBeNull();
    }
    expect(deriveBits).not.toHaveBeenCalled();
  });
});

describe("hash and verify", () => {
  const hasher = createPbkdf2Hasher({ pepper: null, iterations: FAST });

  it("round-trips, with a fresh salt each time", async () => {
    const first = await hasher.hash(GOOD_PASSWORD);
    const second = await hasher.hash(GOOD_PASSWORD);
    expect(first).not.toBe(second);
    expect(first).toMatch(HASH_FORMAT);
    expect(first).not.toContain(GOOD_PASSWORD);
    expect(await hasher.verify(GOOD_PASSWORD, first)).toEqual({ ok: true, needsRehash: false });
    expect(await hasher.verify(GOOD_PASSWORD, second)).toEqual({ ok: true, needsRehash: false });
    expect(await hasher.verify("wrong password", first)).toEqual({ ok: false, needsRehash: false });
  });

  it("the default hasher uses 100,000 iterations and flags weaker hashes for rehash", async () => {
    const strong = createPbkdf2Hasher({ pepper: null });
    const hash = await strong.hash(GOOD_PASSWORD);
    expect(hashIterations(hash)).toBe(WORKERS_PBKDF2_CAP);
    expect(await strong.verify(GOOD_PASSWORD, hash)).toEqual({ ok: true, needsRehash: false });
    const weak = await hasher.hash(GOOD_PASSWORD);
    expect(await strong.verify(GOOD_PASSWORD, weak)).toEqual({ ok: true, needsRehash: true });
    expect(await strong.verify("wrong", weak)).toEqual({ ok: false, needsRehash: false });
  });

  it("handles unicode passwords byte-exactly", async () => {
    for (const password of ["пароль-секрет", "密码密码密码密码密码", "😀🔐🗝️ emoji pass", "Ünïcödé\u0301 ß", "tab\tand\u0000nul"]) {
      const hash = await hasher.hash(password);
      expect((await hasher.verify(password, hash)).ok, password).toBe(true);
      expect((await hasher.verify(`${password} `, hash)).ok, password).toBe(false);
      expect((await hasher.verify(password.slice(0, -1), hash)).ok, password).toBe(false);
    }
  });

  it("handles a 200-character password and never truncates", async () => {
    const long = "x".repeat(199) + "!";
    const hash = await hasher.hash(long);
    expect((await hasher.verify(long, hash)).ok).toBe(true);
    expect((await hasher.verify(long.slice(0, -1), hash)).ok).toBe(false);
    expect((await hasher.verify(`${long}x`, hash)).ok).toBe(false);
    expect((await hasher.verify("x".repeat(199) + "?", hash)).ok).toBe(false);

    // bcrypt stops at 72 bytes; PBKDF2 must not.
    const base = "b".repeat(72);
    const baseHash = await hasher.hash(base);
    expect((await hasher.verify(`${base}x`, baseHash)).ok).toBe(false);
    expect((await hasher.verify("password", await hasher.hash("password"))).ok).toBe(true);
    expect((await hasher.verify("passwordx", await hasher.hash("password"))).ok).toBe(false);
  });

  it("refuses tampered, truncated or malformed stored hashes", async () => {
    const hash = await hasher.hash(GOOD_PASSWORD);
    const [algorithm, params, salt, key] = hash.split("$") as [string, string, string, string];
    const flipBase64 = (text: string, index: number) => text.slice(0, index) + (text[index] === "A" ? "B" : "A") + text.slice(index + 1);
    const tampered = [
      `${algorithm}$${params}$${flipBase64(salt, 0)}$${key}`,
      `${algorithm}$${params}$${salt}$${flipBase64(key, 0)}`,
      `${algorithm}$${params}$${salt}$${flipBase64(key, 40)}`,
      `${algorithm}$i=${FAST + 1},p=0$${salt}$${key}`,
      `${algorithm}$i=${FAST - 1},p=0$${salt}$${key}`,
      `${algorithm}$i=0,p=0$${salt}$${key}`,
      `${algorithm}$i=${FAST},p=1$${salt}$${key}`,
      `${algorithm}$i=${FAST},p=2$${salt}$${key}`,
      `pbkdf2-sha512$${params}$${salt}$${key}`,
      `pbkdf2-sha1$${params}$${salt}$${key}`,
      `${algorithm}$${params}$${salt}$${key.slice(0, -4)}`,
      `${algorithm}$${params}$${salt}$${key}AAAA`,
      `${algorithm}$${params}$${salt}$${key.replace(/=+$/, "")}`,
      `${algorithm}$${params}$$${key}`,
      `${algorithm}$${params}$${salt}$`,
      `${algorithm}$${params}$${salt}$${key}$`,
      ` ${hash}`,
      `${hash}\n`,
      hash.toUpperCase(),
      "",
      "$",
      GOOD_PASSWORD,
      "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
      `${algorithm}$${params}$${salt}$${key.replace(/[A-Za-z0-9]/, "-")}`,
    ];
    for (const candidate of tampered) {
      expect(await hasher.verify(GOOD_PASSWORD, candidate), candidate).toEqual({ ok: false, needsRehash: false });
    }
    expect(await hasher.verify(GOOD_PASSWORD, hash)).toEqual({ ok: true, needsRehash: false });
  });

  it("a peppered hash needs the pepper; a pepper added later flags old hashes for rehash", async () => {
    const peppered = createPbkdf2Hasher({ pepper: "a-pepper-of-sufficient-length", iterations: FAST });
    const otherPepper = createPbkdf2Hasher({ pepper: "another-pepper-of-some-length", iterations: FAST });
    const hash = await peppered.hash(GOOD_PASSWORD);
    expect(hash).toMatch(/\$i=1000,p=1\$/);
    expect(await peppered.verify(GOOD_PASSWORD, hash)).toEqual({ ok: true, needsRehash: false });
    expect(await hasher.verify(GOOD_PASSWORD, hash)).toEqual({ ok: false, needsRehash: false });
    expect((await otherPepper.verify(GOOD_PASSWORD, hash)).ok).toBe(false);
    // The unpeppered hash of the same password is not accepted as peppered, or vice versa.
    expect((await peppered.verify(GOOD_PASSWORD, hash.replace("p=1", "p=0"))).ok).toBe(false);
    const plain = await hasher.hash(GOOD_PASSWORD);
    expect(await peppered.verify(GOOD_PASSWORD, plain)).toEqual({ ok: true, needsRehash: true });
  });

  it("verifyDummy resolves without revealing anything", async () => {
    await expect(hasher.verifyDummy("whatever")).resolves.toBeUndefined();
  });
});

describe("stored hashes at sign-in", () => {
  async function setStoredHash(email: string, hash: string) {
    await env.DB.prepare("UPDATE users SET password_hash = ? WHERE email = ?").bind(hash, email.toLowerCase()).run();
  }

  it("a hash with fewer iterations verifies and is re-hashed at 100,000 on that sign-in", async () => {
    const { email } = await signUp();
    const weak = await createPbkdf2Hasher({ pepper: null, iterations: FAST }).hash(GOOD_PASSWORD);
    await setStoredHash(email, weak);
    expect((await signIn(email, "wrong password 1")).status).toBe(401);
    expect(await storedHash(email)).toBe(weak);
    expect((await signIn(email)).status).toBe(200);
    const rehashed = await storedHash(email);
    expect(rehashed).not.toBe(weak);
    expect(hashIterations(rehashed)).toBe(WORKERS_PBKDF2_CAP);
    expect((await signIn(email)).status).toBe(200);
  });

  it("unreadable, peppered-without-pepper or over-cap stored hashes fail the sign-in with 401, never 500", async () => {
    const { email } = await signUp();
    const peppered = await createPbkdf2Hasher({ pepper: "a-pepper-of-sufficient-length", iterations: FAST }).hash(GOOD_PASSWORD);
    const good = await createPbkdf2Hasher({ pepper: null, iterations: FAST }).hash(GOOD_PASSWORD);
    for (const hash of [peppered, good.replace(`i=${FAST}`, "i=100001"), "garbage", "", "$2b$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"]) {
      await setStoredHash(email, hash);
      const response = await signIn(email);
      expect(response.status, hash).toBe(401);
      expect(response.json.error).toBe("invalid-email-password");
    }
  });
});

describe("Wycheproof PBKDF2-HMAC-SHA256 vectors through WebCrypto", () => {
  interface Vector {
    tcId: number;
    comment: string;
    password: string;
    salt: string;
    iterationCount: number;
    dkLen: number;
    dk: string;
    result: "valid" | "invalid" | "acceptable";
  }
  const tests = (vectors.testGroups as { tests: Vector[] }[]).flatMap((group) => group.tests);
  const runnable = tests.filter((test) => test.iterationCount <= WORKERS_PBKDF2_CAP);

  it("the vector file is the one expected", () => {
    expect(vectors.algorithm).toBe("PBKDF2-HMACSHA256");
    expect(runnable.length).toBeGreaterThanOrEqual(50);
  });

  it.each(runnable.map((test) => [test.tcId, test.comment, test] as const))("tcId %i (%s)", async (_id, _comment, test) => {
    const key = await crypto.subtle.importKey("raw", hexToBytes(test.password), "PBKDF2", false, ["deriveBits"]);
    const bits = await crypto.subtle.deriveBits(
      { name: "PBKDF2", hash: "SHA-256", salt: hexToBytes(test.salt), iterations: test.iterationCount },
      key,
      test.dkLen * 8,
    );
    if (test.result === "invalid") expect(bytesToHex(bits)).not.toBe(test.dk);
    else expect(bytesToHex(bits)).toBe(test.dk);
  });
});

describe("no secret in any response body", () => {
  it("sign-up, sign-in, refresh, user and their errors never echo a password, a password hash or a token hash", async () => {
    const email = uniqueEmail("leak");
    const password = "leak-check secret passphrase 🔑";
    const bodies: string[] = [];
    const record = async (response: Promise<{ text: string; status: number }>) => {
      const answer = await response;
      bodies.push(answer.text);
      return answer;
    };

    const signedUp = await record(api("/signup/email-password", { body: { email, password, options: { metadata: { note: "hello" } } } }));
    const session = JSON.parse(signedUp.text).session;
    const signedIn = await record(signIn(email, password));
    const refreshed = await record(api("/token", { body: { refreshToken: JSON.parse(signedIn.text).session.refreshToken } }));
    await record(api("/user", { token: session.accessToken }));
    await record(api("/token/verify", { body: { token: session.accessToken } }));

    // Failures that carry the secret in the request.
    await record(signIn(email, `${password}-wrong`));
    await record(signIn(uniqueEmail("nobody"), password));
    await record(api("/signup/email-password", { body: { email, password } }));
    await record(api("/signup/email-password", { body: { email: uniqueEmail(), password: "short" } }));
    await record(api("/signup/email-password", { body: { email: uniqueEmail(), password: `${password}${"z".repeat(300)}` } }));
    await record(api("/signup/email-password", { body: { email: uniqueEmail(), password: [password] } }));
    await record(api("/signup/email-password", { body: { email: uniqueEmail(), Password: password, password } }));
    await record(api("/user/password", { body: { newPassword: password, ticket: `passwordReset:${crypto.randomUUID()}` } }));
    await record(api("/user/password", { body: { newPassword: `${password}${"z".repeat(300)}` }, token: session.accessToken }));
    await record(api("/token", { body: { refreshToken: `${session.refreshToken}x` } }));
    for (const response of bodies) expect(response.length).toBeGreaterThan(0);
    expect(JSON.parse(refreshed.text).refreshToken).toBeTypeOf("string");

    const passwordHash = await storedHash(email);
    const [, , salt, derivedKey] = passwordHash.split("$") as [string, string, string, string];
    const { results: tokenRows } = await env.DB.prepare(
      "SELECT r.token_hash FROM refresh_tokens r JOIN users u ON u.id = r.user_id WHERE u.email = ?",
    )
      .bind(email)
      .all<{ token_hash: string }>();
    expect(tokenRows.length).toBeGreaterThanOrEqual(3);
    const secrets = [
      password,
      JSON.stringify(password).slice(1, -1),
      passwordHash,
      salt,
      derivedKey,
      "pbkdf2",
      ...tokenRows.map((row) => row.token_hash),
      await sha256Hex(session.refreshToken),
    ];
    expect(env.REFRESH_TOKEN_SECRET).toBeTypeOf("string");
    secrets.push(env.REFRESH_TOKEN_SECRET as string);
    for (const body of bodies) {
      for (const secret of secrets) expect(body.includes(secret), `${secret.slice(0, 20)}… in ${body.slice(0, 200)}`).toBe(false);
      expect(body.toLowerCase()).not.toContain("passwordhash");
      expect(body.toLowerCase()).not.toContain("password_hash");
      expect(body.toLowerCase()).not.toContain("token_hash");
    }
  });
});
