/** Queries of single-use tickets (tokens/tickets.ts makes and redeems them). */
import { and, eq, gt, inArray, isNull } from "drizzle-orm";
import { tickets } from "./schema";
import type { Database } from "./users";

/** The purposes `GET /verify` redeems, as they prefix a ticket. */
export const LINK_TICKET_PURPOSES = ["verifyEmail", "passwordReset", "signinPasswordless", "emailConfirmChange"] as const;
export type LinkTicketPurpose = (typeof LINK_TICKET_PURPOSES)[number];

/** PKCE authorization codes (tokens/authorization-code.ts): a session waiting for `/token/exchange`. */
export const AUTHORIZATION_CODE_PURPOSE = "authorizationCode";

/**
 * Ends the user's outstanding link tickets of the given purposes (all link
 * purposes and the PKCE authorization codes by default), as if used: after a password change or reset, a
 * sign-out everywhere, an email change or the first proof of an address, a link
 * mailed before it must not undo it (an email-change link an intruder asked for
 * would otherwise move the account away after the owner took it back).
 */
export function revokeLinkTicketsStatement(
  db: Database,
  realm: string,
  userId: string,
  now: number,
  purposes: readonly (LinkTicketPurpose | typeof AUTHORIZATION_CODE_PURPOSE)[] = [...LINK_TICKET_PURPOSES, AUTHORIZATION_CODE_PURPOSE],
) {
  return db
    .update(tickets)
    .set({ usedAt: now })
    .where(
      and(
        eq(tickets.realm, realm),
        eq(tickets.userId, userId),
        inArray(tickets.purpose, [...purposes]),
        isNull(tickets.usedAt),
        gt(tickets.expiresAt, now),
      ),
    );
}

export interface NewTicket {
  ticketHash: string;
  realm: string;
  userId: string;
  purpose: string;
  payload: string | null;
  redirectTo: string | null;
  /** The PKCE challenge the ticket's redirect is bound to (an authorization code's, or a link's). */
  codeChallenge?: string | null;
  createdAt: number;
  expiresAt: number;
}

export function insertTicketStatement(db: Database, ticket: NewTicket) {
  return db.insert(tickets).values(ticket);
}

/**
 * A ticket whose hash the server derives (one per user and purpose, such as a
 * pending SMS deanonymization): a new one replaces the old, live again.
 */
export function replaceTicketStatement(db: Database, ticket: NewTicket) {
  const { ticketHash, realm, userId, ...rest } = ticket;
  return db
    .insert(tickets)
    .values(ticket)
    .onConflictDoUpdate({ target: tickets.ticketHash, set: { ...rest, usedAt: null, redeemedBy: null } });
}

/** The ticket, while unused and unexpired, of `purpose`. */
function liveTicket(realm: string, { ticketHash, purpose, now }: { ticketHash: string; purpose: string; now: number }) {
  return and(
    eq(tickets.ticketHash, ticketHash),
    eq(tickets.realm, realm),
    eq(tickets.purpose, purpose),
    isNull(tickets.usedAt),
    gt(tickets.expiresAt, now),
  );
}

/**
 * Marks the ticket used, once: the conditional update succeeds for exactly one
 * of two concurrent redemptions, only before expiry and only for its purpose.
 * Null when nothing matched.
 */
export async function consumeTicketRow(
  db: Database,
  realm: string,
  ticket: { ticketHash: string; purpose: string; now: number },
): Promise<{ userId: string; payload: string | null; redirectTo: string | null; codeChallenge: string | null } | null> {
  const used = await db
    .update(tickets)
    .set({ usedAt: ticket.now })
    .where(liveTicket(realm, ticket))
    .returning({ userId: tickets.userId, payload: tickets.payload, redirectTo: tickets.redirectTo, codeChallenge: tickets.codeChallenge });
  return used[0] ?? null;
}

/** The owner of a live (unused, unexpired) ticket of `purpose`, without using it; null when there is none. */
export async function findLiveTicketOwner(
  db: Database,
  realm: string,
  ticket: { ticketHash: string; purpose: string; now: number },
): Promise<string | null> {
  const found = await db.select({ userId: tickets.userId }).from(tickets).where(liveTicket(realm, ticket)).limit(1);
  return found[0]?.userId ?? null;
}
