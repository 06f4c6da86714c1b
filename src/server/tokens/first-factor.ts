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
import { newAuthorizationCode } from "./authorization-code";

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

/** What a link (`GET /verify`) earns: a first factor's outcome, or a PKCE authorization code in place of the session. */
export type LinkOutcome = FirstFactorOutcome | { kind: "code"; statement: Statement; code: string };

/**
 * Like `afterFirstFactor`, for a redirect bound to a PKCE challenge: the
 * session is replaced by an authorization code (tokens/authorization-code.ts).
 * A user with TOTP still gets only the MFA ticket.
 */
export async function afterLinkFactor(context: RequestContext, user: UserWithRoles, codeChallenge: string | null): Promise<LinkOutcome> {
  if (codeChallenge === null || user.activeMfaType === "totp") return afterFirstFactor(context, user);
  return { kind: "code", ...(await newAuthorizationCode(context, user.id, codeChallenge)) };
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
