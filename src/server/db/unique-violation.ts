/** Recognising a write refused by a UNIQUE index or primary key. */

// SQLite (and so D1) names the columns of the index that refused the row,
// "UNIQUE constraint failed: users.realm, users.phone_number", or, for an index
// on an expression, the index: "UNIQUE constraint failed: index 'users_realm_email_lower_unique'".
// The text is all a driver error carries; there is no code to match on.
const UNIQUE_FAILURE = /UNIQUE constraint failed: (?:index '(\w+)'|([\w.]+(?:, [\w.]+)*))/;

/**
 * Whether `error` is a write refused by a unique index, and, when `target` is
 * given, whether that index refused it: `target` is a column (`table.column`, as
 * SQLite names it) of the index, or the name of an index on an expression. Used to turn a lost race (two sign-ups with one address) into its
 * error code rather than a 500.
 *
 * @example
 * if (isUniqueViolation(error, "webauthn_credentials.id")) throw new AuthError("invalid-request", "...");
 */
export function isUniqueViolation(error: unknown, target?: string): boolean {
  const message = error instanceof Error ? error.message : String(error);
  const failed = UNIQUE_FAILURE.exec(message);
  if (failed === null) return false;
  if (target === undefined) return true;
  const [, indexName, columns] = failed;
  return indexName !== undefined ? indexName === target : columns!.split(", ").includes(target);
}

/** The index that keeps one account per address and realm, whatever the case (see db/schema.ts). */
export const USER_EMAIL_UNIQUE_INDEX = "users_realm_email_lower_unique";
