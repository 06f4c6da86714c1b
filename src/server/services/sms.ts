/**
 * Outbound SMS behind one method, like mail: a `dev` outbox (listed beside the
 * mails at `/_dev/outbox` in development) and an HTTP provider transport in the
 * style of the common SMS APIs (Twilio's Messages resource: a form POST with
 * basic auth; other providers expose compatible endpoints).
 */
import type { RequestContext } from "../context";
import { insertOutboxMessage } from "../db/dev-outbox";

export interface SmsMessage {
  to: string;
  body: string;
}

export interface SmsSender {
  send(message: SmsMessage): Promise<void>;
}

export interface TwilioStyleOptions {
  /** Base URL of the API, e.g. `https://api.twilio.com`. */
  apiUrl: string;
  accountSid: string;
  authToken: string;
  /** Sender number (E.164) or messaging service id (`MG...`). */
  from: string;
  fetch?: typeof fetch;
}

export function createTwilioStyleSender(options: TwilioStyleOptions): SmsSender {
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const endpoint = `${options.apiUrl.replace(/\/+$/, "")}/2010-04-01/Accounts/${encodeURIComponent(options.accountSid)}/Messages.json`;
  const authorization = `Basic ${btoa(`${options.accountSid}:${options.authToken}`)}`;
  return {
    async send(message) {
      const form = new URLSearchParams({ To: message.to, Body: message.body });
      form.set(options.from.startsWith("MG") ? "MessagingServiceSid" : "From", options.from);
      const response = await send(endpoint, {
        method: "POST",
        headers: { authorization, "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
      });
      // The status only: a provider's error body may echo the message (and its code).
      if (!response.ok) throw new Error(`SMS provider answered ${response.status}`);
    },
  };
}

export function smsSenderFor(context: RequestContext): SmsSender {
  const { config, db, realm } = context;
  const sms = config.sms;
  if (sms.transport === "dev") {
    return {
      async send(message) {
        await insertOutboxMessage(db, realm.id, { channel: "sms", recipient: message.to, subject: "SMS", text: message.body, html: "" });
      },
    };
  }
  if (sms.transport === "twilio" && sms.twilio !== null) return createTwilioStyleSender({ ...sms.twilio, from: sms.from });
  return {
    async send() {
      console.warn("SMS not sent: no SMS_TRANSPORT is configured");
    },
  };
}
