/**
 * TOTP MFA through the Worker: generate → activate → two-step sign-in, replay
 * refused, attempts counted exactly per ticket and per user, secrets never stored
 * or shown in clear, every error code. The RFC vectors are in totp.test.ts, the
 * @nhost/nhost-js client in nhost-mfa.test.ts.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { base32Decode, hotp, timeStep } from "../src/server/lib/totp";
import { api, signIn, signUp, uniqueEmail, withClockHeld, workerFetch } from "./helpers";

afterEach(() => vi.useRealTimers());

function expectError(response: { status: number; json: any }, status: number, error: string) {
  expect(response.status, JSON.stringify(response.json)).toBe(status);
  expect(response.json).toMatchObject({ status, error });
}

/** The code an authenticator app would show for `secret` at `atMs`. */
async function codeFor(totpSecret: string, atMs = Date.now()): Promise<string> {
  return hotp(base32Decode(totpSecret)!, timeStep(atMs));
}

/** A 6-digit code that no step within one of `atMs` produces. */
async function wrongCodeFor(totpSecret: string, atMs = Date.now()): Promise<string> {
  const near = await Promise.all([-1, 0, 1].map((offset) => codeFor(totpSecret, atMs + offset * 30_000)));
  return ["000000", "111111", "222222", "333333"].find((code) => !near.includes(code))!;
}

function freezeClock(atMs = Date.now()) {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(atMs);
}

/** A user with TOTP active; returns its secret and credentials. */
async function userWithTotp() {
  const { email, session } = await signUp(uniqueEmail("mfa"));
  const generated = await api("/mfa/totp/generate", { token: session.accessToken });
  expect(generated.status, generated.text).toBe(200);
  const { totpSecret, imageUrl } = generated.json;
  // Activate with the code of the previous step, so the current one stays unused for the test.
  const activated = await withClockHeld(async () =>
    api("/user/mfa", { token: session.accessToken, body: { code: await codeFor(totpSecret, Date.now() - 30_000), activeMfaType: "totp" } }),
  );
  expect(activated.status, activated.text).toBe(200);
  return { email, session, totpSecret, imageUrl };
}

/**
 * An account whose owner has already proven its addresses: its TOTP is the
 * owner's own. (On an account whose address is still unproven, the first proof
 * removes TOTP set up before it: test/hardening.test.ts.)
 */
async function provenUserWithTotp(phoneNumber: string | null = null) {
  const user = await userWithTotp();
  await env.DB.prepare("UPDATE users SET email_verified = 1, phone_number = ?, phone_number_verified = ? WHERE id = ?")
    .bind(phoneNumber, phoneNumber === null ? 0 : 1, user.session.user.id)
    .run();
  return user;
}

async function mfaTicket(email: string): Promise<string> {
  const response = await signIn(email);
  expect(response.status).toBe(200);
  expect(response.json.session).toBeNull();
  expect(response.json.mfa.ticket).toMatch(/^mfaTotp:/);
  return response.json.mfa.ticket;
}

