/** Queries of the realm aggregate. */
import { eq } from "drizzle-orm";
import { realms } from "./schema";
import type { Database } from "./users";

/** Whether a realm with this id exists. */
export async function realmExists(db: Database, id: string): Promise<boolean> {
  const rows = await db.select({ id: realms.id }).from(realms).where(eq(realms.id, id)).limit(1);
  return rows.length > 0;
}
