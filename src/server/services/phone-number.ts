/**
 * Phone numbers after sign-up: changing the number (`/user/phone-number/change`,
 * then `/change/verify` with the code texted to the new number: the number
 * changes only then) and turning an anonymous user into one signed in by SMS
 * (`/user/deanonymize/sms`, completed at `/signin/passwordless/sms/otp`).
 */
import type { RequestContext } from "../context";
import { isUniqueViolation } from "../db/unique-violation";
import { consumeTicketRow, replaceTicketStatement } from "../db/tickets";
import { deanonymizeStatements, findUserByPhone, setPhoneNumberStatement, type Statement, type UserWithRoles } from "../db/users";
import { AuthError } from "../errors";
import { sha256Hex } from "../lib/crypto";
import { oneTimeCodeDigest, randomNumericCode } from "../lib/otp";
import type { ResolvedSignUpOptions } from "../lib/sign-up-options";
import { limitSms, reserveCredentialAttempt } from "../limits/limits";
import { issueSmsCode, textCode } from "./sms-codes";

/** The one SMS-unique index: a number belongs to one account per realm. */
const PHONE_UNIQUE_COLUMN = "users.phone_number";

function changeCodesFor(context: RequestContext, userId: string) {
  const { env, realm } = context;
  return env.ONE_TIME_CODES.get(env.ONE_TIME_CODES.idFromName(`${realm.id}:phone-change:${userId}`));
}

/** The code is bound to the user and the number it was sent to. */
function changeDigest(context: RequestContext, userId: string, phoneNumber: string, code: string) {
  return oneTimeCodeDigest(context.config.refreshTokenSecret, `phone-change:${userId}:${phoneNumber}`, code);
}

/** `user-already-exists` (Nhost's code for a taken number) when another account of the realm has the number. */
async function checkNumberFree(context: RequestContext, userId: string, phoneNumber: string): Promise<void> {
  const holder = await findUserByPhone(context.db, context.realm.id, phoneNumber);
  if (holder !== null && holder.id !== userId) throw new AuthError("user-already-exists");
}

/** Texts a code to `phoneNumber`, after the response (the message carries the code and is never logged). */
function textInBackground(context: RequestContext, phoneNumber: string, code: string): void {
  const sending = textCode(context, phoneNumber, code);
  context.waitUntil(sending.catch((error: unknown) => console.error(`SMS failed: ${error instanceof Error ? error.message : "unknown error"}`)));
}

/** `/user/phone-number/change`: a code to the new number; the account keeps its number until it is verified. */
export async function requestPhoneNumberChange(context: RequestContext, user: UserWithRoles, phoneNumber: string): Promise<void> {
  const { config } = context;
  await checkNumberFree(context, user.id, phoneNumber);
  await limitSms(context, phoneNumber);
  const code = randomNumericCode(config.emailOtpDigits);
  const now = Date.now();
  await changeCodesFor(context, user.id).issue(await changeDigest(context, user.id, phoneNumber, code), now + config.smsOtpTtlSeconds * 1000, config.otpMaxAttempts, now);
  textInBackground(context, phoneNumber, code);
}

/**
 * `/user/phone-number/change/verify`: the code texted to `phoneNumber` moves the
 * account to it, verified. Every guess counts against the account's and the
 * IP's failure limits and the code's own budget.
 */
export async function confirmPhoneNumberChange(context: RequestContext, user: UserWithRoles, phoneNumber: string, otp: string): Promise<void> {
  const { db, realm } = context;
  const attempt = await reserveCredentialAttempt(context, { userId: user.id });
  const verdict = await changeCodesFor(context, user.id).check(await changeDigest(context, user.id, phoneNumber, otp), Date.now());
  if (verdict === "exhausted") throw new AuthError("otp-too-many-attempts");
  if (verdict !== "accepted") throw new AuthError("invalid-otp");
  await attempt.succeeded();
  try {
    await db.batch([setPhoneNumberStatement(db, realm.id, user.id, phoneNumber, true, Date.now())]);
  } catch (error) {
    // Taken by another account since the code was sent.
    if (isUniqueViolation(error, PHONE_UNIQUE_COLUMN)) throw new AuthError("user-already-exists");
    throw error;
  }
}

