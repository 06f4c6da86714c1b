/**
 * Rate limits (README, "Rate limits"), with the shipped defaults: each limit exact
 * under concurrency (N parallel attempts, exactly the limit processed), the
 * `Retry-After` it answers, stepped waits that double and expire, concealment
 * under limits, and the coarse per-IP request limit of the Rate Limiting binding.
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  RATE_LIMIT_EMAILS_PER_IP_DEFAULT,
  RATE_LIMIT_EMAILS_PER_RECIPIENT_DEFAULT,
  RATE_LIMIT_EMAIL_WINDOW_SECONDS_DEFAULT,
  RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT,
  RATE_LIMIT_FAILURES_PER_IP_DEFAULT,
  RATE_LIMIT_FAILURE_WINDOW_SECONDS_DEFAULT,
  RATE_LIMIT_LOCKOUT_MAX_SECONDS_DEFAULT,
  RATE_LIMIT_SIGNUPS_PER_IP_DEFAULT,
  RATE_LIMIT_SIGNUP_WINDOW_SECONDS_DEFAULT,
  RATE_LIMIT_SMS_PER_IP_DEFAULT,
  RATE_LIMIT_SMS_PER_NUMBER_DEFAULT,
  RATE_LIMIT_SMS_WINDOW_SECONDS_DEFAULT,
  ConfigError,
  parseConfig,
} from "../src/server/config";
import type { AttemptPolicy } from "../src/server/limits/rate-limiter";
import { api, appFetch, GOOD_PASSWORD, randomClientIp, signUp, uniqueEmail, workerFetch } from "./helpers";
import { SoftwareAuthenticator } from "./support/software-authenticator";

afterEach(() => vi.useRealTimers());

type Reply = Awaited<ReturnType<typeof api>>;

function expectLimited(reply: Reply, retryAfterSeconds?: number) {
  expect(reply.status, reply.text).toBe(429);
  expect(reply.json).toEqual({ status: 429, error: "too-many-requests", message: "Too many requests, try again later" });
  const retryAfter = Number(reply.headers.get("retry-after"));
  expect(Number.isInteger(retryAfter) && retryAfter > 0, `Retry-After ${reply.headers.get("retry-after")}`).toBe(true);
  // Measured from the request's own clock: at most a second apart from what the limiter computed.
  if (retryAfterSeconds !== undefined) expect(Math.abs(retryAfter - retryAfterSeconds)).toBeLessThanOrEqual(1);
}

function countStatuses(replies: Reply[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const reply of replies) counts[reply.status] = (counts[reply.status] ?? 0) + 1;
  return counts;
}

function wrongPassword(email: string, clientIp = randomClientIp()) {
  return api("/signin/email-password", { body: { email, password: "not the password at all" }, clientIp });
}

describe("failed first factors: per account and per IP, exact under concurrency", () => {
  it(`20 parallel wrong passwords for one account from 20 IPs: exactly ${RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT} are checked`, async () => {
    const { email } = await signUp(uniqueEmail("limit-account"));
    const replies = await Promise.all(Array.from({ length: 20 }, () => wrongPassword(email)));
    expect(countStatuses(replies)).toEqual({ 401: RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT, 429: 20 - RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT });
    for (const reply of replies.filter((reply) => reply.status === 429)) expectLimited(reply, RATE_LIMIT_FAILURE_WINDOW_SECONDS_DEFAULT);
    // Locked: even the right password waits.
    expectLimited(await api("/signin/email-password", { body: { email, password: GOOD_PASSWORD } }));
  });

  it(`20 parallel wrong passwords from one IP for 20 accounts: exactly ${RATE_LIMIT_FAILURES_PER_IP_DEFAULT} are checked`, async () => {
    const clientIp = randomClientIp();
    const replies = await Promise.all(Array.from({ length: 20 }, () => wrongPassword(uniqueEmail("limit-ip"), clientIp)));
    expect(countStatuses(replies)).toEqual({ 401: RATE_LIMIT_FAILURES_PER_IP_DEFAULT, 429: 20 - RATE_LIMIT_FAILURES_PER_IP_DEFAULT });
    // Another client is not affected.
    expect((await wrongPassword(uniqueEmail("limit-ip-other"))).status).toBe(401);
  });

  it("20 parallel wrong passwords from one IP for one account: still exactly the limit", async () => {
    const { email } = await signUp(uniqueEmail("limit-both"));
    const clientIp = randomClientIp();
    const replies = await Promise.all(Array.from({ length: 20 }, () => wrongPassword(email, clientIp)));
    expect(countStatuses(replies)).toEqual({ 401: 10, 429: 10 });
  });

  it("a right password is no failure: it gives its attempt back and the account starts over", async () => {
    const { email } = await signUp(uniqueEmail("limit-success"));
    const clientIp = randomClientIp();
    for (let i = 0; i < RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT - 1; i++) expect((await wrongPassword(email)).status).toBe(401);
    expect((await api("/signin/email-password", { body: { email, password: GOOD_PASSWORD }, clientIp })).status).toBe(200);
    // The account's count started over; from other IPs, nine more failures are checked.
    for (let i = 0; i < RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT - 1; i++) expect((await wrongPassword(email)).status).toBe(401);
  });

  it("an attacker cannot reset its IP's count by signing in to an account of its own", async () => {
    const own = await signUp(uniqueEmail("limit-own"));
    const clientIp = randomClientIp();
    for (let i = 0; i < RATE_LIMIT_FAILURES_PER_IP_DEFAULT - 1; i++) expect((await wrongPassword(uniqueEmail("victim"), clientIp)).status).toBe(401);
    expect((await api("/signin/email-password", { body: { email: own.email, password: GOOD_PASSWORD }, clientIp })).status).toBe(200);
    expect((await wrongPassword(uniqueEmail("victim"), clientIp)).status).toBe(401);
    expectLimited(await wrongPassword(uniqueEmail("victim"), clientIp));
  });

  it("with errors concealed, a limited unknown address answers exactly like a known one", async () => {
    const { email: known } = await signUp(uniqueEmail("limit-known"));
    const unknown = uniqueEmail("limit-unknown");
    const sequence = async (email: string) => {
      const replies: Reply[] = [];
      for (let i = 0; i < RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT + 2; i++) replies.push(await wrongPassword(email));
      return replies.map((reply) => ({ status: reply.status, body: reply.text, retryAfter: reply.headers.get("retry-after") }));
    };
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    const knownReplies = await sequence(known);
    vi.setSystemTime(t0);
    const unknownReplies = await sequence(unknown);
    expect(unknownReplies).toEqual(knownReplies);
    expect(knownReplies.at(-1)!.status).toBe(429);
  });

  it("waits step up: the first lasts the window, the next twice that, capped; each expires (frozen clock)", async () => {
    const { email } = await signUp(uniqueEmail("limit-steps"));
    vi.useFakeTimers({ toFake: ["Date"] });
    let now = Date.now();
    vi.setSystemTime(now);
    const fail = async (times: number) => {
      for (let i = 0; i < times; i++) expect((await wrongPassword(email)).status).toBe(401);
    };
    const expectedWaits = [RATE_LIMIT_FAILURE_WINDOW_SECONDS_DEFAULT, 2 * RATE_LIMIT_FAILURE_WINDOW_SECONDS_DEFAULT, RATE_LIMIT_LOCKOUT_MAX_SECONDS_DEFAULT];
    for (const waitSeconds of expectedWaits) {
      await fail(RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT);
      expectLimited(await wrongPassword(email), waitSeconds);
      vi.setSystemTime((now += (waitSeconds - 2) * 1000));
      expectLimited(await wrongPassword(email), 2);
      vi.setSystemTime((now += 3000));
    }
    // The wait has ended: the right password works, and its owner starts over.
    expect((await api("/signin/email-password", { body: { email, password: GOOD_PASSWORD } })).status).toBe(200);
    await fail(RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT);
    expectLimited(await wrongPassword(email), RATE_LIMIT_FAILURE_WINDOW_SECONDS_DEFAULT);
  });
});

describe("the RateLimiter object: waits, strikes and forgiveness with an injected clock", () => {
  const policy: AttemptPolicy = { limit: 3, windowMs: 60_000, lockoutMaxMs: 200_000 };
  const limiterFor = () => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`test:${crypto.randomUUID()}`));

  it("doubles each wait up to the cap, and forgets strikes after a quiet spell as long as the cap", async () => {
    const limiter = limiterFor();
    let now = 1_000_000;
    const waits: number[] = [];
    for (let lockout = 0; lockout < 4; lockout++) {
      for (let i = 0; i < policy.limit; i++) expect((await limiter.reserveAttempt(policy, now)).allowed).toBe(true);
      const refused = await limiter.reserveAttempt(policy, now);
      expect(refused.allowed).toBe(false);
      const wait = (refused as { retryAfterMs: number }).retryAfterMs;
      waits.push(wait);
      now += wait;
    }
    expect(waits).toEqual([60_000, 120_000, 200_000, 200_000]);
    // Quiet for the cap after the last wait ended: the next wait is the first one again.
    now += policy.lockoutMaxMs;
    for (let i = 0; i < policy.limit; i++) await limiter.reserveAttempt(policy, now);
    expect(await limiter.reserveAttempt(policy, now)).toEqual({ allowed: false, retryAfterMs: 60_000 });
  });

  it("failures leave the window: spread out, they never start a wait", async () => {
    const limiter = limiterFor();
    for (let i = 0; i < 10; i++) expect((await limiter.reserveAttempt(policy, 1_000_000 + i * 30_001)).allowed).toBe(true);
  });

  it("forgiving the attempt that started a wait lifts it, but the failures before it still count", async () => {
    const limiter = limiterFor();
    const now = 5_000_000;
    await limiter.reserveAttempt(policy, now);
    await limiter.reserveAttempt(policy, now + 1);
    const third = await limiter.reserveAttempt(policy, now + 2);
    expect((await limiter.reserveAttempt(policy, now + 3)).allowed).toBe(false);
    await limiter.forgive((third as { at: number }).at);
    expect((await limiter.reserveAttempt(policy, now + 4)).allowed).toBe(true);
    expect((await limiter.reserveAttempt(policy, now + 5)).allowed).toBe(false);
  });

  it("counts sends in a sliding window and answers when the oldest leaves it", async () => {
    const limiter = limiterFor();
    expect(await limiter.take(2, 60_000, 1_000)).toEqual({ allowed: true, at: 1_000 });
    expect(await limiter.take(2, 60_000, 31_000)).toEqual({ allowed: true, at: 31_000 });
    expect(await limiter.take(2, 60_000, 40_000)).toEqual({ allowed: false, retryAfterMs: 21_000 });
    expect((await limiter.take(2, 60_000, 61_001)).allowed).toBe(true);
    await limiter.giveBack(61_001);
    expect((await limiter.take(2, 60_000, 61_002)).allowed).toBe(true);
  });

  it("forgets itself, object and all, once nothing it holds can matter", async () => {
    const limiter = limiterFor();
    const now = Date.now();
    await limiter.take(5, 60_000, now);
    const alarm = await runInDurableObject(limiter, (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBe(now + 60_000);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(now + 60_001);
    await runInDurableObject(limiter, (instance) => instance.alarm());
    expect(await runInDurableObject(limiter, (_instance, state) => [...state.storage.kv.list()].length)).toBe(0);
  });
});

describe("other factors count too", () => {
  it("email codes: guesses count against the address's account, across re-issued codes", async () => {
    const email = uniqueEmail("limit-otp");
    const replies: Reply[] = [];
    for (let round = 0; round < 3; round++) {
      expect((await api("/signin/otp/email", { body: { email } })).status).toBe(200);
      for (let i = 0; i < 4; i++) replies.push(await api("/signin/otp/email/verify", { body: { email, otp: "000000" } }));
    }
    expect(replies.slice(0, RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT).every((reply) => reply.status === 400)).toBe(true);
    for (const reply of replies.slice(RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT)) expectLimited(reply);
  });

  it("SMS codes: exactly the limit of concurrent guesses is checked", async () => {
    const phoneNumber = `+1555${String(Math.floor(Math.random() * 10_000_000)).padStart(7, "0")}`;
    expect((await api("/signin/passwordless/sms", { body: { phoneNumber } })).status).toBe(200);
    const replies = await Promise.all(
      Array.from({ length: 15 }, () => api("/signin/passwordless/sms/otp", { body: { phoneNumber, otp: "000000" } })),
    );
    expect(countStatuses(replies)).toEqual({ 400: RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT, 429: 15 - RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT });
  });

  it("personal access tokens: guesses count against the IP", async () => {
    const clientIp = randomClientIp();
    const replies = await Promise.all(
      Array.from({ length: 14 }, () => api("/signin/pat", { body: { personalAccessToken: crypto.randomUUID() }, clientIp })),
    );
    expect(countStatuses(replies)).toEqual({ 401: RATE_LIMIT_FAILURES_PER_IP_DEFAULT, 429: 14 - RATE_LIMIT_FAILURES_PER_IP_DEFAULT });
  });

  it("TOTP: wrong codes for one user count against its account", async () => {
    const { session } = await signUp(uniqueEmail("limit-totp"));
    const generated = await api("/mfa/totp/generate", { token: session.accessToken });
    expect(generated.status).toBe(200);
    const replies = await Promise.all(
      Array.from({ length: 14 }, () => api("/user/mfa", { token: session.accessToken, body: { code: "000000", activeMfaType: "totp" } })),
    );
    expect(countStatuses(replies)).toEqual({ 401: RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT, 429: 14 - RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT });
  });

  it("passkeys: failed assertions count against the credential's user", async () => {
    const email = uniqueEmail("limit-passkey");
    const authenticator = new SoftwareAuthenticator("https://app.example.com");
    const options = await api("/signup/webauthn", { body: { email } });
    const credential = await authenticator.register(options.json);
    expect((await api("/signup/webauthn/verify", { body: { credential } })).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT + 1; i++) {
      const challenge = await api("/signin/webauthn", { body: { email } });
      // Signed for another site: the signature is real, the assertion is refused.
      const forged = await authenticator.assert(challenge.json, { origin: "https://evil.example.net" });
      statuses.push((await api("/signin/webauthn/verify", { body: { credential: forged } })).status);
    }
    expect(statuses).toEqual([...Array(RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT).fill(400), 429]);
    const challenge = await api("/signin/webauthn", { body: { email } });
    expectLimited(await api("/signin/webauthn/verify", { body: { credential: await authenticator.assert(challenge.json) } }));
  });
});

describe("sends: mails, SMS and sign-ups", () => {
  it(`mails per recipient: of 14 parallel reset requests for one address, exactly ${RATE_LIMIT_EMAILS_PER_RECIPIENT_DEFAULT} pass, known or not`, async () => {
    const { email: known } = await signUp(uniqueEmail("limit-mail-known"));
    for (const email of [known, uniqueEmail("limit-mail-unknown")]) {
      const replies = await Promise.all(Array.from({ length: 14 }, () => api("/user/password/reset", { body: { email } })));
      expect(countStatuses(replies)).toEqual({ 200: RATE_LIMIT_EMAILS_PER_RECIPIENT_DEFAULT, 429: 14 - RATE_LIMIT_EMAILS_PER_RECIPIENT_DEFAULT });
      for (const reply of replies.filter((reply) => reply.status === 429)) expectLimited(reply, RATE_LIMIT_EMAIL_WINDOW_SECONDS_DEFAULT);
    }
  });

  it("mails per recipient count across the kinds of mail (reset, magic link, code, verification)", async () => {
    const email = uniqueEmail("limit-mail-kinds");
    const routes = ["/user/password/reset", "/signin/passwordless/email", "/signin/otp/email", "/user/email/send-verification-email"];
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT_EMAILS_PER_RECIPIENT_DEFAULT + 1; i++) {
      statuses.push((await api(routes[i % routes.length]!, { body: { email } })).status);
    }
    expect(statuses).toEqual([...Array(RATE_LIMIT_EMAILS_PER_RECIPIENT_DEFAULT).fill(200), 429]);
  });

  it(`mails per IP: of 14 parallel magic links from one IP to 14 addresses, exactly ${RATE_LIMIT_EMAILS_PER_IP_DEFAULT} pass`, async () => {
    const clientIp = randomClientIp();
    const replies = await Promise.all(
      Array.from({ length: 14 }, () => api("/signin/passwordless/email", { body: { email: uniqueEmail("limit-mail-ip") }, clientIp })),
    );
    expect(countStatuses(replies)).toEqual({ 200: RATE_LIMIT_EMAILS_PER_IP_DEFAULT, 429: 14 - RATE_LIMIT_EMAILS_PER_IP_DEFAULT });
  });

  it("a recipient refused by its IP's limit is not counted against the recipient", async () => {
    const clientIp = randomClientIp();
    for (let i = 0; i < RATE_LIMIT_EMAILS_PER_IP_DEFAULT; i++) {
      expect((await api("/signin/passwordless/email", { body: { email: uniqueEmail("limit-giveback") }, clientIp })).status).toBe(200);
    }
    const email = uniqueEmail("limit-giveback-target");
    for (let i = 0; i < 3; i++) expectLimited(await api("/signin/passwordless/email", { body: { email }, clientIp }));
    // From elsewhere, the recipient still has its whole allowance.
    const replies = await Promise.all(Array.from({ length: RATE_LIMIT_EMAILS_PER_RECIPIENT_DEFAULT }, () => api("/signin/passwordless/email", { body: { email } })));
    expect(countStatuses(replies)).toEqual({ 200: RATE_LIMIT_EMAILS_PER_RECIPIENT_DEFAULT });
  });

  it(`SMS per number and per IP: exactly ${RATE_LIMIT_SMS_PER_NUMBER_DEFAULT} of 14 parallel requests pass`, async () => {
    const phoneNumber = `+1555${String(Math.floor(Math.random() * 10_000_000)).padStart(7, "0")}`;
    const perNumber = await Promise.all(Array.from({ length: 14 }, () => api("/signin/passwordless/sms", { body: { phoneNumber } })));
    expect(countStatuses(perNumber)).toEqual({ 200: RATE_LIMIT_SMS_PER_NUMBER_DEFAULT, 429: 14 - RATE_LIMIT_SMS_PER_NUMBER_DEFAULT });
    for (const reply of perNumber.filter((reply) => reply.status === 429)) expectLimited(reply, RATE_LIMIT_SMS_WINDOW_SECONDS_DEFAULT);

    const clientIp = randomClientIp();
    const perIp = await Promise.all(
      Array.from({ length: 14 }, (_, i) => api("/signin/passwordless/sms", { body: { phoneNumber: `+1666${String(Date.now() % 1_000_000).padStart(6, "0")}${i % 10}` }, clientIp })),
    );
    expect(countStatuses(perIp)).toEqual({ 200: RATE_LIMIT_SMS_PER_IP_DEFAULT, 429: 14 - RATE_LIMIT_SMS_PER_IP_DEFAULT });
  });

  it("SMS per deployment: the ceiling holds however many numbers and IPs are used (RATE_LIMIT_SMS_PER_DEPLOYMENT)", async () => {
    // The deployment's one counter also holds the SMS of the tests before: the
    // ceiling is set five above what it counts now.
    const deployment = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName("deployment:sms"));
    const counted = await runInDurableObject(deployment, (_instance, state) => state.storage.kv.get<{ events: number[] }>("sends")?.events.length ?? 0);
    const bindings = { ...env, RATE_LIMIT_SMS_PER_DEPLOYMENT: String(counted + 5) } as Env;
    const statuses = await Promise.all(
      Array.from({ length: 9 }, async (_, i) => {
        const ctx = createExecutionContext();
        const phoneNumber = `+1777${String(Date.now() % 1_000_000).padStart(6, "0")}${i}`;
        const response = await appFetch(
          new Request("http://localhost/signin/passwordless/sms", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ phoneNumber }),
          }),
          bindings,
          ctx,
        );
        await waitOnExecutionContext(ctx);
        return response.status;
      }),
    );
    expect(statuses.filter((status) => status === 200)).toHaveLength(5);
    expect(statuses.filter((status) => status === 429)).toHaveLength(4);
  });

  it(`sign-ups per IP: of 14 parallel sign-ups from one IP, exactly ${RATE_LIMIT_SIGNUPS_PER_IP_DEFAULT} create an account`, async () => {
    const clientIp = randomClientIp();
    const replies = await Promise.all(
      Array.from({ length: 14 }, () =>
        api("/signup/email-password", { body: { email: uniqueEmail("limit-signup"), password: GOOD_PASSWORD }, clientIp }),
      ),
    );
    expect(countStatuses(replies)).toEqual({ 200: RATE_LIMIT_SIGNUPS_PER_IP_DEFAULT, 429: 14 - RATE_LIMIT_SIGNUPS_PER_IP_DEFAULT });
    for (const reply of replies.filter((reply) => reply.status === 429)) expectLimited(reply, RATE_LIMIT_SIGNUP_WINDOW_SECONDS_DEFAULT);
    // Anonymous sign-ins are sign-ups too.
    expectLimited(await api("/signin/anonymous", { method: "POST", clientIp }));
  });
});

describe("the coarse per-IP request limit (Rate Limiting binding, 100 per minute)", () => {
  it("lets 100 requests of one IP through per minute, then answers 429 with Retry-After; other IPs go on", async () => {
    // The local binding counts in windows aligned to the clock's minutes: a run that
    // crosses one starts over, so it is repeated (at most once more).
    for (let run = 0; run < 2; run++) {
      const clientIp = randomClientIp();
      const minute = Math.floor(Date.now() / 60_000);
      const statuses: number[] = [];
      for (let i = 0; i < 101; i++) statuses.push((await workerFetch("http://localhost/healthz", { headers: { "cf-connecting-ip": clientIp } })).status);
      const limited = await workerFetch("http://localhost/version", { headers: { "cf-connecting-ip": clientIp } });
      if (Math.floor(Date.now() / 60_000) !== minute) continue;
      expect(statuses.slice(0, 100).every((status) => status === 200)).toBe(true);
      expect(statuses[100]).toBe(429);
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).toBe("60");
      expect(limited.headers.get("cache-control")).toBe("no-store");
      expect(await limited.json()).toMatchObject({ status: 429, error: "too-many-requests" });
      expect((await workerFetch("http://localhost/healthz", { headers: { "cf-connecting-ip": randomClientIp() } })).status).toBe(200);
      return;
    }
    throw new Error("two runs crossed a minute boundary");
  });
});

describe("rate-limit settings", () => {
  const base = { PUBLIC_URL: "https://auth.example.com", REFRESH_TOKEN_SECRET: "x".repeat(32) };

  it("default to Nhost's or stricter", () => {
    const { rateLimits } = parseConfig(base);
    expect(rateLimits).toMatchObject({
      failuresPerAccount: 10,
      failuresPerIp: 10,
      failureWindowSeconds: 300,
      lockoutMaxSeconds: 900,
      emailsPerRecipient: 10,
      emailsPerIp: 10,
      emailWindowSeconds: 3600,
      smsPerNumber: 10,
      smsPerIp: 10,
      smsWindowSeconds: 3600,
      signUpsPerIp: 10,
      signUpWindowSeconds: 300,
    });
  });

  it("refuse bad values naming the setting", () => {
    expect(() => parseConfig({ ...base, RATE_LIMIT_FAILURES_PER_IP: "-1" })).toThrow(/RATE_LIMIT_FAILURES_PER_IP/);
    expect(() => parseConfig({ ...base, RATE_LIMIT_EMAIL_WINDOW_SECONDS: "0" })).toThrow(ConfigError);
    expect(() => parseConfig({ ...base, RATE_LIMIT_LOCKOUT_MAX_SECONDS: "60" })).toThrow(/RATE_LIMIT_LOCKOUT_MAX_SECONDS/);
  });

  it("0 turns a limit off", async () => {
    const bindings = { ...env, RATE_LIMIT_FAILURES_PER_ACCOUNT: "0", RATE_LIMIT_FAILURES_PER_IP: "0" } as Env;
    const email = uniqueEmail("limit-off");
    for (let i = 0; i < RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT + 2; i++) {
      const ctx = createExecutionContext();
      const response = await appFetch(
        new Request("http://localhost/signin/email-password", {
          method: "POST",
          headers: { "content-type": "application/json", "cf-connecting-ip": "10.9.9.9" },
          body: JSON.stringify({ email, password: "not the password at all" }),
        }),
        bindings,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(response.status).toBe(401);
    }
  });
});
