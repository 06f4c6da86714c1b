/** Queries of the dev outbox: mails and text messages kept by the `dev` transports. */
import { desc, eq } from "drizzle-orm";
import { devOutbox } from "./schema";
import type { Database } from "./users";

export type DevOutboxRow = typeof devOutbox.$inferSelect;

/** A message as a `dev` transport keeps it; `channel` is `email` or `sms`. */
export interface OutboxMessage {
  channel: "email" | "sms";
  recipient: string;
  subject: string;
  text: string;
  html: string;
}

export async function insertOutboxMessage(db: Database, realm: string, message: OutboxMessage): Promise<void> {
  await db.insert(devOutbox).values({ id: crypto.randomUUID(), realm, ...message, createdAt: Date.now() });
}

/** The realm's newest `limit` messages, newest first. */
export function listOutboxMessages(db: Database, realm: string, limit: number): Promise<DevOutboxRow[]> {
  return db
    .select()
    .from(devOutbox)
    .where(eq(devOutbox.realm, realm))
    .orderBy(desc(devOutbox.createdAt), desc(devOutbox.id))
    .limit(limit);
}
