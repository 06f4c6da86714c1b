/**
 * Mail through a provider's HTTP API: one JSON POST per message, in the shape
 * of Resend (`POST /emails`), Postmark (`POST /email`) or SendGrid
 * (`POST /v3/mail/send`). Many other providers accept one of these shapes.
 */
import type { Mailer, MailMessage } from "../mailer";
import { parseMailbox, type Mailbox } from "./mime";

export interface HttpApiOptions {
  /**
   * The full endpoint, e.g. `https://api.resend.com/emails`,
   * `https://api.postmarkapp.com/email` or `https://api.sendgrid.com/v3/mail/send`.
   */
  url: string;
  apiKey: string;
  /** `Name <address>` or a bare address. */
  from: string;
  /** Which provider's request body and auth header to use. */
  format: "resend" | "postmark" | "sendgrid";
  fetch?: typeof fetch;
}

interface ProviderRequest {
  headers: Record<string, string>;
  body: unknown;
}

type Format = (from: { text: string; mailbox: Mailbox }, message: MailMessage, apiKey: string) => ProviderRequest;

const FORMATS: Record<HttpApiOptions["format"], Format> = {
  resend: (from, message, apiKey) => ({
    headers: { authorization: `Bearer ${apiKey}` },
    body: { from: from.text, to: [message.to], subject: message.subject, text: message.text, html: message.html },
  }),
  postmark: (from, message, apiKey) => ({
    headers: { "x-postmark-server-token": apiKey, accept: "application/json" },
    body: { From: from.text, To: message.to, Subject: message.subject, TextBody: message.text, HtmlBody: message.html },
  }),
  sendgrid: (from, message, apiKey) => ({
    headers: { authorization: `Bearer ${apiKey}` },
    body: {
      personalizations: [{ to: [{ email: message.to }] }],
      from: from.mailbox.name === undefined ? { email: from.mailbox.address } : { email: from.mailbox.address, name: from.mailbox.name },
      subject: message.subject,
      // SendGrid requires text/plain before text/html.
      content: [
        { type: "text/plain", value: message.text },
        { type: "text/html", value: message.html },
      ],
    },
  }),
};

/**
 * A {@link Mailer} that POSTs each message as JSON to a mail provider's API.
 * A non-2xx answer throws an error that carries the status only: providers'
 * error bodies can echo the message, and with it the links and codes it carries.
 *
 * @example
 * const mailer = createHttpApiMailer({ url: "https://api.resend.com/emails", apiKey: env.MAIL_API_KEY,
 *   from: "edgeauth <no-reply@example.com>", format: "resend" });
 */
export function createHttpApiMailer(options: HttpApiOptions): Mailer {
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const from = { text: options.from.trim(), mailbox: parseMailbox(options.from) };
  const format = FORMATS[options.format];
  return {
    async send(message) {
      const request = format(from, message, options.apiKey);
      const response = await send(options.url, {
        method: "POST",
        headers: { ...request.headers, "content-type": "application/json" },
        body: JSON.stringify(request.body),
      });
      // Unread bodies hold the connection open in workerd until collected.
      await response.body?.cancel();
      if (!response.ok) throw new Error(`mail API answered ${response.status}`);
    },
  };
}
