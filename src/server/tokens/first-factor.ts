/**
 * What a first factor (a password, an email link or code, an SMS code) earns: a
 * session, or, for a user with TOTP active, only a short-lived ticket for
 * `/signin/mfa/totp`. Every first-factor route goes through here, so none can
 * hand out a session past a second factor.
 */
import type { Session } from "../../shared/api";
import type { RequestContext } from "../context";
import type { Statement, UserWithRoles } from "../db/users";
import { newSessionToken, type IssuedRefreshToken } from "./refresh-token";
import { checkAddressMaySignIn } from "./may-sign-in";
import { buildSession } from "./session";
import { newTicket } from "./tickets";

/** Not yet written: the caller runs `statement` in its own batch, with its other effects. */
export type FirstFactorOutcome =
  | { kind: "session"; statement: Statement; issued: IssuedRefreshToken }
  | { kind: "mfa"; statement: Statement; ticket: string };

export async function afterFirstFactor(context: RequestContext, user: UserWithRoles): Promise<FirstFactorOutcome> {
  // Every first factor ends here: the access-control lists and a disabled account
  // are checked once more, so no route can forget them.
  checkAddressMaySignIn(context.config, user);
  if (user.activeMfaType === "totp") {
    const { ticket, statement } = await newTicket(context, "mfaTotp", user.id, context.config.mfaTicketTtlSeconds);
    return { kind: "mfa", statement, ticket };
  }
  const { issued, statement } = await newSessionToken(context, user.id);
  return { kind: "session", statement, issued };
}

/** The spec's sign-in body for an outcome whose statement has run: `{ session }` or `{ session: null, mfa }`. */
export async function signInAnswer(
  context: RequestContext,
  user: UserWithRoles,
  outcome: FirstFactorOutcome,
): Promise<{ session: Session; mfa?: never } | { session: null; mfa: { ticket: string } }> {
  if (outcome.kind === "mfa") return { session: null, mfa: { ticket: outcome.ticket } };
  return { session: await buildSession(context, user, outcome.issued) };
}