describe("TOTP MFA through the Worker", () => {
  it("generate gives a base32 secret and a QR data: URL rendered here", async () => {
    const { session } = await signUp();
    const generated = await api("/mfa/totp/generate", { token: session.accessToken });
    expect(generated.json.totpSecret).toMatch(/^[A-Z2-7]{32}$/);
    expect(generated.json.imageUrl).toMatch(/^data:image\/gif;base64,[A-Za-z0-9+/]+=*$/);
  });

  it("two-step sign-in: password answers an mfa ticket, the code answers the session", async () => {
    const { email, totpSecret } = await userWithTotp();
    const ticket = await mfaTicket(email);
    const response = await api("/signin/mfa/totp", { body: { ticket, otp: await codeFor(totpSecret) } });
    expect(response.status, response.text).toBe(200);
    expect(response.json.session.user).toMatchObject({ email, activeMfaType: "totp" });
    // The ticket is single-use.
    expectError(await api("/signin/mfa/totp", { body: { ticket, otp: await codeFor(totpSecret) } }), 401, "invalid-ticket");
  });

  it("refuses a replayed code, even two concurrent submissions of it: exactly one wins", async () => {
    const { email, totpSecret } = await userWithTotp();
    const [first, second] = [await mfaTicket(email), await mfaTicket(email)];
    const code = await codeFor(totpSecret);
    const answers = await Promise.all([
      api("/signin/mfa/totp", { body: { ticket: first, otp: code } }),
      api("/signin/mfa/totp", { body: { ticket: second, otp: code } }),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 401]);
    expect(answers.find((answer) => answer.status === 401)!.json.error).toBe("invalid-totp");
  });

  it("the same ticket and code submitted concurrently: one session, written in one batch", async () => {
    const { email, session, totpSecret } = await userWithTotp();
    const ticket = await mfaTicket(email);
    const count = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ?").bind(session.user.id).first<{ n: number }>())!.n;
    const before = await count();
    const code = await codeFor(totpSecret);
    const answers = await Promise.all(Array.from({ length: 5 }, () => api("/signin/mfa/totp", { body: { ticket, otp: code } })));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
    expect(await count()).toBe(before + 1);
  });

  it("counts wrong guesses per ticket exactly: after 5 the ticket is dead", async () => {
    const { email, totpSecret } = await userWithTotp();
    // 5 concurrent wrong guesses must all be counted: a lost update would let the right code in.
    for (const [wrongGuesses, survives] of [[4, true], [5, false]] as const) {
      const ticket = await mfaTicket(email);
      const right = await codeFor(totpSecret, Date.now() + 30_000);
      const wrong = right === "000000" ? "111111" : "000000";
      await Promise.all(Array.from({ length: wrongGuesses }, () => api("/signin/mfa/totp", { body: { ticket, otp: wrong } })));
      const final = await api("/signin/mfa/totp", { body: { ticket, otp: right } });
      expect(final.status, `${wrongGuesses} wrong guesses: ${final.text}`).toBe(survives ? 200 : 401);
      if (!survives) expect(final.json.error).toBe("invalid-ticket");
      // The per-user window is 10 per 15 minutes: start the next round in a fresh window.
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 16 * 60_000);
    }
  });

  it("an expired ticket is invalid-ticket (frozen clock)", async () => {
    const { email, totpSecret } = await userWithTotp();
    const issuedAt = Date.now();
    freezeClock(issuedAt);
    const [late, inTime] = [await mfaTicket(email), await mfaTicket(email)];
    vi.setSystemTime(issuedAt + 299_000);
    const answered = await api("/signin/mfa/totp", { body: { ticket: inTime, otp: await codeFor(totpSecret) } });
    expect(answered.status, answered.text).toBe(200);
    vi.setSystemTime(issuedAt + 301_000);
    expectError(await api("/signin/mfa/totp", { body: { ticket: late, otp: await codeFor(totpSecret, issuedAt + 331_000) } }), 401, "invalid-ticket");
  });

  it("counts wrong codes per user exactly across tickets, gives right codes their attempt back, and lifts the cap after 15 minutes", async () => {
    const { email, totpSecret } = await userWithTotp();
    const start = Date.now();
    freezeClock(start);
    const wrong = await wrongCodeFor(totpSecret);
    const [first, second, third] = [await mfaTicket(email), await mfaTicket(email), await mfaTicket(email)];
    // 9 concurrent wrong codes over two tickets (the per-ticket cap is 5): all counted.
    const guesses = await Promise.all([
      ...Array.from({ length: 5 }, () => api("/signin/mfa/totp", { body: { ticket: first, otp: wrong } })),
      ...Array.from({ length: 4 }, () => api("/signin/mfa/totp", { body: { ticket: second, otp: wrong } })),
    ]);
    expect(guesses.map((guess) => guess.json.error)).toEqual(Array(9).fill("invalid-totp"));
    // The 10th attempt is the right code: accepted, and it does not use up the budget...
    const signedIn = await api("/signin/mfa/totp", { body: { ticket: third, otp: await codeFor(totpSecret) } });
    expect(signedIn.status, signedIn.text).toBe(200);
    vi.setSystemTime(start + 30_000);
    const again = await api("/signin/mfa/totp", { body: { ticket: await mfaTicket(email), otp: await codeFor(totpSecret) } });
    expect(again.status, again.text).toBe(200);
    // ...but one more wrong code reaches 10, and then even the right code is refused.
    vi.setSystemTime(start + 60_000);
    const fourth = await mfaTicket(email);
    expectError(await api("/signin/mfa/totp", { body: { ticket: fourth, otp: await wrongCodeFor(totpSecret) } }), 401, "invalid-totp");
    expectError(await api("/signin/mfa/totp", { body: { ticket: fourth, otp: await codeFor(totpSecret) } }), 401, "invalid-totp");
    const session = signedIn.json.session;
    expectError(
      await api("/user/mfa", { token: session.accessToken, body: { code: await codeFor(totpSecret), activeMfaType: "" } }),
      401,
      "invalid-totp",
    );
    // A new window: the user gets in again.
    vi.setSystemTime(start + 15 * 60_000);
    const later = await api("/signin/mfa/totp", { body: { ticket: await mfaTicket(email), otp: await codeFor(totpSecret) } });
    expect(later.status, later.text).toBe(200);
  });

  it("stores the secret encrypted and never shows it again", async () => {
    const { email, session, totpSecret } = await userWithTotp();
    const row = await env.DB.prepare("SELECT totp_secret_encrypted FROM users WHERE email = ?").bind(email).first<{ totp_secret_encrypted: string }>();
    expect(row!.totp_secret_encrypted).toMatch(/^v1\./);
    expect(row!.totp_secret_encrypted).not.toContain(totpSecret);
    expect(row!.totp_secret_encrypted).not.toContain(Buffer.from(base32Decode(totpSecret)!).toString("base64"));
    const user = await api("/user", { token: session.accessToken });
    expect(user.json.activeMfaType).toBe("totp");
    const first = await signIn(email);
    const second = await api("/signin/mfa/totp", { body: { ticket: first.json.mfa.ticket, otp: await codeFor(totpSecret) } });
    expect(second.status, second.text).toBe(200);
    const refreshed = await api("/token", { body: { refreshToken: second.json.session.refreshToken } });
    expect(refreshed.status, refreshed.text).toBe(200);
    for (const response of [user, first, second, refreshed, await api("/user", { token: refreshed.json.accessToken })]) {
      expect(response.text).not.toContain(totpSecret);
      expect(response.text).not.toContain(row!.totp_secret_encrypted);
    }
  });

  it("deactivates with a code; then sign-in answers a session directly", async () => {
    const { email, session, totpSecret } = await userWithTotp();
    // The activation code's step is spent: it cannot deactivate.
    expectError(
      await api("/user/mfa", { token: session.accessToken, body: { code: await codeFor(totpSecret, Date.now() - 30_000), activeMfaType: "" } }),
      401,
      "invalid-totp",
    );
    const deactivated = await api("/user/mfa", { token: session.accessToken, body: { code: await codeFor(totpSecret), activeMfaType: "" } });
    expect(deactivated.status, deactivated.text).toBe(200);
    const row = await env.DB.prepare("SELECT active_mfa_type, totp_secret_encrypted FROM users WHERE id = ?").bind(session.user.id).first();
    expect(row).toEqual({ active_mfa_type: null, totp_secret_encrypted: null });
    const signedIn = await signIn(email);
    expect(signedIn.json.session.user.activeMfaType).toBeNull();
    expect(signedIn.json.mfa).toBeUndefined();
  });

  it("deactivates when activeMfaType is left out, as Nhost's server does", async () => {
    const { email, session, totpSecret } = await userWithTotp();
    // The next step's code (accepted within one step of drift): always later than
    // the step activation used, even when this runs across a 30-second boundary.
    const deactivated = await api("/user/mfa", { token: session.accessToken, body: { code: await codeFor(totpSecret, Date.now() + 30_000) } });
    expect(deactivated.status, deactivated.text).toBe(200);
    expect((await signIn(email)).json.session.user.activeMfaType).toBeNull();
  });

  it("error codes: totp-already-active, disabled-mfa-totp, no-totp-secret, invalid-totp, forbidden-anonymous, bad input", async () => {
    const { session, totpSecret } = await userWithTotp();
    expectError(await api("/mfa/totp/generate", { token: session.accessToken }), 400, "totp-already-active");
    expectError(await api("/user/mfa", { token: session.accessToken, body: { code: await codeFor(totpSecret), activeMfaType: "totp" } }), 400, "totp-already-active");

    const plain = await signUp();
    expectError(await api("/user/mfa", { token: plain.session.accessToken, body: { code: "123456", activeMfaType: "" } }), 401, "disabled-mfa-totp");
    expectError(await api("/user/mfa", { token: plain.session.accessToken, body: { code: "123456", activeMfaType: "totp" } }), 400, "no-totp-secret");
    await api("/mfa/totp/generate", { token: plain.session.accessToken });
    expectError(await api("/user/mfa", { token: plain.session.accessToken, body: { code: "000000", activeMfaType: "totp" } }), 401, "invalid-totp");
    expectError(await api("/user/mfa", { token: plain.session.accessToken, body: { code: "000000", activeMfaType: "sms" } }), 400, "mfa-type-not-found");
    expectError(await api("/user/mfa", { token: plain.session.accessToken, body: { code: "000000", activeMfaType: 5 } }), 400, "invalid-request");
    expectError(await api("/user/mfa", { token: plain.session.accessToken, body: { activeMfaType: "totp" } }), 400, "invalid-request");
    expectError(await api("/user/mfa", { body: { code: "000000", activeMfaType: "totp" } }), 401, "unauthenticated-user");

    const anonymous = (await api("/signin/anonymous", { method: "POST" })).json.session;
    expectError(await api("/mfa/totp/generate", { token: anonymous.accessToken }), 403, "forbidden-anonymous");
    expectError(await api("/mfa/totp/generate"), 401, "unauthenticated-user");
    expectError(await api("/signin/mfa/totp", { body: { ticket: "passwordReset:abc", otp: "123456" } }), 401, "invalid-ticket");
    expectError(await api("/signin/mfa/totp", { body: { ticket: `mfaTotp:${crypto.randomUUID()}`, otp: "123456" } }), 401, "invalid-ticket");
    expectError(await api("/signin/mfa/totp", { body: { ticket: 5, otp: "123456" } }), 400, "invalid-request");
    expectError(await api("/signin/mfa/totp", { body: "{" }), 400, "invalid-request");
  });
});

