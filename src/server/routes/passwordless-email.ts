/**
 * Signing in without a password, by email: a magic link
 * (`POST /signin/passwordless/email`, redeemed at `GET /verify`) or a one-time
 * code (`POST /signin/otp/email`, `POST /signin/otp/email/verify`). Unknown
 * addresses get an account when sign-up is allowed.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv, RequestContext } from "../context";
import { findUserByEmail, markEmailVerifiedStatement, runBatch } from "../db/users";
import { afterFirstProof, firstProofStatements } from "../db/address-proof";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { oneTimeCodeDigest, randomNumericCode } from "../lib/otp";
import { boundedString } from "../lib/schema";
import { resolveSignUpOptions, signUpOptionsSchema } from "../lib/sign-up-options";
import { magicLinkMail, redirectTarget, runMailFlow } from "../services/mail/flows";
import { findOrCreatePasswordlessUser } from "../services/accounts";
import { afterFirstFactor, signInAnswer } from "../tokens/first-factor";
import { checkAddressMaySignIn } from "../tokens/may-sign-in";
import { emailSchema } from "../lib/credentials";
import { limitMail, reserveCredentialAttempt } from "../limits/limits";
import { auditSignIn, noteSignInSubject } from "./audit-sign-in";

const passwordlessBody = z.strictObject({ email: emailSchema, options: z.optional(signUpOptionsSchema) });
const otpVerifyBody = z.strictObject({ otp: boundedString(1, 32), email: emailSchema });

/** The realm's code store for one address. */
function codesFor(context: RequestContext, email: string) {
  const { env, realm } = context;
  return env.ONE_TIME_CODES.get(env.ONE_TIME_CODES.idFromName(`${realm.id}:email:${email}`));
}

/** Options are checked before anything else: their errors do not depend on the account. */
function checkOptions(context: RequestContext, options: z.infer<typeof signUpOptionsSchema> | undefined) {
  const resolved = resolveSignUpOptions(options, context.config);
  if (!resolved.ok) throw new AuthError(resolved.code);
  return resolved.value;
}

export const passwordlessEmailRoutes = new Hono<AppEnv>()
  .post("/signin/passwordless/email", async (c) => {
    const context = c.var.context;
    const body = await readJsonBody(c.req.raw, passwordlessBody);
    if (!context.config.emailPasswordlessEnabled) throw new AuthError("disabled-endpoint");
    const options = checkOptions(context, body.options);
    const redirectTo = redirectTarget(context, options.redirectTo);
    await limitMail(context, body.email);
    await runMailFlow(context, "signinPasswordless", async () => {
      const user = await findOrCreatePasswordlessUser(context, { email: body.email }, body.options);
      return magicLinkMail(context, user, body.email, redirectTo);
    });
    return c.json("OK");
  })

  .post("/signin/otp/email", async (c) => {
    const context = c.var.context;
    const { config } = context;
    const body = await readJsonBody(c.req.raw, passwordlessBody);
    if (!config.otpEmailEnabled) throw new AuthError("disabled-endpoint");
    checkOptions(context, body.options);
    await limitMail(context, body.email);
    await runMailFlow(context, "signinOtp", async () => {
      const user = await findOrCreatePasswordlessUser(context, { email: body.email }, body.options);
      const code = randomNumericCode(config.emailOtpDigits);
      const now = Date.now();
      await codesFor(context, body.email).issue(
        await oneTimeCodeDigest(config.refreshTokenSecret, body.email, code),
        now + config.emailOtpTtlSeconds * 1000,
        config.otpMaxAttempts,
        now,
      );
      return {
        kind: "signinOtp",
        to: body.email,
        locale: user.locale,
        variables: {
          displayName: user.displayName,
          email: body.email,
          code,
          ttlMinutes: Math.round(config.emailOtpTtlSeconds / 60),
        },
      };
    });
    return c.json("OK");
  })

  .post("/signin/otp/email/verify", auditSignIn("email-otp"), async (c) => {
    const context = c.var.context;
    const { db, realm } = context;
    const body = await readJsonBody(c.req.raw, otpVerifyBody);
    if (!context.config.otpEmailEnabled) throw new AuthError("disabled-endpoint");
    const user = await findUserByEmail(db, realm.id, body.email);
    if (user !== null) noteSignInSubject(c, { userId: user.id });
    const attempt = await reserveCredentialAttempt(context, user === null ? { address: body.email } : { userId: user.id });
    // Every guess is counted by the address's code store, whether or not the
    // address has an account, so the answer is the same for both.
    const verdict = await codesFor(context, body.email).check(await oneTimeCodeDigest(context.config.refreshTokenSecret, body.email, body.otp), Date.now());
    // The last wrong guess and every one after it: the code is spent, a new one is needed.
    if (verdict === "exhausted") throw new AuthError("otp-too-many-attempts");
    if (verdict !== "accepted" || user === null) throw new AuthError("invalid-otp");
    const settled = attempt.succeeded();
    checkAddressMaySignIn(context.config, user);

    // The code reached the mailbox: the address is proven (the first proof clears
    // what was set up before it, see db/address-proof.ts) and verified.
    const now = Date.now();
    const proof = firstProofStatements(db, user, "email", { keepsSignUpCredentials: false, now });
    const proven = { ...afterFirstProof(user, "email"), emailVerified: true };
    // A mailbox is one factor: a user with TOTP finishes at /signin/mfa/totp (the
    // spec's response has no `mfa` branch here; we add it rather than let a mailbox
    // alone get past a second factor).
    const outcome = await afterFirstFactor(context, proven);
    noteSignInSubject(c, { userId: user.id, secondFactorDue: outcome.kind === "mfa" });
    await Promise.all([runBatch(db, [...proof, markEmailVerifiedStatement(db, realm.id, user.id, now), outcome.statement]), settled]);
    return c.json(await signInAnswer(context, proven, outcome));
  });

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { passwordlessBody as passwordlessEmailBody, otpVerifyBody as emailOtpVerifyBody };
