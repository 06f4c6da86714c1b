/**
 * Queries of the TOTP second factor: the user's TOTP columns and the redemption
 * of `mfaTotp` tickets.
 */
import { and, eq, gt, isNull, lt, or, sql } from "drizzle-orm";
import { insertRefreshTokenIfStatement, type NewRefreshToken } from "./refresh-tokens";
import { tickets, users } from "./schema";
import type { Database } from "./users";

/** A secret not yet proven by a code: pending until activation; a new one replaces it. */
export async function storePendingTotpSecret(
  db: Database,
  realm: string,
  userId: string,
  totpSecretEncrypted: string,
  now: number,
): Promise<void> {
  await db
    .update(users)
    .set({ totpSecretEncrypted, totpLastStep: null, updatedAt: now })
    .where(and(eq(users.realm, realm), eq(users.id, userId)));
}

/** What a code may change in the same write that spends it: activating or deactivating TOTP. */
export interface TotpStateChange {
  activeMfaType?: "totp" | null;
  totpSecretEncrypted?: null;
  updatedAt?: number;
}

/** True in SQL while the code's time step is newer than the last one accepted. */
function stepUnused(step: number) {
  return or(isNull(users.totpLastStep), lt(users.totpLastStep, step));
}

/**
 * Records `step` as the user's last accepted time step with `alsoSet`, only if
 * no step at or after it was accepted (RFC 6238 §5.2): exactly one of two
 * concurrent submissions of one code gets through. False when it was refused.
 */
export async function recordTotpStep(
  db: Database,
  realm: string,
  userId: string,
  step: number,
  alsoSet: TotpStateChange = {},
): Promise<boolean> {
  const recorded = await db
    .update(users)
    .set({ ...alsoSet, totpLastStep: step })
    .where(and(eq(users.realm, realm), eq(users.id, userId), stepUnused(step)))
    .returning({ id: users.id });
  return recorded.length > 0;
}

/**
 * One batch, one transaction: redeems the `mfaTotp` ticket (only while the
 * code's step is unused), spends the step, creates the session. The nonce ties
 * the later statements to this request's redemption, so a concurrent replay of
 * the code or of the ticket writes nothing. False when it was refused.
 */
export async function redeemMfaTicketWithTotp(
  db: Database,
  realm: string,
  { ticketHash, userId, step, now, session }: { ticketHash: string; userId: string; step: number; now: number; session: NewRefreshToken },
): Promise<boolean> {
  const nonce = crypto.randomUUID();
  const owner = and(eq(users.realm, realm), eq(users.id, userId));
  const redeemedHere = sql`EXISTS (SELECT 1 FROM ${tickets} WHERE ${tickets.ticketHash} = ${ticketHash} AND ${tickets.redeemedBy} = ${nonce})`;
  const [redeemed] = await db.batch([
    db
      .update(tickets)
      .set({ usedAt: now, redeemedBy: nonce })
      .where(
        and(
          eq(tickets.ticketHash, ticketHash),
          eq(tickets.purpose, "mfaTotp"),
          isNull(tickets.usedAt),
          gt(tickets.expiresAt, now),
          sql`EXISTS (SELECT 1 FROM ${users} WHERE ${and(owner, stepUnused(step))})`,
        ),
      ),
    db.update(users).set({ totpLastStep: step }).where(and(owner, stepUnused(step), redeemedHere)),
    insertRefreshTokenIfStatement(db, session, redeemedHere),
  ]);
  return redeemed.meta.changes > 0;
}
