/**
 * Signing in with a code by SMS: `POST /signin/passwordless/sms` sends it (and
 * makes an account for an unknown number when sign-up is allowed),
 * `POST /signin/passwordless/sms/otp` exchanges it for a session. Same expiry
 * and exact attempt counting as email codes.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv, RequestContext } from "../context";
import { findUserByPhone, markPhoneNumberVerifiedStatement, runBatch } from "../db/users";
import { afterFirstProof, firstProofStatements } from "../db/address-proof";
import { AuthError } from "../errors";
import { runConcealable } from "../lib/after-response";
import { readJsonBody } from "../lib/body";
import { oneTimeCodeDigest, randomNumericCode } from "../lib/otp";
import { normalizeE164 } from "../lib/phone";
import { boundedString } from "../lib/schema";
import { resolveSignUpOptions, signUpOptionsSchema } from "../lib/sign-up-options";
import { findOrCreatePasswordlessUser } from "../services/accounts";
import { smsSenderFor } from "../services/sms";
import { afterFirstFactor, signInAnswer } from "../tokens/first-factor";
import { checkAddressMaySignIn } from "../tokens/may-sign-in";
import { limitSms, reserveCredentialAttempt } from "../limits/limits";
import { auditSignIn, noteSignInSubject } from "./audit-sign-in";

const sendBody = z.strictObject({ phoneNumber: boundedString(1, 32), options: z.optional(signUpOptionsSchema) });
const verifyBody = z.strictObject({ phoneNumber: boundedString(1, 32), otp: boundedString(1, 32) });

function codesFor(context: RequestContext, phoneNumber: string) {
  const { env, realm } = context;
  return env.ONE_TIME_CODES.get(env.ONE_TIME_CODES.idFromName(`${realm.id}:sms:${phoneNumber}`));
}

export const passwordlessSmsRoutes = new Hono<AppEnv>()
  .post("/signin/passwordless/sms", async (c) => {
    const context = c.var.context;
    const { config } = context;
    const body = await readJsonBody(c.req.raw, sendBody);
    if (!config.smsPasswordlessEnabled) throw new AuthError("disabled-endpoint");
    const phoneNumber = normalizeE164(body.phoneNumber);
    if (phoneNumber === null) throw new AuthError("cannot-send-sms");
    const resolved = resolveSignUpOptions(body.options, config);
    if (!resolved.ok) throw new AuthError(resolved.code);
    await limitSms(context, phoneNumber);

    const work = async () => {
      const user = await findOrCreatePasswordlessUser(context, { phoneNumber }, body.options);
      const code = randomNumericCode(config.emailOtpDigits);
      const now = Date.now();
      const codeHash = await oneTimeCodeDigest(config.refreshTokenSecret, phoneNumber, code);
      await codesFor(context, phoneNumber).issue(codeHash, now + config.smsOtpTtlSeconds * 1000, config.otpMaxAttempts, now);
      return { user, code };
    };
    const deliver = ({ code }: { code: string }) =>
      smsSenderFor(context).send({
        to: phoneNumber,
        body: `Your code is ${code}. It expires in ${Math.round(config.smsOtpTtlSeconds / 60)} minutes.`,
      });
    await runConcealable(context, { conceal: config.enumerationProtection, label: "SMS code" }, work, deliver);
    return c.json("OK");
  })

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
    const verdict = await codesFor(context, phoneNumber).check(await oneTimeCodeDigest(context.config.refreshTokenSecret, phoneNumber, body.otp), Date.now());
    // The last wrong guess and every one after it: the code is spent, a new one is needed.
    if (verdict === "exhausted") throw new AuthError("otp-too-many-attempts");
    if (verdict !== "accepted" || user === null) throw new AuthError("invalid-otp");
    const settled = attempt.succeeded();
    checkAddressMaySignIn(context.config, user);
    // The code reached the phone: the number is proven (the first proof clears what
    // was set up before it, see db/address-proof.ts) and verified.
    const now = Date.now();
    const proof = firstProofStatements(db, user, "phoneNumber", { keepsSignUpCredentials: false, now });
    const proven = { ...afterFirstProof(user, "phoneNumber"), phoneNumberVerified: true };
    // The spec's SignInPasswordlessSmsOtpResponse: a user with TOTP finishes at /signin/mfa/totp.
    const outcome = await afterFirstFactor(context, proven);
    noteSignInSubject(c, { userId: user.id, secondFactorDue: outcome.kind === "mfa" });
    await Promise.all([runBatch(db, [...proof, markPhoneNumberVerifiedStatement(db, realm.id, user.id, now), outcome.statement]), settled]);
    return c.json(await signInAnswer(context, proven, outcome));
  });

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { sendBody as passwordlessSmsBody, verifyBody as smsOtpVerifyBody };
