/**
 * The address owner wins (the "pre-hijacked account" attacks): someone may sign
 * up with an address that is not theirs, set a password, add a passkey or TOTP,
 * and keep a session, waiting for the owner to arrive. The first proof of
 * possession of the address (a followed link, an entered code) is the owner
 * arriving, so everything set up before it by whoever held the account goes:
 *
 * - every session and personal access token (the proof's own answer starts a
 *   fresh session for the owner), and every outstanding link ticket;
 * - TOTP;
 * - the password and passkeys, except those the account's sign-up set when the
 *   proof is a verification link: confirming the address confirms the account
 *   as it was signed up, not what was changed on it afterwards.
 *
 * The statements run in the proof's batch, before the one that marks the address
 * verified, and each holds only while the address is still unverified, so of two
 * concurrent proofs only the first clears anything.
 */
import { and, eq, gt, isNull, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { personalAccessTokens, refreshTokens, users, webauthnCredentials } from "./schema";
import { revokeLinkTicketsStatement } from "./tickets";
import type { Database, UserWithRoles } from "./users";

export type ProvenAddress = "email" | "phoneNumber";

/** Whether this proof is the first for the address: nothing set up before it is trusted yet. */
export function isFirstProof(user: UserWithRoles, address: ProvenAddress): boolean {
  return address === "email" ? !user.emailVerified : !user.phoneNumberVerified;
}

/**
 * The clean-up of a first proof; empty when the address was already proven.
 * `keepsSignUpCredentials`: the proof is a verification link.
 */
export function firstProofStatements(
  db: Database,
  user: UserWithRoles,
  address: ProvenAddress,
  { keepsSignUpCredentials, now }: { keepsSignUpCredentials: boolean; now: number },
): BatchItem<"sqlite">[] {
  if (!isFirstProof(user, address)) return [];
  const { realm, id } = user;
  const verifiedColumn = address === "email" ? users.emailVerified : users.phoneNumberVerified;
  const stillUnproven: SQL = sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.realm} = ${realm} AND ${users.id} = ${id} AND ${verifiedColumn} = 0)`;
  const owned = and(eq(users.realm, realm), eq(users.id, id));

  const statements: BatchItem<"sqlite">[] = [
    db
      .update(refreshTokens)
      .set({ revokedAt: now })
      .where(and(eq(refreshTokens.realm, realm), eq(refreshTokens.userId, id), isNull(refreshTokens.revokedAt), stillUnproven)),
    db
      .update(personalAccessTokens)
      .set({ revokedAt: now })
      .where(
        and(eq(personalAccessTokens.realm, realm), eq(personalAccessTokens.userId, id), isNull(personalAccessTokens.revokedAt), stillUnproven),
      ),
    db
      .update(users)
      .set({
        activeMfaType: null,
        totpSecretEncrypted: null,
        totpLastStep: null,
        // A password the sign-up set survives a verification link; any other goes.
        ...(keepsSignUpCredentials
          ? { passwordHash: sql`CASE WHEN ${users.passwordChangedAt} IS NULL THEN ${users.passwordHash} ELSE NULL END` }
          : { passwordHash: null }),
        updatedAt: now,
      })
      .where(and(owned, stillUnproven)),
    db
      .delete(webauthnCredentials)
      .where(
        and(
          eq(webauthnCredentials.realm, realm),
          eq(webauthnCredentials.userId, id),
          // A passkey registered by the sign-up carries the account's creation time.
          keepsSignUpCredentials ? gt(webauthnCredentials.createdAt, user.createdAt) : undefined,
          stillUnproven,
        ),
      ),
  ];
  // Link tickets have no proof-dependent guard of their own: on a first proof they
  // all go (the one being redeemed is already used).
  const tickets = revokeLinkTicketsStatement(db, realm, id, now);
  return [...statements, tickets];
}

/** The user as the proof leaves it, for deciding what it earns (TOTP no longer asked, say). */
export function afterFirstProof(user: UserWithRoles, address: ProvenAddress): UserWithRoles {
  if (!isFirstProof(user, address)) return user;
  return { ...user, activeMfaType: null, totpSecretEncrypted: null, totpLastStep: null };
}
