/** Queries of the realm aggregate. */
import { and, eq, isNull } from "drizzle-orm";
import { realms } from "./schema";
import type { Database } from "./users";

/** Whether a realm with this id exists and is not deleted. */
export async function realmExists(db: Database, id: string): Promise<boolean> {
  const rows = await db.select({ id: realms.id }).from(realms).where(and(eq(realms.id, id), isNull(realms.deletedAt))).limit(1);
  return rows.length > 0;
}
