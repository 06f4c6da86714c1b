/** Recognising a write refused by a UNIQUE index or primary key. */

// SQLite (and so D1) names the columns of the index that refused the row:
// "UNIQUE constraint failed: users.realm, users.email". The text is all a driver
// error carries; there is no code to match on.
const UNIQUE_FAILURE = /UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)/;

/**
 * Whether `error` is a write refused by a unique index, and, when `column` is
 * given (`table.column`, as SQLite names it), whether that column is one of the
 * index's. Used to turn a lost race (two sign-ups with one address) into its
 * error code rather than a 500.
 *
 * @example
 * if (isUniqueViolation(error, "webauthn_credentials.id")) throw new AuthError("invalid-request", "...");
 */
export function isUniqueViolation(error: unknown, column?: string): boolean {
  const message = error instanceof Error ? error.message : String(error);
  const failed = UNIQUE_FAILURE.exec(message);
  if (failed === null) return false;
  return column === undefined || failed[1]!.split(", ").includes(column);
}
