/** The `dev` transport: mails are kept in D1 and browsed at `/_dev/outbox` and `/_dev/mail`. */
import { desc, eq } from "drizzle-orm";
import type { Database } from "../../db/users";
import { devOutbox } from "../../db/schema";
import type { Mailer } from "../mailer";

/** How many mails the outbox keeps per realm; older ones are dropped. */
const OUTBOX_LIMIT = 200;

export function createDevOutboxMailer(db: Database, realm: string): Mailer {
  return {
    async send(message) {
      await db.insert(devOutbox).values({
        id: crypto.randomUUID(),
        realm,
        recipient: message.to,
        subject: message.subject,
        text: message.text,
        html: message.html,
        createdAt: Date.now(),
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
  const rows = await db
    .select()
    .from(devOutbox)
    .where(eq(devOutbox.realm, realm))
    .orderBy(desc(devOutbox.createdAt), desc(devOutbox.id))
    .limit(OUTBOX_LIMIT);
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
