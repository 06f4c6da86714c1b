/** The `dev` transport: mails are kept in D1 and browsed at `/_dev/outbox` and `/_dev/mail`. */
import { insertOutboxMessage, listOutboxMessages } from "../../db/dev-outbox";
import type { Database } from "../../db/users";
import type { Mailer } from "../mailer";

/** How many mails the outbox keeps per realm; older ones are dropped. */
const OUTBOX_LIMIT = 200;

export function createDevOutboxMailer(db: Database, realm: string): Mailer {
  return {
    async send(message) {
      await insertOutboxMessage(db, realm, {
        channel: "email",
        recipient: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
      });
    },
  };
}

export interface OutboxMail {
  id: string;
  /** `email` or `sms`: text messages are kept beside the mails. */
  channel: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Every http(s) link in the text body, in order. */
  links: string[];
  createdAt: string;
}

/** Newest first. */
export async function listOutbox(db: Database, realm: string): Promise<OutboxMail[]> {
  const rows = await listOutboxMessages(db, realm, OUTBOX_LIMIT);
  return rows.map((row) => ({
    id: row.id,
    channel: row.channel,
    to: row.recipient,
    subject: row.subject,
    text: row.text,
    html: row.html,
    links: row.text.match(/https?:\/\/[^\s"<>]+/g) ?? [],
    createdAt: new Date(row.createdAt).toISOString(),
  }));
}
