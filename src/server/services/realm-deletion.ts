/**
 * Removing a deleted realm (README, "Realms"). `DELETE /admin/realms/{realm}` only
 * marks the realm: its routes answer 404 at once. Its rows, its keys and finally
 * its `realms` row are removed here, in bounded chunks, started in `waitUntil`
 * after the delete and again by the daily purge: a run cut short (a Worker's time
 * limit, an isolate recycled) leaves the realm marked, and the next run resumes
 * where it stopped. Every step is idempotent, so two runs at once do no harm.
 */
import { configFor } from "../config";
import { deleteDeletedRealmRow, deleteDeletedRealmRows, deletedRealmIds, REALM_OWNED_TABLES } from "../db/realms";
import type { Database } from "../db/users";
import { realmKeys } from "../keys/realm-keys";

export const REALM_DELETION_CHUNK_ROWS = 500;
/** Per table per run: 50,000 rows; a bigger realm takes more runs. */
const REALM_DELETION_MAX_CHUNKS_PER_TABLE = 100;
/** Deleted realms handled per run, oldest first. */
const REALM_DELETION_MAX_REALMS = 10;

export interface RealmDeletionLimits {
  chunkRows: number;
  maxChunksPerTable: number;
}

export interface RealmDeletionProgress {
  /** Realms removed for good in this run. */
  finished: string[];
  /** Realms with rows left for the next run. */
  pending: string[];
  /** Rows deleted, by table. */
  rows: Record<string, number>;
}

/**
 * Continues removing every realm marked deleted, within `limits`.
 *
 * @example
 * context.waitUntil(continueRealmDeletions(env, db));
 */
export async function continueRealmDeletions(
  env: Env,
  db: Database,
  limits: RealmDeletionLimits = { chunkRows: REALM_DELETION_CHUNK_ROWS, maxChunksPerTable: REALM_DELETION_MAX_CHUNKS_PER_TABLE },
): Promise<RealmDeletionProgress> {
  const progress: RealmDeletionProgress = { finished: [], pending: [], rows: {} };
  for (const realm of await deletedRealmIds(db, REALM_DELETION_MAX_REALMS)) {
    let emptied = true;
    for (const { name, table } of REALM_OWNED_TABLES) {
      let tableEmptied = false;
      for (let chunk = 0; chunk < limits.maxChunksPerTable; chunk++) {
        const deleted = await deleteDeletedRealmRows(db, realm, table, limits.chunkRows);
        progress.rows[name] = (progress.rows[name] ?? 0) + deleted;
        if (deleted < limits.chunkRows) {
          tableEmptied = true;
          break;
        }
      }
      // Users go last and their rows first: stop at a table left unfinished.
      if (!tableEmptied) {
        emptied = false;
        break;
      }
    }
    if (!emptied) {
      progress.pending.push(realm);
      continue;
    }
    // Keys before the row: while the row stays marked, a later run retries the wipe.
    const config = configFor(env);
    await realmKeys({ env, config, realm: { id: realm, issuer: `${config.publicUrl}/realms/${realm}` } }).deleteAll();
    await deleteDeletedRealmRow(db, realm);
    progress.finished.push(realm);
  }
  return progress;
}

/** `continueRealmDeletions` for `waitUntil`: logs the outcome, never throws. */
export function continueRealmDeletionsLogged(env: Env, db: Database): Promise<void> {
  return continueRealmDeletions(env, db).then(
    (progress) => {
      if (progress.finished.length + progress.pending.length > 0) console.log(`realm deletion: ${JSON.stringify(progress)}`);
    },
    (error: unknown) => console.error(`realm deletion failed: ${error instanceof Error ? error.message : "unknown error"}`),
  );
}
