/** Statements on single-use tickets shared beyond the ticket module. */
import { and, eq, gt, inArray, isNull } from "drizzle-orm";
import { tickets } from "./schema";
import type { Database } from "./users";

/** The purposes `GET /verify` redeems, as they prefix a ticket. */
export const LINK_TICKET_PURPOSES = ["verifyEmail", "passwordReset", "signinPasswordless", "emailConfirmChange"] as const;
export type LinkTicketPurpose = (typeof LINK_TICKET_PURPOSES)[number];

/**
 * Ends the user's outstanding link tickets of the given purposes (all link
 * purposes by default), as if used: after a password change or reset, a
 * sign-out everywhere, an email change or the first proof of an address, a link
 * mailed before it must not undo it (an email-change link an intruder asked for
 * would otherwise move the account away after the owner took it back).
 */
export function revokeLinkTicketsStatement(
  db: Database,
  realm: string,
  userId: string,
  now: number,
  purposes: readonly LinkTicketPurpose[] = LINK_TICKET_PURPOSES,
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