describe("SMS sign-in with TOTP active", () => {
  it("answers an mfa ticket instead of a session, finished at /signin/mfa/totp", async () => {
    const phone = `+1555${String(Date.now() % 10_000_000).padStart(7, "0")}`;
    const { session, totpSecret } = await provenUserWithTotp(phone);
    await api("/signin/passwordless/sms", { body: { phoneNumber: phone } });
    let code: string | undefined;
    for (let attempt = 0; attempt < 50 && code === undefined; attempt++) {
      const mails = (await api("/_dev/outbox")).json.mails as { channel: string; to: string; text: string }[];
      code = mails.find((mail) => mail.channel === "sms" && mail.to === phone)?.text.match(/\b(\d{6})\b/)?.[1];
      if (code === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const first = await api("/signin/passwordless/sms/otp", { body: { phoneNumber: phone, otp: code } });
    expect(first.status, first.text).toBe(200);
    expect(first.json.session).toBeNull();
    const second = await api("/signin/mfa/totp", { body: { ticket: first.json.mfa.ticket, otp: await codeFor(totpSecret) } });
    expect(second.status, second.text).toBe(200);
    expect(second.json.session.user).toMatchObject({ id: session.user.id, phoneNumberVerified: true });
  });
});

describe("email links and codes with TOTP active: a mailbox alone is not enough", () => {
  async function newestMail(to: string, subjectPattern: RegExp): Promise<{ text: string; links: string[] }> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const mails = (await api("/_dev/outbox")).json.mails as { channel: string; to: string; subject: string; text: string; links: string[] }[];
      const mail = mails.find((candidate) => candidate.channel === "email" && candidate.to === to && subjectPattern.test(candidate.subject));
      if (mail !== undefined) return mail;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no mail to ${to}`);
  }

  async function followLink(link: string): Promise<URL> {
    const response = await workerFetch(link, { redirect: "manual" });
    expect(response.status, await response.text()).toBe(302);
    return new URL(response.headers.get("location")!);
  }

  async function finishWithTotp(ticket: string | null, totpSecret: string, email: string) {
    expect(ticket).toMatch(/^mfaTotp:/);
    const finished = await api("/signin/mfa/totp", { body: { ticket, otp: await codeFor(totpSecret) } });
    expect(finished.status, finished.text).toBe(200);
    expect(finished.json.session.user.email).toBe(email);
  }

  it("a magic link redirects with an MFA ticket, not a refresh token", async () => {
    const { email, totpSecret } = await provenUserWithTotp();
    await api("/signin/passwordless/email", { body: { email, options: { redirectTo: "https://app.example.com/auth/done" } } });
    const landed = await followLink((await newestMail(email, /sign/i)).links.find((link) => link.includes("/verify?"))!);
    expect(landed.searchParams.get("type")).toBe("signinPasswordless");
    expect(landed.searchParams.has("refreshToken")).toBe(false);
    await finishWithTotp(landed.searchParams.get("mfaTicket"), totpSecret, email);
  });

  it("a password-reset link does too", async () => {
    const { email, totpSecret } = await provenUserWithTotp();
    await api("/user/password/reset", { body: { email } });
    const landed = await followLink((await newestMail(email, /reset/i)).links.find((link) => link.includes("/verify?"))!);
    expect(landed.searchParams.get("type")).toBe("passwordReset");
    expect(landed.searchParams.has("refreshToken")).toBe(false);
    await finishWithTotp(landed.searchParams.get("mfaTicket"), totpSecret, email);
  });

  it("an email code answers an MFA ticket instead of a session", async () => {
    const { email, totpSecret } = await provenUserWithTotp();
    await api("/signin/otp/email", { body: { email } });
    const code = (await newestMail(email, /code/i)).text.match(/\b(\d{6})\b/)![1];
    const verified = await api("/signin/otp/email/verify", { body: { email, otp: code } });
    expect(verified.status, verified.text).toBe(200);
    expect(verified.json.session).toBeNull();
    await finishWithTotp(verified.json.mfa.ticket, totpSecret, email);
  });
});
