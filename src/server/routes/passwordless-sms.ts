/**
 * Signing in with a code by SMS: `POST /signin/passwordless/sms` sends it (and
 * makes an account for an unknown number when sign-up is allowed and
 * DISABLE_AUTO_SIGNUP is off), `POST /signup/passwordless/sms` signs up
 * explicitly, `POST /signin/passwordless/sms/otp` exchanges it for a session
 * (and completes a pending `/user/deanonymize/sms`). Same expiry and exact
 * attempt counting as email codes.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppContext, AppEnv } from "../context";
import { findUserByPhone, markPhoneNumberVerifiedStatement, runBatch } from "../db/users";
import { afterFirstProof, firstProofStatements } from "../db/address-proof";
import { AuthError } from "../errors";
import { runConcealable } from "../lib/after-response";
import { readJsonBody } from "../lib/body";
import { oneTimeCodeDigest } from "../lib/otp";
import { normalizeE164 } from "../lib/phone";
import { boundedString } from "../lib/schema";
import { resolveSignUpOptions, signUpOptionsSchema } from "../lib/sign-up-options";
import { findOrCreatePasswordlessUser, signUpPasswordlessUser } from "../services/accounts";
import { completeSmsDeanonymization } from "../services/phone-number";
import { recordAudit } from "../services/audit";
import { issueSmsCode, smsCodesFor, textCode } from "../services/sms-codes";
import { afterFirstFactor, signInAnswer } from "../tokens/first-factor";
import { checkAddressMaySignIn } from "../tokens/may-sign-in";
import { limitSignUp, limitSms, reserveCredentialAttempt } from "../limits/limits";
import { auditSignIn, auditSignUpFailure, noteSignInSubject } from "./audit-sign-in";

const sendBody = z.strictObject({ phoneNumber: boundedString(1, 32), options: z.optional(signUpOptionsSchema) });
const verifyBody = z.strictObject({ phoneNumber: boundedString(1, 32), otp: boundedString(1, 32) });

/**
 * Texts a code: for a sign-in, to the number's account (made when sign-up is
 * allowed and DISABLE_AUTO_SIGNUP is off); for an explicit sign-up, to a new
 * account only, and nothing for a number that has one (same answer, and the
 * work always runs after it, so its timing does not tell either).
 */
async function sendSmsCode(c: AppContext, step: "sign-in" | "sign-up") {
  const context = c.var.context;
  const { config } = context;
  const body = await readJsonBody(c.req.raw, sendBody);
  if (!config.smsPasswordlessEnabled) throw new AuthError("disabled-endpoint");
  if (step === "sign-up" && config.signupDisabled) throw new AuthError("signup-disabled");
  const phoneNumber = normalizeE164(body.phoneNumber);
  if (phoneNumber === null) throw new AuthError("cannot-send-sms");
  const resolved = resolveSignUpOptions(body.options, config);
  if (!resolved.ok) throw new AuthError(resolved.code);
  if (step === "sign-up") await limitSignUp(context);
  await limitSms(context, phoneNumber);

  const work = async () => {
    const user =
      step === "sign-in"
        ? await findOrCreatePasswordlessUser(context, { phoneNumber }, body.options)
        : await signUpPasswordlessUser(context, { phoneNumber }, body.options);
    if (user === null) return null;
    return { user, code: await issueSmsCode(context, phoneNumber) };
  };
  const deliver = async (sent: { code: string } | null) => {
    if (sent !== null) await textCode(context, phoneNumber, sent.code);
  };
  await runConcealable(context, { conceal: step === "sign-up" || config.enumerationProtection, label: "SMS code" }, work, deliver);
  return c.json("OK");
}

export const passwordlessSmsRoutes = new Hono<AppEnv>()
  .post("/signin/passwordless/sms", (c) => sendSmsCode(c, "sign-in"))
  .post("/signup/passwordless/sms", auditSignUpFailure("passwordless-sms"), (c) => sendSmsCode(c, "sign-up"))

  .post("/signin/passwordless/sms/otp", auditSignIn("sms-otp"), async (c) => {
    const context = c.var.context;
    const { db, realm } = context;
    const body = await readJsonBody(c.req.raw, verifyBody);
    if (!context.config.smsPasswordlessEnabled) throw new AuthError("disabled-endpoint");
    const phoneNumber = normalizeE164(body.phoneNumber);
    if (phoneNumber === null) throw new AuthError("invalid-otp");
    const user = await findUserByPhone(db, realm.id, phoneNumber);
    if (user !== null) noteSignInSubject(c, { userId: user.id });
    const attempt = await reserveCredentialAttempt(context, user === null ? { address: phoneNumber } : { userId: user.id });
    const verdict = await smsCodesFor(context, phoneNumber).check(await oneTimeCodeDigest(context.config.refreshTokenSecret, phoneNumber, body.otp), Date.now());
    // The last wrong guess and every one after it: the code is spent, a new one is needed.
    if (verdict === "exhausted") throw new AuthError("otp-too-many-attempts");
    if (verdict !== "accepted" || user === null) throw new AuthError("invalid-otp");
    const settled = attempt.succeeded();
    checkAddressMaySignIn(context.config, user);
    // The code reached the phone: the number is proven (the first proof clears what
    // was set up before it, see db/address-proof.ts) and verified.
    const now = Date.now();
    const proof = firstProofStatements(db, user, "phoneNumber", { keepsSignUpCredentials: false, now });
    // An anonymous user that asked for /user/deanonymize/sms becomes a regular one now.
    const deanonymized = await completeSmsDeanonymization(context, user);
    const proven = { ...afterFirstProof(deanonymized.user, "phoneNumber"), phoneNumberVerified: true };
    // The spec's SignInPasswordlessSmsOtpResponse: a user with TOTP finishes at /signin/mfa/totp.
    const outcome = await afterFirstFactor(context, proven);
    noteSignInSubject(c, { userId: user.id, secondFactorDue: outcome.kind === "mfa" });
    await Promise.all([runBatch(db, [...proof, ...deanonymized.statements, markPhoneNumberVerifiedStatement(db, realm.id, user.id, now), outcome.statement]), settled]);
    // The anonymous account became a real one: its sign-up, as for /user/deanonymize.
    if (deanonymized.statements.length > 0) {
      recordAudit(context, { type: "signup", outcome: "success", userId: user.id, detail: { method: "deanonymize", signInMethod: "sms" } });
    }
    return c.json(await signInAnswer(context, proven, outcome));
  });

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { sendBody as passwordlessSmsBody, verifyBody as smsOtpVerifyBody };
