/**
 * Email flows with links: `POST /user/email/send-verification-email`,
 * `POST /user/password/reset`, `POST /user/email/change`, and `GET /verify`,
 * which redeems every link ticket and redirects to the app.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../context";
import { isUniqueViolation } from "../db/unique-violation";
import { changeEmailStatement, findUserByEmail, findUserById, markEmailVerifiedStatement, runBatch } from "../db/users";
import { AuthError, errorRedirect, shownError, type ErrorCode } from "../errors";
import { readJsonBody } from "../lib/body";
import { boundedString } from "../lib/schema";
import { redirectTarget, runMailFlow, ticketLink, verificationMail, LINK_TYPE_OF } from "../services/mail/flows";
import { deliverMail, sendInBackground, type OutgoingMail } from "../services/mail/send";
import { consumeTicket, LINK_TICKET_PURPOSES, newLinkTicket, type LinkTicketPurpose } from "../tokens/tickets";
import { afterFirstProof, firstProofStatements } from "../db/address-proof";
import { revokeLinkTicketsStatement } from "../db/tickets";
import { limitMail } from "../limits/limits";
import { recordAudit } from "../services/audit";
import { afterLinkFactor } from "../tokens/first-factor";
import { requireSessionUser } from "../tokens/verify";
import { signInRefusal } from "../tokens/may-sign-in";
import { requireElevation } from "../tokens/elevation";
import { emailSchema } from "../lib/credentials";
import { CODE_CHALLENGE_PATTERN, codeChallengeSchema } from "../lib/pkce";

const redirectOptions = z.optional(z.strictObject({ redirectTo: z.optional(boundedString(0, 2048)) }));
const emailWithRedirectBody = z.strictObject({ email: emailSchema, options: redirectOptions, codeChallenge: z.optional(codeChallengeSchema) });
const emailChangeBody = z.strictObject({ newEmail: emailSchema, options: redirectOptions, codeChallenge: z.optional(codeChallengeSchema) });

export const emailRoutes = new Hono<AppEnv>()
  .post("/user/email/send-verification-email", async (c) => {
    const context = c.var.context;
    const { db, realm } = context;
    const body = await readJsonBody(c.req.raw, emailWithRedirectBody);
    const redirectTo = redirectTarget(context, body.options?.redirectTo);
    await limitMail(context, body.email);
    await runMailFlow(context, "emailVerify", async () => {
      const user = await findUserByEmail(db, realm.id, body.email);
      // Answered only with ENUMERATION_PROTECTION=false; protected, it is silence.
      if (user === null) throw new AuthError("invalid-request", undefined, { reason: "no account uses this email" });
      if (user.disabled) throw new AuthError("disabled-user");
      if (user.emailVerified) throw new AuthError("email-already-verified");
      return verificationMail(context, user, redirectTo, body.codeChallenge ?? null);
    });
    return c.json("OK");
  })

  .post("/user/password/reset", async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    const body = await readJsonBody(c.req.raw, emailWithRedirectBody);
    const redirectTo = redirectTarget(context, body.options?.redirectTo);
    await limitMail(context, body.email);
    await runMailFlow(context, "passwordReset", async () => {
      const user = await findUserByEmail(db, realm.id, body.email);
      // Answered only with ENUMERATION_PROTECTION=false; protected, it is silence.
      // Either way the operator sees it: a run of requests for unknown addresses is a probe.
      const refuse = (error: AuthError): never => {
        const entry = { userId: user?.id ?? null, actor: { type: "anonymous" as const, id: null }, detail: { error: error.code } };
        recordAudit(context, { type: "password-reset-request", outcome: "failure", ...entry });
        throw error;
      };
      if (user === null) return refuse(new AuthError("invalid-request", undefined, { reason: "no account uses this email" }));
      if (user.disabled) return refuse(new AuthError("disabled-user"));
      const { ticket, statements } = await newLinkTicket(context, "passwordReset", user.id, config.passwordResetTtlSeconds, {
        redirectTo,
        codeChallenge: body.codeChallenge ?? null,
      });
      await db.batch(statements);
      recordAudit(context, { type: "password-reset-request", outcome: "success", userId: user.id, actor: { type: "anonymous", id: null } });
      return {
        kind: "passwordReset",
        to: body.email,
        locale: user.locale,
        variables: {
          displayName: user.displayName,
          email: body.email,
          link: ticketLink(context, "passwordReset", ticket, redirectTo),
          ttlMinutes: Math.round(config.passwordResetTtlSeconds / 60),
        },
      };
    });
    return c.json("OK");
  })

  .post("/user/email/change", async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    // The body is checked before the bearer token, as Nhost's request validation does.
    const body = await readJsonBody(c.req.raw, emailChangeBody);
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    await requireElevation(context, claims, user);
    const redirectTo = redirectTarget(context, body.options?.redirectTo);
    if (user.disabled) throw new AuthError("disabled-user");
    if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
    if ((await findUserByEmail(db, realm.id, body.newEmail)) !== null) throw new AuthError("user-already-exists");
    await limitMail(context, body.newEmail);
    const { ticket, statements } = await newLinkTicket(context, "emailConfirmChange", user.id, config.emailChangeTtlSeconds, {
      payload: body.newEmail,
      redirectTo,
      codeChallenge: body.codeChallenge ?? null,
    });
    await db.batch(statements);
    // The link goes to the new address: only its owner can complete the change.
    const mail: OutgoingMail = {
      kind: "emailConfirmChange",
      to: body.newEmail,
      locale: user.locale,
      variables: {
        displayName: user.displayName,
        email: body.newEmail,
        link: ticketLink(context, "emailConfirmChange", ticket, redirectTo),
        ttlMinutes: Math.round(config.emailChangeTtlSeconds / 60),
      },
    };
    sendInBackground(context, mail.kind, () => deliverMail(context, mail));
    return c.json("OK");
  })

  .get("/verify", async (c) => {
    const context = c.var.context;
    const { db, realm } = context;
    const ticket = c.req.query("ticket") ?? "";
    // A redirect target that is not allowed is refused outright: redirecting to it,
    // even with an error, would make this an open redirector.
    const redirectTo = redirectTarget(context, c.req.query("redirectTo"));
    // A client that builds the link itself may add the PKCE challenge here; one the
    // ticket was made with is kept with it and wins (and must not be contradicted).
    const queryChallenge = c.req.query("codeChallenge") ?? null;
    const purpose = LINK_TICKET_PURPOSES.find((candidate) => ticket.startsWith(`${candidate}:`));
    // Every link starts a session (or an MFA step): a sign-in for the audit log,
    // by magic link or by another link the mail carried.
    const method = purpose === "signinPasswordless" || purpose === undefined ? "magic-link" : "email-link";
    const link = purpose === undefined ? null : LINK_TYPE_OF[purpose];
    let knownUserId: string | null = null;
    const fail = (code: ErrorCode) => {
      recordAudit(context, { type: "signin", outcome: "failure", userId: knownUserId, actor: { type: "anonymous", id: null }, detail: { method, link, error: code } });
      return c.redirect(errorRedirect(redirectTo, shownError(new AuthError(code), context.config.concealErrors)), 302);
    };

    if (purpose === undefined || ticket.length > 512) return fail("invalid-ticket");
    if (queryChallenge !== null && !CODE_CHALLENGE_PATTERN.test(queryChallenge)) return fail("invalid-request");
    let consumed;
    try {
      consumed = await consumeTicket(context, purpose, ticket);
    } catch (error) {
      if (error instanceof AuthError) return fail(error.code);
      throw error;
    }
    const user = await findUserById(db, realm.id, consumed.userId);
    if (user === null) return fail("invalid-ticket");
    knownUserId = user.id;
    // The link proves the address, so only the access-control lists and a disabled account stop it.
    const refusal = signInRefusal(context.config, user, { addressProven: true });
    if (refusal !== null) return fail(refusal);
    if (consumed.codeChallenge !== null && queryChallenge !== null && queryChallenge !== consumed.codeChallenge) {
      return fail("invalid-request");
    }
    const codeChallenge = consumed.codeChallenge ?? queryChallenge;

    const userId = user.id;
    const now = Date.now();
    const target = new URL(redirectTo);
    target.searchParams.set("type", LINK_TYPE_OF[purpose]);
    // Following a verification, magic or reset link proves the account's address:
    // the first such proof ends what was set up before it (db/address-proof.ts).
    const provesAddress = purpose !== "emailConfirmChange";
    const proof = provesAddress
      ? firstProofStatements(db, user, "email", { keepsSignUpCredentials: purpose === "verifyEmail", now })
      : [];
    // A mailbox is one factor: a user with TOTP gets a ticket for /signin/mfa/totp
    // (`mfaTicket`) instead of a session (`refreshToken`); with PKCE, the session
    // waits behind an authorization code (`code`) for /token/exchange.
    const outcome = await afterLinkFactor(context, provesAddress ? afterFirstProof(user, "email") : user, codeChallenge);
    try {
      await runBatch(db, [...proof, ...effectsOf(purpose, consumed.payload), outcome.statement]);
    } catch (error) {
      if (purpose === "emailConfirmChange" && isUniqueViolation(error)) {
        return fail("user-already-exists");
      }
      throw error;
    }
    const secondFactor = outcome.kind === "mfa" ? { secondFactor: "due" } : {};
    recordAudit(context, { type: "signin", outcome: "success", userId, detail: { method, link, ...secondFactor } });
    if (outcome.kind === "mfa") target.searchParams.set("mfaTicket", outcome.ticket);
    else if (outcome.kind === "code") target.searchParams.set("code", outcome.code);
    else target.searchParams.set("refreshToken", outcome.issued.refreshToken);
    return c.redirect(target.toString(), 302);

    function effectsOf(kind: LinkTicketPurpose, payload: string | null) {
      switch (kind) {
        case "verifyEmail":
        case "signinPasswordless":
        case "passwordReset":
          // Following the link proves control of the address. (After a reset the app
          // sets the new password with the session this link starts.)
          return [markEmailVerifiedStatement(db, realm.id, userId, now)];
        case "emailConfirmChange":
          // The account moves: links mailed to the old address must not act on it.
          return payload === null
            ? []
            : [
                changeEmailStatement(db, realm.id, userId, payload, now),
                revokeLinkTicketsStatement(db, realm.id, userId, now),
              ];
      }
    }
  });

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { emailWithRedirectBody, emailChangeBody };
