/**
 * Removing a deleted realm (README, "Realms"). `DELETE /admin/realms/{realm}` only
 * marks the realm: its routes answer 404 at once. Its rows, its keys and finally
 * its `realms` row are removed here, in bounded chunks, started in `waitUntil`
 * after the delete and again by the deletion Cron Trigger: a run cut short (a
 * Worker's time limit, an isolate recycled, its statement budget spent) leaves the
 * realm marked, and the next run resumes where it stopped. A run walks every
 * deleted realm, oldest first, until its budget is spent, so any number of them
 * finish; a realm that fails is skipped, not retried in a loop. Every step is
 * idempotent, so two runs at once do no harm.
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
import { ADMIN_API_KEYS_OF_REALM, deleteDeletedRealmRow, deleteRealmReference, deleteRealmRowsChunk, deletedRealmsAfter, REALM_OWNED_TABLES } from "../db/realms";
import type { Database } from "../db/users";
import { realmKeys } from "../keys/realm-keys";
import { configForRealm, REALM_CACHE_SECONDS } from "../realm";

/** The frequent Cron Trigger in wrangler.toml, which only continues realm deletions. */
export const REALM_DELETION_CRON = "*/10 * * * *";

export const REALM_DELETION_CHUNK_ROWS = 500;
/**
 * D1 statements one run may spend on chunks: 400 × 500 = 200,000 rows. Below the
 * 1,000 queries a Worker invocation may make on the paid plan; on the free plan
 * (50) the run's later statements fail, are logged, and the next run goes on.
 */
export const REALM_DELETION_MAX_STATEMENTS_PER_RUN = 400;
/** Deleted realms read per page while walking them. */
const DELETED_REALMS_PAGE_SIZE = 50;

export interface RealmDeletionOptions {
  now: number;
  chunkRows: number;
  /** Chunk statements this run may spend, over all realms. */
  maxStatements: number;
}

export interface RealmDeletionProgress {
  /** Realms removed for good in this run. */
  finished: string[];
  /** Realms with rows left, or deleted too recently to remove their keys and row: for the next run. */
  pending: string[];
  /** Whether the run stopped on its statement budget, leaving realms it did not reach for the next run. */
  budgetSpent: boolean;
  /** Rows deleted, by table. */
  rows: Record<string, number>;
}

/**
 * Continues removing the realms marked deleted, within the budget; `now` is
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
  const { now = Date.now(), chunkRows = REALM_DELETION_CHUNK_ROWS, maxStatements = REALM_DELETION_MAX_STATEMENTS_PER_RUN } = options;
  const progress: RealmDeletionProgress = { finished: [], pending: [], budgetSpent: false, rows: {} };
  const budget = { statements: maxStatements };
  const deployment = configFor(env);
  let after: { deletedAt: number; id: string } | null = null;
  for (;;) {
    const page = await deletedRealmsAfter(deploymentDb, after, DELETED_REALMS_PAGE_SIZE);
    for (const { id: realm, deletedAt, settings } of page) {
      if (budget.statements <= 0) {
        progress.budgetSpent = true;
        return progress;
      }
      try {
        // Its rows are where its settings put them (`DATABASE`); the realm row is in the deployment's.
        const realmRef = { id: realm, issuer: `${deployment.publicUrl}/realms/${realm}`, overrides: settings };
        const config = configForRealm(env, deployment, realmRef);
        const db = databaseOf(env, config, deploymentDb);
        const emptied =
          (await deleteRowsOf(deploymentDb, realm, [ADMIN_API_KEYS_OF_REALM], chunkRows, budget, progress.rows)) &&
          (await deleteRowsOf(db, realm, REALM_OWNED_TABLES, chunkRows, budget, progress.rows));
        if (!emptied || deletedAt > now - REALM_CACHE_SECONDS * 1000) {
          progress.pending.push(realm);
          if (!emptied) progress.budgetSpent = true;
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
    if (page.length < DELETED_REALMS_PAGE_SIZE) return progress;
    const last = page[page.length - 1]!;
    after = { deletedAt: last.deletedAt, id: last.id };
  }
}

/**
 * Whether every row of `realm` in `targets` is gone; adds what went to `rows`.
 * Each chunk spends one statement of `budget`; an empty budget stops it.
 */
async function deleteRowsOf(
  db: Database,
  realm: string,
  targets: typeof REALM_OWNED_TABLES,
  chunkRows: number,
  budget: { statements: number },
  rows: Record<string, number>,
): Promise<boolean> {
  for (const target of targets) {
    let tableEmptied = false;
    while (!tableEmptied && budget.statements > 0) {
      budget.statements -= 1;
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
