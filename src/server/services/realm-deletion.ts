/**
 * Removing a deleted realm (README, "Realms"). `DELETE /admin/realms/{realm}` only
 * marks the realm: its routes answer 404 at once. Its rows, its keys and finally
 * its `realms` row are removed here, in bounded chunks, started in `waitUntil`
 * after the delete and again by the daily purge: a run cut short (a Worker's time
 * limit, an isolate recycled) leaves the realm marked, and the next run resumes
 * where it stopped. Every step is idempotent, so two runs at once do no harm.
 *
 * Other isolates trust their cached "the realm exists" for up to
 * REALM_CACHE_SECONDS after the delete, and may sign a user in meanwhile. So the
 * keys and the `realms` row go only once that bound has passed (by the daily run,
 * when the delete's own run came earlier): a key leased late would otherwise make
 * the KeyStore a fresh ring nobody wipes, and a user added late would hold the
 * row (its `realm` references it) until the rows are swept again.
 */
import { configFor } from "../config";
import { databaseOf } from "../context";
import { ADMIN_API_KEYS_OF_REALM, deleteDeletedRealmRow, deleteRealmReference, deleteRealmRowsChunk, deletedRealms, REALM_OWNED_TABLES } from "../db/realms";
import type { Database } from "../db/users";
import { realmKeys } from "../keys/realm-keys";
import { configForRealm, REALM_CACHE_SECONDS } from "../realm";

export const REALM_DELETION_CHUNK_ROWS = 500;
/** Per table per run: 50,000 rows; a bigger realm takes more runs. */
const REALM_DELETION_MAX_CHUNKS_PER_TABLE = 100;
/** Deleted realms handled per run, oldest first. */
const REALM_DELETION_MAX_REALMS = 10;

export interface RealmDeletionOptions {
  now: number;
  chunkRows: number;
  maxChunksPerTable: number;
}

export interface RealmDeletionProgress {
  /** Realms removed for good in this run. */
  finished: string[];
  /** Realms with rows left, or deleted too recently to remove their keys and row: for the next run. */
  pending: string[];
  /** Rows deleted, by table. */
  rows: Record<string, number>;
}

/**
 * Continues removing the realms marked deleted, within the chunk bounds; `now` is
 * injectable for tests. A realm that fails is logged and left for the next run;
 * the others go on.
 *
 * @example
 * context.waitUntil(continueRealmDeletions(env, db));
 */
export async function continueRealmDeletions(
  env: Env,
  /** The deployment's database (`DB`), holding the `realms` table. */
  deploymentDb: Database,
  options: Partial<RealmDeletionOptions> = {},
): Promise<RealmDeletionProgress> {
  const {
    now = Date.now(),
    chunkRows = REALM_DELETION_CHUNK_ROWS,
    maxChunksPerTable = REALM_DELETION_MAX_CHUNKS_PER_TABLE,
  } = options;
  const progress: RealmDeletionProgress = { finished: [], pending: [], rows: {} };
  for (const { id: realm, deletedAt, settings } of await deletedRealms(deploymentDb, REALM_DELETION_MAX_REALMS)) {
    try {
      // Its rows are where its settings put them (`DATABASE`); the realm row is in the deployment's.
      const deployment = configFor(env);
      const realmRef = { id: realm, issuer: `${deployment.publicUrl}/realms/${realm}`, overrides: settings };
      const config = configForRealm(env, deployment, realmRef);
      const db = databaseOf(env, config, deploymentDb);
      const emptied =
        (await deleteRowsOf(deploymentDb, realm, [ADMIN_API_KEYS_OF_REALM], chunkRows, maxChunksPerTable, progress.rows)) &&
        (await deleteRowsOf(db, realm, REALM_OWNED_TABLES, chunkRows, maxChunksPerTable, progress.rows));
      if (!emptied || deletedAt > now - REALM_CACHE_SECONDS * 1000) {
        progress.pending.push(realm);
        continue;
      }
      // Keys before the row: while the row stays marked, a later run retries the wipe.
      await realmKeys({ env, config, realm: realmRef }).deleteAll();
      if (db !== deploymentDb) await deleteRealmReference(db, realm);
      await deleteDeletedRealmRow(deploymentDb, realm);
      progress.finished.push(realm);
    } catch (error) {
      console.error(`realm deletion: realm ${realm}: ${error instanceof Error ? error.message : "unknown error"}`);
      progress.pending.push(realm);
    }
  }
  return progress;
}

/** Whether every row of `realm` in `targets` is gone, within the bounds; adds what went to `rows`. */
async function deleteRowsOf(
  db: Database,
  realm: string,
  targets: typeof REALM_OWNED_TABLES,
  chunkRows: number,
  maxChunksPerTable: number,
  rows: Record<string, number>,
): Promise<boolean> {
  for (const target of targets) {
    let tableEmptied = false;
    for (let chunk = 0; chunk < maxChunksPerTable && !tableEmptied; chunk++) {
      const deleted = await deleteRealmRowsChunk(db, realm, target, chunkRows);
      rows[target.name] = (rows[target.name] ?? 0) + deleted;
      tableEmptied = deleted < chunkRows;
    }
    // Users go last and their rows first: stop at a table left unfinished.
    if (!tableEmptied) return false;
  }
  return true;
}

/** `continueRealmDeletions` for `waitUntil`: logs the outcome, never throws. */
export function continueRealmDeletionsLogged(env: Env, deploymentDb: Database): Promise<void> {
  return continueRealmDeletions(env, deploymentDb).then(
    (progress) => {
      if (progress.finished.length + progress.pending.length > 0) console.log(`realm deletion: ${JSON.stringify(progress)}`);
    },
    (error: unknown) => console.error(`realm deletion failed: ${error instanceof Error ? error.message : "unknown error"}`),
  );
}
