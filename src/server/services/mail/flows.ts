/**
 * Pieces the email routes share: redirect targets, ticket links, the
 * conceal-or-answer pattern and passwordless sign-up.
 */
import type { Config } from "../../config";
import type { RequestContext } from "../../context";
import { AuthError } from "../../errors";
import { isRedirectAllowed } from "../../lib/redirect";
import { runAfterResponse } from "../../lib/after-response";
import { allowedRedirectPrefixes } from "../../lib/sign-up-options";
import { newTicket, type LinkTicketPurpose } from "../../tokens/tickets";
import { deliverMail, type OutgoingMail } from "./send";

/** Where a flow sends the browser: the requested URL if allowed, else the app (or this service). */
export function redirectTarget(config: Config, requested: string | undefined | null): string {
  if (requested !== undefined && requested !== null) {
    if (!isRedirectAllowed(requested, allowedRedirectPrefixes(config))) throw new AuthError("redirectTo-not-allowed");
    return requested;
  }
  return config.clientUrl ?? config.publicUrl;
}

/** The ticket types `GET /verify` names in its `type` parameter (the spec's TicketTypeQuery). */
export const LINK_TYPE_OF: Record<LinkTicketPurpose, string> = {
  verifyEmail: "emailVerify",
  passwordReset: "passwordReset",
  signinPasswordless: "signinPasswordless",
  emailConfirmChange: "emailConfirmChange",
};

/** The link a mail carries: always this service's public URL, which redeems the ticket and redirects. */
export function ticketLink(config: Config, purpose: LinkTicketPurpose, ticket: string, redirectTo: string): string {
  const url = new URL(`${config.publicUrl}/verify`);
  url.searchParams.set("ticket", ticket);
  url.searchParams.set("type", LINK_TYPE_OF[purpose]);
  url.searchParams.set("redirectTo", redirectTo);
  return url.toString();
}

function logBackgroundFailure(kind: string, error: unknown): void {
  // An AuthError here is a concealed answer (unknown or disabled account): not a failure.
  if (error instanceof AuthError) return;
  console.error(`mail flow "${kind}" failed: ${error instanceof Error ? error.message : "unknown error"}`);
}

/**
 * Runs a flow that may end in a mail. With errors concealed, all of it (lookups,
 * writes, delivery) starts after the response has left, so the answer and its
 * timing are the same whether or not the address has an account. Otherwise the lookups run
 * first and their errors are answered; only delivery waits.
 */
export async function runMailFlow(
  context: RequestContext,
  kind: string,
  work: () => Promise<OutgoingMail | null>,
  conceal = context.config.concealErrors,
): Promise<void> {
  const deliver = async (mail: OutgoingMail | null) => {
    if (mail !== null) await deliverMail(context, mail);
  };
  if (conceal) {
    runAfterResponse(context, () =>
      work()
        .then(deliver)
        .catch((error: unknown) => logBackgroundFailure(kind, error)),
    );
    return;
  }
  const mail = await work();
  context.waitUntil(deliver(mail).catch((error: unknown) => logBackgroundFailure(kind, error)));
}

/** A fresh verification ticket and its mail. */
export async function verificationMail(
  context: RequestContext,
  user: { id: string; email: string | null; displayName: string; locale: string },
  redirectTo: string,
): Promise<OutgoingMail> {
  const { config } = context;
  const { ticket, statement } = await newTicket(context, "verifyEmail", user.id, config.emailVerificationTtlSeconds, {
    redirectTo,
  });
  await statement;
  return {
    kind: "emailVerify",
    to: user.email!,
    locale: user.locale,
    variables: {
      displayName: user.displayName,
      email: user.email!,
      link: ticketLink(config, "verifyEmail", ticket, redirectTo),
      ttlMinutes: Math.round(config.emailVerificationTtlSeconds / 60),
    },
  };
}

/** A fresh magic-link ticket and its mail. */
export async function magicLinkMail(
  context: RequestContext,
  user: { id: string; displayName: string; locale: string },
  email: string,
  redirectTo: string,
): Promise<OutgoingMail> {
  const { config } = context;
  const { ticket, statement } = await newTicket(context, "signinPasswordless", user.id, config.magicLinkTtlSeconds, {
    redirectTo,
  });
  await statement;
  return {
    kind: "signinPasswordless",
    to: email,
    locale: user.locale,
    variables: {
      displayName: user.displayName,
      email,
      link: ticketLink(config, "signinPasswordless", ticket, redirectTo),
      ttlMinutes: Math.round(config.magicLinkTtlSeconds / 60),
    },
  };
}
