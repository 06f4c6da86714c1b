/**
 * The mail transports against real servers on loopback, started by
 * test/global-setup/smtp-server.ts: `smtp-server` for SMTP (what it received is
 * parsed with `mailparser` and read back over HTTP), a local HTTP server for the
 * mail APIs, and miniflare's local `send_email` binding.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { MailMessage } from "../src/server/services/mailer";
import { createHttpApiMailer, type HttpApiOptions } from "../src/server/services/mail/http-api";
import { createSendEmailBindingMailer } from "../src/server/services/mail/send-email-binding";
import { createSmtpMailer, SmtpError, type SmtpOptions } from "../src/server/services/mail/smtp";
import { SMTP_PASSWORD, SMTP_USERNAME, type ReceivedMail, type ReceivedRequest } from "./global-setup/mail-fixtures";

declare global {
  namespace Cloudflare {
    interface Env {
      SMTP_TEST_PORTS: { plain: number; loginOnly: number; implicitTls: number; silent: number };
      MAIL_TEST_HTTP_PORT: number;
      SMTP_TLS_NETWORK: Fetcher;
      SEND_EMAIL: SendEmail;
    }
  }
}

const FROM = "edgeauth <no-reply@auth.example.com>";
const HTTP_BASE = `http://127.0.0.1:${env.MAIL_TEST_HTTP_PORT}`;
const ports = env.SMTP_TEST_PORTS;
/** Trusts the setup's self-signed certificate, which the default `connect` rightly refuses. */
const trustingConnect: SmtpOptions["connect"] = (address, options) => env.SMTP_TLS_NETWORK.connect(address, options);

afterEach(() => vi.useRealTimers());

/** A recipient no other test uses, so the servers' records can be filtered by it. */
function recipient(prefix = "ada"): string {
  return `${prefix}-${crypto.randomUUID()}@example.test`;
}

function mail(to: string, overrides: Partial<MailMessage> = {}): MailMessage {
  return { to, subject: "Verify your email", text: "Open https://auth.example.com/verify?ticket=t1", html: "<p><a href=\"https://auth.example.com/verify?ticket=t1\">Verify</a></p>", ...overrides };
}

function smtp(overrides: Partial<SmtpOptions> = {}) {
  return createSmtpMailer({ host: "127.0.0.1", port: ports.plain, security: "none", from: FROM, ...overrides });
}

async function receivedSmtp(to: string): Promise<ReceivedMail[]> {
  return (await fetch(`${HTTP_BASE}/smtp?to=${encodeURIComponent(to)}`)).json();
}

