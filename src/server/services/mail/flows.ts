/**
 * Pieces the email routes share: redirect targets, ticket links, the
 * conceal-or-answer pattern and passwordless sign-up.
 */
import type { RequestContext } from "../../context";
import { AuthError } from "../../errors";
import { isRedirectAllowed } from "../../lib/redirect";
import { runConcealable } from "../../lib/after-response";
import { allowedRedirectPrefixes } from "../../lib/sign-up-options";
import { newLinkTicket, type LinkTicketPurpose } from "../../tokens/tickets";
import { deliverMail, type OutgoingMail } from "./send";

/** Where a flow sends the browser: the requested URL if allowed, else the app (or the realm's own URL). */
export function redirectTarget(context: RequestContext, requested: string | undefined | null): string {
  if (requested !== undefined && requested !== null) {
    if (!isRedirectAllowed(requested, allowedRedirectPrefixes(context.config))) throw new AuthError("redirectTo-not-allowed");
    return requested;
  }
  return defaultRedirect(context);
}

/** Where a flow sends the browser when the request named no target: the app, else the realm's own URL. */
export function defaultRedirect(context: RequestContext): string {
  return context.config.clientUrl ?? context.realm.issuer;
}

/** The ticket types `GET /verify` names in its `type` parameter (the spec's TicketTypeQuery). */
export const LINK_TYPE_OF: Record<LinkTicketPurpose, string> = {
  verifyEmail: "emailVerify",
  passwordReset: "passwordReset",
  signinPasswordless: "signinPasswordless",
  emailConfirmChange: "emailConfirmChange",
};

/** The link a mail carries: always this service's public URL, which redeems the ticket and redirects. */
export function ticketLink(context: RequestContext, purpose: LinkTicketPurpose, ticket: string, redirectTo: string): string {
  // The realm's own `/verify`: a ticket is redeemed in the realm that issued it.
  const url = new URL(`${context.realm.issuer}/verify`);
  url.searchParams.set("ticket", ticket);
  url.searchParams.set("type", LINK_TYPE_OF[purpose]);
  url.searchParams.set("redirectTo", redirectTo);
  return url.toString();
}

/** Runs a flow that may end in a mail, concealed or not (see lib/after-response.ts). */
export function runMailFlow(
  context: RequestContext,
  kind: string,
  work: () => Promise<OutgoingMail | null>,
  conceal = context.config.enumerationProtection,
): Promise<void> {
  return runConcealable(context, { conceal, label: `mail flow "${kind}"` }, work, async (mail) => {
    if (mail !== null) await deliverMail(context, mail);
  });
}

/** A fresh verification ticket and its mail; `codeChallenge` binds its redirect to PKCE. */
export async function verificationMail(
  context: RequestContext,
  user: { id: string; email: string | null; displayName: string; locale: string },
  redirectTo: string,
  codeChallenge: string | null = null,
): Promise<OutgoingMail> {
  const { config } = context;
  const { ticket, statements } = await newLinkTicket(context, "verifyEmail", user.id, config.emailVerificationTtlSeconds, {
    redirectTo,
    codeChallenge,
  });
  await context.db.batch(statements);
  return {
    kind: "emailVerify",
    to: user.email!,
    locale: user.locale,
    variables: {
      displayName: user.displayName,
      email: user.email!,
      link: ticketLink(context, "verifyEmail", ticket, redirectTo),
      ttlMinutes: Math.round(config.emailVerificationTtlSeconds / 60),
    },
  };
}

/** A fresh magic-link ticket and its mail; `codeChallenge` binds its redirect to PKCE. */
export async function magicLinkMail(
  context: RequestContext,
  user: { id: string; displayName: string; locale: string },
  email: string,
  redirectTo: string,
  codeChallenge: string | null = null,
): Promise<OutgoingMail> {
  const { config } = context;
  const { ticket, statements } = await newLinkTicket(context, "signinPasswordless", user.id, config.magicLinkTtlSeconds, {
    redirectTo,
    codeChallenge,
  });
  await context.db.batch(statements);
  return {
    kind: "signinPasswordless",
    to: email,
    locale: user.locale,
    variables: {
      displayName: user.displayName,
      email,
      link: ticketLink(context, "signinPasswordless", ticket, redirectTo),
      ttlMinutes: Math.round(config.magicLinkTtlSeconds / 60),
    },
  };
}