const DEANONYMIZE_SMS = "deanonymizeSms";

/** One pending SMS deanonymization per user: its ticket's hash is derived, so a new request replaces the last. */
function pendingDeanonymizationHash(context: RequestContext, userId: string): Promise<string> {
  return sha256Hex(`${DEANONYMIZE_SMS}:${context.realm.id}:${userId}`);
}

/** What a pending SMS deanonymization will make of the account, kept with its ticket. */
type PendingDeanonymization = Pick<ResolvedSignUpOptions, "defaultRole" | "roles" | "locale" | "displayName"> & {
  metadata: Record<string, unknown> | null;
};

/**
 * `/user/deanonymize/sms`: the anonymous user gets the number (unverified, so
 * still anonymous) and a code; the options wait with a ticket as long as the
 * code lives. Redeeming the code at `/signin/passwordless/sms/otp` completes it.
 */
export async function stageSmsDeanonymization(
  context: RequestContext,
  user: UserWithRoles,
  phoneNumber: string,
  options: ResolvedSignUpOptions,
  metadataGiven: boolean,
): Promise<void> {
  const { config, db, realm } = context;
  await checkNumberFree(context, user.id, phoneNumber);
  await limitSms(context, phoneNumber);
  const now = Date.now();
  const pending: PendingDeanonymization = {
    defaultRole: options.defaultRole,
    roles: options.roles,
    locale: options.locale,
    displayName: options.displayName,
    metadata: metadataGiven ? options.metadata : null,
  };
  try {
    await db.batch([
      setPhoneNumberStatement(db, realm.id, user.id, phoneNumber, false, now),
      replaceTicketStatement(db, {
        ticketHash: await pendingDeanonymizationHash(context, user.id),
        realm: realm.id,
        userId: user.id,
        purpose: DEANONYMIZE_SMS,
        payload: JSON.stringify(pending),
        redirectTo: null,
        createdAt: now,
        expiresAt: now + config.smsOtpTtlSeconds * 1000,
      }),
    ]);
  } catch (error) {
    if (isUniqueViolation(error, PHONE_UNIQUE_COLUMN)) throw new AuthError("user-already-exists");
    throw error;
  }
  // The sign-in code store: `/signin/passwordless/sms/otp` redeems it.
  textInBackground(context, phoneNumber, await issueSmsCode(context, phoneNumber));
}

/**
 * For a verified SMS code of an anonymous user: the statements that complete a
 * pending deanonymization (its ticket is used up now), and the user as they
 * leave it; nothing when none is pending.
 */
export async function completeSmsDeanonymization(
  context: RequestContext,
  user: UserWithRoles,
): Promise<{ statements: Statement[]; user: UserWithRoles }> {
  const { db, realm } = context;
  if (!user.isAnonymous) return { statements: [], user };
  const now = Date.now();
  const row = await consumeTicketRow(db, realm.id, { ticketHash: await pendingDeanonymizationHash(context, user.id), purpose: DEANONYMIZE_SMS, now });
  if (row === null || row.payload === null) return { statements: [], user };
  const pending = JSON.parse(row.payload) as PendingDeanonymization;
  const change = {
    defaultRole: pending.defaultRole,
    roles: pending.roles,
    locale: pending.locale,
    ...(pending.displayName === null ? {} : { displayName: pending.displayName }),
    ...(pending.metadata === null ? {} : { metadata: pending.metadata }),
    now,
  };
  return {
    statements: [...deanonymizeStatements(db, realm.id, user.id, change)],
    user: {
      ...user,
      isAnonymous: false,
      defaultRole: pending.defaultRole,
      roles: [...pending.roles].sort(),
      locale: pending.locale,
      displayName: pending.displayName ?? user.displayName,
      metadata: pending.metadata === null ? user.metadata : JSON.stringify(pending.metadata),
    },
  };
}
