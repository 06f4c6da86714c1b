/** Queries of the realm aggregate. */
import { and, eq, isNull } from "drizzle-orm";
import { realms } from "./schema";
import type { Database } from "./users";

/** Whether a realm with this id exists and is not deleted. */
export async function realmExists(db: Database, id: string): Promise<boolean> {
  const rows = await db.select({ id: realms.id }).from(realms).where(and(eq(realms.id, id), isNull(realms.deletedAt))).limit(1);
  return rows.length > 0;
}

/** A live realm's settings overrides (JSON object text), or null when it does not exist or is deleted. */
export async function findRealmSettings(db: Database, id: string): Promise<string | null> {
  const rows = await db
    .select({ settings: realms.settings })
    .from(realms)
    .where(and(eq(realms.id, id), isNull(realms.deletedAt)))
    .limit(1);
  return rows[0]?.settings ?? null;
}
