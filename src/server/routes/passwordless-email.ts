/**
 * Signing in without a password, by email: a magic link
 * (`POST /signin/passwordless/email`, redeemed at `GET /verify`) or a one-time
 * code (`POST /signin/otp/email`, `POST /signin/otp/email/verify`). Unknown
 * addresses get an account when sign-up is allowed and DISABLE_AUTO_SIGNUP is
 * off; `POST /signup/passwordless/email` and `POST /signup/otp/email` sign up
 * explicitly (and do nothing for an address that has an account).
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppContext, AppEnv, RequestContext } from "../context";
import { findUserByEmail, markEmailVerifiedStatement, runBatch } from "../db/users";
import { afterFirstProof, firstProofStatements } from "../db/address-proof";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { oneTimeCodeDigest, randomNumericCode } from "../lib/otp";
import { boundedString } from "../lib/schema";
import { resolveSignUpOptions, signUpOptionsSchema, type SignUpOptions } from "../lib/sign-up-options";
import { codeChallengeSchema } from "../lib/pkce";
import { magicLinkMail, redirectTarget, runMailFlow } from "../services/mail/flows";
import { findOrCreatePasswordlessUser, signUpPasswordlessUser } from "../services/accounts";
import { afterFirstFactor, signInAnswer } from "../tokens/first-factor";
import { checkAddressMaySignIn } from "../tokens/may-sign-in";
import { emailSchema } from "../lib/credentials";
import { limitMail, limitSignUp, reserveCredentialAttempt } from "../limits/limits";
import { auditSignIn, auditSignUpFailure, noteSignInSubject } from "./audit-sign-in";

const passwordlessBody = z.strictObject({ email: emailSchema, options: z.optional(signUpOptionsSchema) });
// The magic-link routes also take a PKCE challenge for the link's redirect.
const magicLinkBody = z.strictObject({ email: emailSchema, options: z.optional(signUpOptionsSchema), codeChallenge: z.optional(codeChallengeSchema) });
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

/**
 * Whose account a request is for: a sign-in finds the account (or, unless
 * DISABLE_AUTO_SIGNUP, makes one); an explicit sign-up makes one, and for an
 * address that has one already does nothing (null).
 */
type AccountStep = "sign-in" | "sign-up";

function accountFor(context: RequestContext, step: AccountStep, email: string, options: SignUpOptions | undefined) {
  return step === "sign-in" ? findOrCreatePasswordlessUser(context, { email }, options) : signUpPasswordlessUser(context, { email }, options);
}

/**
 * The answer of an explicit sign-up must not tell whether the address had an
 * account, in its timing either: its account work always runs after the answer
 * (lib/after-response.ts), whatever ENUMERATION_PROTECTION says.
 */
function concealsFor(context: RequestContext, step: AccountStep): boolean {
  return step === "sign-up" || context.config.enumerationProtection;
}

async function sendMagicLink(c: AppContext, step: AccountStep) {
  const context = c.var.context;
  const body = await readJsonBody(c.req.raw, magicLinkBody);
  if (!context.config.emailPasswordlessEnabled) throw new AuthError("disabled-endpoint");
  if (step === "sign-up" && context.config.signupDisabled) throw new AuthError("signup-disabled");
  const options = checkOptions(context, body.options);
  const redirectTo = redirectTarget(context, options.redirectTo);
  if (step === "sign-up") await limitSignUp(context);
  await limitMail(context, body.email);
  await runMailFlow(context, "signinPasswordless", async () => {
    const user = await accountFor(context, step, body.email, body.options);
    if (user === null) return null;
    return magicLinkMail(context, user, body.email, redirectTo, body.codeChallenge ?? null);
  }, concealsFor(context, step));
  return c.json("OK");
}

async function sendEmailCode(c: AppContext, step: AccountStep) {
  const context = c.var.context;
  const { config } = context;
  const body = await readJsonBody(c.req.raw, passwordlessBody);
  if (!config.otpEmailEnabled) throw new AuthError("disabled-endpoint");
  if (step === "sign-up" && config.signupDisabled) throw new AuthError("signup-disabled");
  checkOptions(context, body.options);
  if (step === "sign-up") await limitSignUp(context);
  await limitMail(context, body.email);
  await runMailFlow(context, "signinOtp", async () => {
    const user = await accountFor(context, step, body.email, body.options);
    if (user === null) return null;
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
  }, concealsFor(context, step));
  return c.json("OK");
}

export const passwordlessEmailRoutes = new Hono<AppEnv>()
  .post("/signin/passwordless/email", (c) => sendMagicLink(c, "sign-in"))
  .post("/signup/passwordless/email", auditSignUpFailure("passwordless-email"), (c) => sendMagicLink(c, "sign-up"))
  .post("/signin/otp/email", (c) => sendEmailCode(c, "sign-in"))
  .post("/signup/otp/email", auditSignUpFailure("passwordless-email"), (c) => sendEmailCode(c, "sign-up"))

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
export { passwordlessBody as passwordlessEmailBody, magicLinkBody, otpVerifyBody as emailOtpVerifyBody };
