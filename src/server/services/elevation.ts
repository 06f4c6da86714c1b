/**
 * Elevation by a second factor or a one-time code (`/elevate/totp`,
 * `/elevate/otp/email` + `/verify`, `/elevate/otp/sms` + `/verify`); passkey
 * elevation is services/passkeys.ts. Each success is a new session whose access
 * token carries the elevation claims (tokens/elevation.ts).
 *
 * Codes live in the OneTimeCodes store of the user (not of the address), apart
 * from sign-in codes, so a sign-in code cannot elevate and the reverse; every
 * guess also counts against the account's and the IP's failure limits.
 */
import type { RequestContext } from "../context";
import type { UserWithRoles } from "../db/users";
import { AuthError } from "../errors";
import { oneTimeCodeDigest, randomNumericCode } from "../lib/otp";
import { limitMail, limitSms, reserveCredentialAttempt } from "../limits/limits";
import { elevatedClaims } from "../tokens/elevation";
import { newSessionToken } from "../tokens/refresh-token";
import { buildSession } from "../tokens/session";
import type { Session } from "../../shared/api";
import { deliverMail, sendInBackground } from "./mail/send";
import { smsSenderFor } from "./sms";

export type CodeChannel = "email" | "sms";

function codesFor(context: RequestContext, channel: CodeChannel, userId: string) {
  const { env, realm } = context;
  return env.ONE_TIME_CODES.get(env.ONE_TIME_CODES.idFromName(`${realm.id}:elevate:${channel}:${userId}`));
}

/** The code is bound to the user and the address it went to: a later address change voids it. */
function digestOf(context: RequestContext, channel: CodeChannel, user: UserWithRoles, code: string) {
  const address = channel === "email" ? user.email! : user.phoneNumber!;
  return oneTimeCodeDigest(context.config.refreshTokenSecret, `elevate:${channel}:${user.id}:${address}`, code);
}

/** Refuses what may not elevate at all. */
function checkMayElevate(user: UserWithRoles): void {
  if (user.disabled) throw new AuthError("disabled-user");
  if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
}

/**
 * Sends an elevation code to the user's verified address (`unverified-user`
 * without one, as Nhost answers) or verified number (`disabled-endpoint`
 * without one, or without an SMS transport).
 */
export async function sendElevationCode(context: RequestContext, user: UserWithRoles, channel: CodeChannel): Promise<void> {
  const { config } = context;
  checkMayElevate(user);
  if (channel === "email" && (user.email === null || !user.emailVerified)) throw new AuthError("unverified-user");
  if (channel === "sms" && (user.phoneNumber === null || !user.phoneNumberVerified || config.sms.transport === "none")) {
    throw new AuthError("disabled-endpoint");
  }
  if (channel === "email") await limitMail(context, user.email!);
  else await limitSms(context, user.phoneNumber!);
  const ttlSeconds = channel === "email" ? config.emailOtpTtlSeconds : config.smsOtpTtlSeconds;
  const code = randomNumericCode(config.emailOtpDigits);
  const now = Date.now();
  await codesFor(context, channel, user.id).issue(await digestOf(context, channel, user, code), now + ttlSeconds * 1000, config.otpMaxAttempts, now);
  const minutes = Math.round(ttlSeconds / 60);
  if (channel === "email") {
    const mail = {
      kind: "signinOtp" as const,
      to: user.email!,
      locale: user.locale,
      variables: { displayName: user.displayName, email: user.email!, code, ttlMinutes: minutes },
    };
    sendInBackground(context, mail.kind, () => deliverMail(context, mail));
  } else {
    const to = user.phoneNumber!;
    const sending = smsSenderFor(context).send({ to, body: `Your code is ${code}. It expires in ${minutes} minutes.` });
    // Logged without the message: it carries the code.
    context.waitUntil(sending.catch((error: unknown) => console.error(`elevation SMS failed: ${error instanceof Error ? error.message : "unknown error"}`)));
  }
}

/** Checks an elevation code (`invalid-otp` for a wrong or expired one, `otp-too-many-attempts` once its guesses are spent). */
export async function checkElevationCode(context: RequestContext, user: UserWithRoles, channel: CodeChannel, otp: string): Promise<void> {
  checkMayElevate(user);
  const attempt = await reserveCredentialAttempt(context, { userId: user.id });
  const address = channel === "email" ? user.email : user.phoneNumber;
  if (address === null) throw new AuthError("invalid-otp");
  const verdict = await codesFor(context, channel, user.id).check(await digestOf(context, channel, user, otp), Date.now());
  // The last wrong guess and every one after it: the code is spent, a new one is needed.
  if (verdict === "exhausted") throw new AuthError("otp-too-many-attempts");
  if (verdict !== "accepted") throw new AuthError("invalid-otp");
  await attempt.succeeded();
}

/** A new session for `user` whose access token is elevated now. */
export async function elevatedSession(context: RequestContext, user: UserWithRoles): Promise<Session> {
  const session = await newSessionToken(context, user.id);
  await context.db.batch([session.statement]);
  return buildSession(context, user, session.issued, elevatedClaims(user.id, Date.now()));
}