async function receivedApi(to: string): Promise<ReceivedRequest[]> {
  return (await fetch(`${HTTP_BASE}/api?to=${encodeURIComponent(to)}`)).json();
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe("SMTP transport (RFC 5321) against smtp-server", () => {
  it("delivers multipart/alternative text and HTML with Date and Message-ID, no AUTH, plain text", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(new Date("2026-11-03T09:05:00Z"));
    const to = recipient();
    await smtp().send(mail(to));

    const [received, ...others] = await receivedSmtp(to);
    expect(others).toHaveLength(0);
    expect(received).toMatchObject({ server: "plain", mailFrom: "no-reply@auth.example.com", rcptTo: [to], secure: false, authMethod: null });
    expect(received!.parsed).toMatchObject({
      subject: "Verify your email",
      from: '"edgeauth" <no-reply@auth.example.com>',
      to,
      text: "Open https://auth.example.com/verify?ticket=t1",
      html: "<p><a href=\"https://auth.example.com/verify?ticket=t1\">Verify</a></p>",
      date: "2026-11-03T09:05:00.000Z",
    });
    expect(received!.parsed.messageId).toMatch(/^<[0-9a-f-]{36}@auth\.example\.com>$/);
    expect(received!.raw).toMatch(/^MIME-Version: 1\.0\r$/m);
    expect(received!.raw).toMatch(/^Content-Type: multipart\/alternative;\r\n boundary="/m);
    // RFC 2046 §5.1.4: the richest alternative comes last.
    expect(received!.raw.indexOf("text/plain")).toBeLessThan(received!.raw.indexOf("text/html"));
  });

  it("authenticates with AUTH PLAIN when the server offers it (RFC 4954)", async () => {
    const to = recipient();
    await smtp({ username: SMTP_USERNAME, password: SMTP_PASSWORD }).send(mail(to));
    expect(await receivedSmtp(to)).toMatchObject([{ authMethod: "PLAIN", secure: false }]);
  });

  it("falls back to AUTH LOGIN when PLAIN is not offered", async () => {
    const to = recipient();
    await smtp({ port: ports.loginOnly, username: SMTP_USERNAME, password: SMTP_PASSWORD }).send(mail(to));
    expect(await receivedSmtp(to)).toMatchObject([{ server: "login-only", authMethod: "LOGIN" }]);
  });

  it.each([
    ["PLAIN", ports.plain],
    ["LOGIN", ports.loginOnly],
  ])("a wrong password (AUTH %s) fails with 535 and the error never shows the password", async (_mechanism, port) => {
    const to = recipient();
    const password = "wrong-Pässword-123";
    const error = await rejection(smtp({ port, username: SMTP_USERNAME, password }).send(mail(to)));
    expect(error).toBeInstanceOf(SmtpError);
    expect(error).toMatchObject({ step: "AUTH", code: 535 });
    const everything = `${String(error)} ${error.stack} ${JSON.stringify(error)}`;
    const base64 = btoa(String.fromCharCode(...new TextEncoder().encode(password)));
    for (const secret of [password, base64, SMTP_PASSWORD]) expect(everything).not.toContain(secret);
    expect(await receivedSmtp(to)).toHaveLength(0);
  });

  it("a recipient refused with 550 fails with the step and code, not the message", async () => {
    const to = recipient("reject");
    const error = await rejection(smtp().send(mail(to, { text: "secret-ticket-abc" })));
    expect(error).toMatchObject({ step: "RCPT", code: 550, message: "SMTP RCPT was refused with 550" });
    expect(error.message).not.toContain("secret-ticket-abc");
    expect(await receivedSmtp(to)).toHaveLength(0);
  });

  it("round-trips a non-ASCII subject (RFC 2047) and UTF-8 bodies with long lines (quoted-printable)", async () => {
    const to = recipient();
    const subject = "Vérifiez votre adresse — メールアドレスを確認してください ✉️ and a long tail to force folding";
    const text = `Bonjour Zoë,\n${"ünïcödé ".repeat(30)}\nfin = end\ttab \n`;
    const html = `<p>Grüße, 世界 🌍</p>\n<p>${"long ".repeat(40)}</p>`;
    await smtp().send(mail(to, { subject, text, html }));

    const [received] = await receivedSmtp(to);
    expect(received!.parsed).toMatchObject({ subject, text, html });
    const lines = received!.raw.split("\r\n");
    expect(lines.every((line) => /^[\x20-\x7e\t]*$/.test(line))).toBe(true);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(78);
    expect(received!.raw).toMatch(/^Subject: =\?UTF-8\?B\?/m);
  });

  it("dot-stuffs lines that start with a dot (RFC 5321 §4.5.2) and normalises line endings to CRLF", async () => {
    const to = recipient();
    // A lone "." would end DATA early without stuffing; the rest would arrive as commands.
    const text = "first\n.\n..two\r\n.leading\rlast";
    await smtp().send(mail(to, { text, html: ".<b>dot</b>\n.\n" }));

    const [received] = await receivedSmtp(to);
    expect(received!.parsed.text).toBe("first\n.\n..two\n.leading\nlast");
    expect(received!.parsed.html).toBe(".<b>dot</b>\n.\n");
    expect(received!.raw).not.toMatch(/[^\r]\n|\r[^\n]/);
  });

  it("refuses header and command injection through the recipient", async () => {
    const error = await rejection(smtp().send(mail("ada@example.test>\r\nRCPT TO:<eve@example.test")));
    expect(error.message).toBe("invalid mail address");
  });

  it("upgrades with STARTTLS (RFC 3207) before AUTH", async () => {
    const to = recipient();
    await smtp({ security: "starttls", connect: trustingConnect, username: SMTP_USERNAME, password: SMTP_PASSWORD }).send(mail(to));
    expect(await receivedSmtp(to)).toMatchObject([{ server: "plain", secure: true, authMethod: "PLAIN" }]);
  });

  it("speaks TLS from the first byte on an implicit-TLS port (RFC 8314)", async () => {
    const to = recipient();
    await smtp({ port: ports.implicitTls, security: "tls", connect: trustingConnect, username: SMTP_USERNAME, password: SMTP_PASSWORD }).send(mail(to));
    expect(await receivedSmtp(to)).toMatchObject([{ server: "implicit-tls", secure: true, authMethod: "PLAIN" }]);
  });

  it("does not fall back to plain text when STARTTLS is required but not offered", async () => {
    const to = recipient();
    const mailer = smtp({ port: ports.loginOnly, security: "starttls", connect: trustingConnect, username: SMTP_USERNAME, password: SMTP_PASSWORD });
    expect((await rejection(mailer.send(mail(to)))).message).toBe("SMTP server does not offer STARTTLS");
    expect(await receivedSmtp(to)).toHaveLength(0);
  });

  it("refuses a server certificate it does not trust", async () => {
    // The implicit-TLS test above reaches the same server through a route that trusts its CA.
    const to = recipient();
    const error = await rejection(smtp({ port: ports.implicitTls, security: "tls", username: SMTP_USERNAME, password: SMTP_PASSWORD }).send(mail(to)));
    expect(error.message).toBe(`SMTP connection to 127.0.0.1:${ports.implicitTls} failed`);
    expect(await receivedSmtp(to)).toHaveLength(0);
  });

  it("gives up after timeoutMs on a server that never greets", async () => {
    const error = await rejection(smtp({ port: ports.silent, timeoutMs: 50 }).send(mail(recipient())));
    expect(error.message).toBe(`SMTP exchange with 127.0.0.1:${ports.silent} timed out after 50 ms`);
  });
});

describe("HTTP mail API transport", () => {
  function httpApi(format: HttpApiOptions["format"], path: string, overrides: Partial<HttpApiOptions> = {}) {
    return createHttpApiMailer({ url: `${HTTP_BASE}${path}`, apiKey: "key-123-secret", from: FROM, format, ...overrides });
  }

  it("posts Resend's shape with a bearer token", async () => {
    const to = recipient();
    await httpApi("resend", "/emails").send(mail(to));
    const [request, ...others] = await receivedApi(to);
    expect(others).toHaveLength(0);
    expect(request).toMatchObject({ method: "POST", path: "/emails", headers: { authorization: "Bearer key-123-secret", "content-type": "application/json" } });
    expect(request!.body).toEqual({ from: FROM, to: [to], subject: "Verify your email", text: mail(to).text, html: mail(to).html });
  });

  it("posts Postmark's shape with the server-token header", async () => {
    const to = recipient();
    await httpApi("postmark", "/email").send(mail(to));
    const [request] = await receivedApi(to);
    expect(request!.headers).toMatchObject({ "x-postmark-server-token": "key-123-secret", accept: "application/json" });
    expect(request!.headers.authorization).toBeUndefined();
    expect(request!.body).toEqual({ From: FROM, To: to, Subject: "Verify your email", TextBody: mail(to).text, HtmlBody: mail(to).html });
  });

  it("posts SendGrid's shape, text/plain before text/html", async () => {
    const to = recipient();
    await httpApi("sendgrid", "/v3/mail/send").send(mail(to));
    const [request] = await receivedApi(to);
    expect(request!.headers.authorization).toBe("Bearer key-123-secret");
    expect(request!.body).toEqual({
      personalizations: [{ to: [{ email: to }] }],
      from: { email: "no-reply@auth.example.com", name: "edgeauth" },
      subject: "Verify your email",
      content: [
        { type: "text/plain", value: mail(to).text },
        { type: "text/html", value: mail(to).html },
      ],
    });
  });

  it.each(["resend", "postmark", "sendgrid"] as const)("%s: a non-2xx answer throws with the status only", async (format) => {
    const to = recipient();
    const error = await rejection(httpApi(format, "/emails?status=422").send(mail(to, { text: "secret-ticket-xyz" })));
    expect(error.message).toBe("mail API answered 422");
    expect(await receivedApi(to)).toHaveLength(1);
  });

  it("uses the injected fetch", async () => {
    const seen: Request[] = [];
    const mailer = createHttpApiMailer({
      url: "https://api.resend.com/emails",
      apiKey: "k",
      from: FROM,
      format: "resend",
      fetch: async (input, init) => {
        seen.push(new Request(input, init));
        return new Response(null, { status: 500 });
      },
    });
    await expect(mailer.send(mail(recipient()))).rejects.toThrow("mail API answered 500");
    expect(seen.map((request) => request.url)).toEqual(["https://api.resend.com/emails"]);
  });
});

describe("send_email binding transport", () => {
  it("is accepted by the binding: From matches the envelope and a Message-ID is present", async () => {
    await createSendEmailBindingMailer(env.SEND_EMAIL, FROM).send(mail(recipient(), { subject: "Vérifiez ✉️" }));
  });

  it("hands the binding bare envelope addresses, not display names", async () => {
    const sent: EmailMessage[] = [];
    const capturing = { send: async (message: EmailMessage) => void sent.push(message) } as unknown as SendEmail;
    const to = recipient();
    await createSendEmailBindingMailer(capturing, FROM).send(mail(to));
    expect(sent.map(({ from, to }) => ({ from, to }))).toEqual([{ from: "no-reply@auth.example.com", to }]);
  });
});
