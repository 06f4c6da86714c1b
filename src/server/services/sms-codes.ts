/**
 * SMS sign-in codes: one OneTimeCodes store per (realm, number), shared by
 * `/signin/passwordless/sms`, `/signup/passwordless/sms` and
 * `/user/deanonymize/sms`, redeemed at `/signin/passwordless/sms/otp`.
 */
import type { RequestContext } from "../context";
import { oneTimeCodeDigest, randomNumericCode } from "../lib/otp";
import { smsSenderFor } from "./sms";

export function smsCodesFor(context: RequestContext, phoneNumber: string) {
  const { env, realm } = context;
  return env.ONE_TIME_CODES.get(env.ONE_TIME_CODES.idFromName(`${realm.id}:sms:${phoneNumber}`));
}

/** A new sign-in code for the number (it replaces the last one, keeping its guesses). */
export async function issueSmsCode(context: RequestContext, phoneNumber: string): Promise<string> {
  const { config } = context;
  const code = randomNumericCode(config.emailOtpDigits);
  const now = Date.now();
  const codeHash = await oneTimeCodeDigest(config.refreshTokenSecret, phoneNumber, code);
  await smsCodesFor(context, phoneNumber).issue(codeHash, now + config.smsOtpTtlSeconds * 1000, config.otpMaxAttempts, now);
  return code;
}

/** Sends a code by SMS. */
export function textCode(context: RequestContext, phoneNumber: string, code: string): Promise<void> {
  const minutes = Math.round(context.config.smsOtpTtlSeconds / 60);
  return smsSenderFor(context).send({ to: phoneNumber, body: `Your code is ${code}. It expires in ${minutes} minutes.` });
}
