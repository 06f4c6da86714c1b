/**
 * Single-use tickets (design §3): `<purpose>:<uuid>`, stored as the SHA-256 of
 * the whole string, bound to a purpose and a user, consumed with a conditional
 * update so that two concurrent redemptions cannot both succeed.
 */
import type { RequestContext } from "../context";
import type { Statement } from "../db/users";
import { consumeTicketRow, insertTicketStatement, revokeLinkTicketsStatement, type LinkTicketPurpose } from "../db/tickets";
import { AuthError } from "../errors";
import { sha256Hex } from "../lib/crypto";

export { LINK_TICKET_PURPOSES, type LinkTicketPurpose } from "../db/tickets";

export type TicketPurpose = LinkTicketPurpose | "mfaTotp";

/** What a ticket may carry besides its user. */
export interface TicketExtras {
  payload?: string;
  redirectTo?: string | null;
  /** A PKCE challenge: `/verify` then redirects with an authorization code instead of a refresh token. */
  codeChallenge?: string | null;
}

/**
 * The row of a single-use secret whose SHA-256 is `secretHash`, for `purpose`,
 * living `ttlSeconds`: tickets here, PKCE authorization codes in
 * ./authorization-code.ts. Synchronous on purpose: a query builder returned from
 * an async function would be awaited, that is, run.
 */
export function storeSecretStatement(
  context: RequestContext,
  secretHash: string,
  purpose: string,
  userId: string,
  ttlSeconds: number,
  extra: TicketExtras = {},
) {
  const now = Date.now();
  return insertTicketStatement(context.db, {
    ticketHash: secretHash,
    realm: context.realm.id,
    userId,
    purpose,
    payload: extra.payload ?? null,
    redirectTo: extra.redirectTo ?? null,
    codeChallenge: extra.codeChallenge ?? null,
    createdAt: now,
    expiresAt: now + ttlSeconds * 1000,
  });
}

/** Creates a ticket and returns its statement and the secret string to hand out once. */
export async function newTicket(
  context: RequestContext,
  purpose: TicketPurpose,
  userId: string,
  ttlSeconds: number,
  extra: TicketExtras = {},
) {
  const ticket = `${purpose}:${crypto.randomUUID()}`;
  return { ticket, statement: storeSecretStatement(context, await sha256Hex(ticket), purpose, userId, ttlSeconds, extra) };
}

/**
 * A link ticket (mailed, redeemed at `GET /verify`): only the newest of each
 * purpose works, so the statements also end the user's older ones. Run them in
 * one batch, in order.
 */
export async function newLinkTicket(
  context: RequestContext,
  purpose: LinkTicketPurpose,
  userId: string,
  ttlSeconds: number,
  extra: TicketExtras = {},
): Promise<{ ticket: string; statements: [Statement, Statement] }> {
  const { ticket, statement } = await newTicket(context, purpose, userId, ttlSeconds, extra);
  const voidOlder = revokeLinkTicketsStatement(context.db, context.realm.id, userId, Date.now(), [purpose]);
  return { ticket, statements: [voidOlder, statement] };
}

export interface ConsumedTicket {
  userId: string;
  payload: string | null;
  redirectTo: string | null;
  codeChallenge: string | null;
}

/** Marks the ticket used and returns what it carried; `invalid-ticket` for anything else. */
export async function consumeTicket(context: RequestContext, purpose: TicketPurpose, ticket: string): Promise<ConsumedTicket> {
  if (!ticket.startsWith(`${purpose}:`)) throw new AuthError("invalid-ticket");
  const now = Date.now();
  const row = await consumeTicketRow(context.db, context.realm.id, { ticketHash: await sha256Hex(ticket), purpose, now });
  if (row === null) throw new AuthError("invalid-ticket");
  return row;
}
