/**
 * Sign-in with a code by SMS: E.164 normalisation, the dev outbox beside the
 * mails, exact attempt counting and expiry like email codes.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { normalizeE164 } from "../src/server/lib/phone";
import { createTwilioStyleSender } from "../src/server/services/sms";
import { api, appFetch } from "./helpers";

afterEach(() => vi.useRealTimers());

let phoneCounter = 0;
/** A fresh, valid number in a reserved-for-fiction range. */
function uniquePhone(): string {
  phoneCounter += 1;
  return `+1555${String(Date.now() % 1_000_000).padStart(6, "0")}${phoneCounter % 10}`;
}

/** The code of the newest SMS to `to`, once at least `count` have arrived (they are sent after the response). */
async function latestSmsCode(to: string, count = 1): Promise<string> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const mails = (await api("/_dev/outbox")).json.mails as { channel: string; to: string; text: string }[];
    const messages = mails.filter((mail) => mail.channel === "sms" && mail.to === to);
    if (messages.length >= count) return /\b(\d{6})\b/.exec(messages[0]!.text)![1]!;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no SMS to ${to}`);
}

function expectError(response: { status: number; json: any }, status: number, error: string) {
  expect(response.status, JSON.stringify(response.json)).toBe(status);
  expect(response.json).toMatchObject({ status, error });
}

describe("E.164 normalisation", () => {
  it.each([
    ["+1 (555) 010-2030", "+15550102030"],
    ["0033 6 12 34 56 78", "+33612345678"],
    ["+44.20.7946.0958", "+442079460958"],
  ])("%s → %s", (input, expected) => expect(normalizeE164(input)).toBe(expected));

  it.each(["5550102030", "+0123456789", "+1 555", "+1234567890123456", "+1555abc0102", ""])("refuses %j", (input) =>
    expect(normalizeE164(input)).toBeNull(),
  );
});

describe("SMS sign-in", () => {
  it("sends a code to a new number, creates the account, and signs in with it", async () => {
    const phone = uniquePhone();
    const formatted = `${phone.slice(0, 2)} (${phone.slice(2, 5)}) ${phone.slice(5)}`;
    expect((await api("/signin/passwordless/sms", { body: { phoneNumber: formatted } })).json).toBe("OK");
    const code = await latestSmsCode(phone);
    const response = await api("/signin/passwordless/sms/otp", { body: { phoneNumber: phone, otp: code } });
    expect(response.status, response.text).toBe(200);
    expect(response.json.session.user).toMatchObject({ phoneNumber: phone, phoneNumberVerified: true });

    // The same number signs in to the same account next time.
    await api("/signin/passwordless/sms", { body: { phoneNumber: phone } });
    const again = await api("/signin/passwordless/sms/otp", { body: { phoneNumber: phone, otp: await latestSmsCode(phone, 2) } });
    expect(again.json.session.user.id).toBe(response.json.session.user.id);
  });

  it("a code is single-use, and a wrong one is invalid-otp", async () => {
    const phone = uniquePhone();
    await api("/signin/passwordless/sms", { body: { phoneNumber: phone } });
    const code = await latestSmsCode(phone);
    const wrong = code === "000000" ? "111111" : "000000";
    expectError(await api("/signin/passwordless/sms/otp", { body: { phoneNumber: phone, otp: wrong } }), 400, "invalid-otp");
    expect((await api("/signin/passwordless/sms/otp", { body: { phoneNumber: phone, otp: code } })).status).toBe(200);
    expectError(await api("/signin/passwordless/sms/otp", { body: { phoneNumber: phone, otp: code } }), 400, "invalid-otp");
  });

  it("counts concurrent wrong guesses exactly: 5 kill the code, 4 do not", async () => {
    for (const [wrongGuesses, survives] of [
      [4, true],
      [5, false],
    ] as const) {
      const phone = uniquePhone();
      await api("/signin/passwordless/sms", { body: { phoneNumber: phone } });
      const code = await latestSmsCode(phone);
      const wrong = code === "999999" ? "888888" : "999999";
      const answers = await Promise.all(
        Array.from({ length: wrongGuesses }, () => api("/signin/passwordless/sms/otp", { body: { phoneNumber: phone, otp: wrong } })),
      );
      expect(answers.every((answer) => answer.status === 400)).toBe(true);
      const final = await api("/signin/passwordless/sms/otp", { body: { phoneNumber: phone, otp: code } });
      expect(final.status, `${wrongGuesses} wrong guesses`).toBe(survives ? 200 : 400);
    }
  });

  it("a code expires after SMS_OTP_TTL_SECONDS", async () => {
    const phone = uniquePhone();
    await api("/signin/passwordless/sms", { body: { phoneNumber: phone } });
    const code = await latestSmsCode(phone);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 601_000);
    expectError(await api("/signin/passwordless/sms/otp", { body: { phoneNumber: phone, otp: code } }), 400, "invalid-otp");
  });

  it("refuses numbers that are not E.164 and bad bodies", async () => {
    expectError(await api("/signin/passwordless/sms", { body: { phoneNumber: "5550102030" } }), 400, "cannot-send-sms");
    expectError(await api("/signin/passwordless/sms", { body: { phoneNumber: 5550102030 } }), 400, "invalid-request");
    expectError(await api("/signin/passwordless/sms", { body: { phoneNumber: uniquePhone(), extra: 1 } }), 400, "invalid-request");
    expectError(await api("/signin/passwordless/sms", { body: { phoneNumber: uniquePhone(), options: { defaultRole: "admin" } } }), 400, "role-not-allowed");
    expectError(await api("/signin/passwordless/sms/otp", { body: { phoneNumber: "nope", otp: "123456" } }), 400, "invalid-otp");
    expectError(await api("/signin/passwordless/sms/otp", { body: { phoneNumber: uniquePhone() } }), 400, "invalid-request");
  });

  it("answers the same for known and unknown numbers", async () => {
    const known = uniquePhone();
    await api("/signin/passwordless/sms", { body: { phoneNumber: known } });
    await api("/signin/passwordless/sms/otp", { body: { phoneNumber: known, otp: await latestSmsCode(known) } });
    const a = await api("/signin/passwordless/sms", { body: { phoneNumber: known } });
    const b = await api("/signin/passwordless/sms", { body: { phoneNumber: uniquePhone() } });
    expect([a.status, a.text]).toEqual([b.status, b.text]);
  });
});

describe("the Twilio-style SMS transport, against a local HTTP server", () => {
  const base = () => `http://127.0.0.1:${(env as unknown as { MAIL_TEST_HTTP_PORT: number }).MAIL_TEST_HTTP_PORT}`;

  async function received(digits: string): Promise<{ method: string; path: string; headers: Record<string, string>; body: string }[]> {
    return (await fetch(`${base()}/api?to=${digits}`)).json();
  }

  it("posts the message form with basic auth to the account's Messages resource", async () => {
    const phone = uniquePhone();
    const sender = createTwilioStyleSender({ apiUrl: base(), accountSid: "AC123", authToken: "sms-secret-token", from: "+15005550006" });
    await sender.send({ to: phone, body: "Your code is 123456." });
    const [request] = await received(phone.slice(1));
    expect(request).toBeDefined();
    expect(request!.method).toBe("POST");
    expect(request!.path).toBe("/2010-04-01/Accounts/AC123/Messages.json");
    expect(request!.headers.authorization).toBe(`Basic ${btoa("AC123:sms-secret-token")}`);
    expect(request!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    const form = new URLSearchParams(request!.body);
    expect(Object.fromEntries(form)).toEqual({ To: phone, Body: "Your code is 123456.", From: "+15005550006" });
  });

  it("uses MessagingServiceSid for a messaging service sender", async () => {
    const phone = uniquePhone();
    await createTwilioStyleSender({ apiUrl: base(), accountSid: "AC9", authToken: "t", from: "MG42" }).send({ to: phone, body: "hi" });
    const [request] = await received(phone.slice(1));
    expect(new URLSearchParams(request!.body).get("MessagingServiceSid")).toBe("MG42");
  });

  it("a provider error throws with the status only, never the token or the message", async () => {
    const sender = createTwilioStyleSender({ apiUrl: `${base()}/status/401`, accountSid: "AC1", authToken: "sms-secret-token", from: "+15005550006" });
    const error = await sender.send({ to: uniquePhone(), body: "Your code is 654321." }).then(
      () => null,
      (failure: unknown) => failure as Error,
    );
    expect(error?.message).toBe("SMS provider answered 401");
    expect(error?.message).not.toContain("654321");
    expect(error?.message).not.toContain("sms-secret-token");
  });

  it("the app sends through it when SMS_TRANSPORT=twilio", async () => {
    const phone = uniquePhone();
    const ctx = createExecutionContext();
    const bindings = {
      ...env,
      SMS_TRANSPORT: "twilio",
      SMS_API_URL: base(),
      SMS_ACCOUNT_SID: "ACapp",
      SMS_AUTH_TOKEN: "app-token",
      SMS_FROM: "+15005550006",
    } as Env;
    const response = await appFetch(
      new Request("http://localhost/signin/passwordless/sms", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ phoneNumber: phone }),
      }),
      bindings,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(200);
    const [request] = await received(phone.slice(1));
    expect(request!.path).toBe("/2010-04-01/Accounts/ACapp/Messages.json");
    const code = /\b(\d{6})\b/.exec(new URLSearchParams(request!.body).get("Body")!)![1]!;
    const verify = await appFetch(
      new Request("http://localhost/signin/passwordless/sms/otp", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ phoneNumber: phone, otp: code }),
      }),
      bindings,
      createExecutionContext(),
    );
    expect(verify.status).toBe(200);
  });
});
