/**
 * Queries of social sign-in: provider identities (provider + subject → user),
 * the round trips in flight (`oauth_states`), and the provider tokens kept until
 * their one hand-out.
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import { oauthStates, providerIdentities, providerSessions } from "./schema";
import type { Database } from "./users";

export interface ProviderIdentity {
  id: string;
  userId: string;
}

export async function findProviderIdentity(db: Database, realm: string, provider: string, providerUserId: string): Promise<ProviderIdentity | null> {
  const rows = await db
    .select({ id: providerIdentities.id, userId: providerIdentities.userId })
    .from(providerIdentities)
    .where(and(eq(providerIdentities.realm, realm), eq(providerIdentities.provider, provider), eq(providerIdentities.providerUserId, providerUserId)))
    .limit(1);
  return rows[0] ?? null;
}

/** Links an identity to a user; the unique index refuses a second link of the same identity in the realm. */
export function insertProviderIdentityStatement(
  db: Database,
  identity: { realm: string; userId: string; provider: string; providerUserId: string; email: string | null; now: number },
) {
  const { now, ...columns } = identity;
  return db.insert(providerIdentities).values({ id: crypto.randomUUID(), ...columns, createdAt: now, updatedAt: now });
}

export interface NewOAuthState {
  stateHash: string;
  realm: string;
  provider: string;
  browserHash: string;
  payload: string;
  createdAt: number;
  expiresAt: number;
}

export function insertOAuthState(db: Database, state: NewOAuthState) {
  return db.insert(oauthStates).values(state);
}

/**
 * Uses the round trip's state, once: the conditional update succeeds for one of
 * two concurrent callbacks, only before expiry. Null when nothing matched.
 */
export async function consumeOAuthState(
  db: Database,
  realm: string,
  stateHash: string,
  now: number,
): Promise<{ provider: string; browserHash: string; payload: string } | null> {
  const used = await db
    .update(oauthStates)
    .set({ usedAt: now })
    .where(and(eq(oauthStates.stateHash, stateHash), eq(oauthStates.realm, realm), isNull(oauthStates.usedAt), gt(oauthStates.expiresAt, now)))
    .returning({ provider: oauthStates.provider, browserHash: oauthStates.browserHash, payload: oauthStates.payload });
  return used[0] ?? null;
}

/** Keeps the provider's tokens of the latest sign-in (replacing earlier ones) until they are fetched. */
export function saveProviderSessionStatement(db: Database, session: { realm: string; userId: string; provider: string; tokensEncrypted: string; now: number }) {
  const { now, ...columns } = session;
  return db
    .insert(providerSessions)
    .values({ ...columns, createdAt: now })
    .onConflictDoUpdate({ target: [providerSessions.userId, providerSessions.provider], set: { tokensEncrypted: columns.tokensEncrypted, createdAt: now } });
}

/** Takes the stored provider tokens out (the spec: handed out once, then gone). Null when there are none. */
export async function takeProviderSession(db: Database, realm: string, userId: string, provider: string): Promise<string | null> {
  const taken = await db
    .delete(providerSessions)
    .where(and(eq(providerSessions.realm, realm), eq(providerSessions.userId, userId), eq(providerSessions.provider, provider)))
    .returning({ tokensEncrypted: providerSessions.tokensEncrypted });
  return taken[0]?.tokensEncrypted ?? null;
}
