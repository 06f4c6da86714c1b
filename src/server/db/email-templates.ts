/** Queries of the operators' mail template overrides. */
import { and, eq, inArray } from "drizzle-orm";
import { emailTemplates } from "./schema";
import type { Database } from "./users";

export type EmailTemplateRow = typeof emailTemplates.$inferSelect;

/** The realm's overrides of one kind of mail in any of `locales`, in no particular order. */
export function findTemplateOverrides(db: Database, realm: string, kind: string, locales: string[]): Promise<EmailTemplateRow[]> {
  return db
    .select()
    .from(emailTemplates)
    .where(and(eq(emailTemplates.realm, realm), eq(emailTemplates.kind, kind), inArray(emailTemplates.locale, locales)));
}
