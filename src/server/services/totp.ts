/**
 * TOTP as a second factor: a pending secret and its QR code, activation and
 * deactivation with a code, and the second step of a sign-in that answered
 * `{ mfa: { ticket } }`. Routes: routes/mfa.ts.
 */
import qrcode from "qrcode-generator";
import type { RequestContext } from "../context";
import { findLiveTicketOwner } from "../db/tickets";
import { recordTotpStep, redeemMfaTicketWithTotp, storePendingTotpSecret, type TotpStateChange } from "../db/totp";
import { findUserById, type UserWithRoles } from "../db/users";
import { AuthError } from "../errors";
import { sha256Hex } from "../lib/crypto";
import { base32Encode, matchTotp, otpauthUri } from "../lib/totp";
import { reserveCredentialAttempt } from "../limits/limits";
import { newSessionToken, type IssuedRefreshToken } from "../tokens/refresh-token";
import { decryptTotpSecret, encryptTotpSecret } from "./totp-secrets";

const TOTP_SECRET_BYTES = 20;
const USER_ATTEMPT_WINDOW_MS = 15 * 60 * 1000;

function counter(context: RequestContext, subject: string) {
  const { env, realm } = context;
  return env.ATTEMPT_COUNTER.get(env.ATTEMPT_COUNTER.idFromName(`${realm.id}:${subject}`));
}

/**
 * Checks `code` against the user's secret and records its time step, refusing a
 * step already used. `alsoSet` rides on the same update, so activating or
 * deactivating TOTP is one atomic write with the code's use.
 */
async function acceptCode(context: RequestContext, user: UserWithRoles, code: string, alsoSet: TotpStateChange = {}): Promise<void> {
  const { config, db, realm } = context;
  if (user.totpSecretEncrypted === null) throw new AuthError("no-totp-secret");
  const secret = await decryptTotpSecret(config, user.totpSecretEncrypted, user.id);
  if (secret === null) throw new AuthError("no-totp-secret");
  const step = await matchTotp(secret, code, Date.now());
  if (step === null) throw new AuthError("invalid-totp");
  if (!(await recordTotpStep(db, realm.id, user.id, step, alsoSet))) throw new AuthError("invalid-totp");
}

/**
 * A new pending secret for the signed-in `user`, and its QR code. It stays
 * pending until `changeTotpActivation` proves the app holds it.
 */
export async function generateTotpSecret(context: RequestContext, user: UserWithRoles): Promise<{ imageUrl: string; totpSecret: string }> {
  const { config, db, realm } = context;
  if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
  if (user.activeMfaType === "totp") throw new AuthError("totp-already-active");
  const secret = crypto.getRandomValues(new Uint8Array(TOTP_SECRET_BYTES));
  const totpSecret = base32Encode(secret);
  await storePendingTotpSecret(db, realm.id, user.id, await encryptTotpSecret(config, secret, user.id), Date.now());
  // The QR code is drawn here, never by a third-party service: it carries the secret.
  const qr = qrcode(0, "M");
  qr.addData(otpauthUri(totpSecret, user.email ?? user.id, config.totpIssuer));
  qr.make();
  return { imageUrl: qr.createDataURL(4, 2), totpSecret };
}

/**
 * Activates (`activeMfaType` "totp") or deactivates ("" or none, as Nhost's
 * server does) TOTP for the signed-in `user`, with a code of its secret.
 */
export async function changeTotpActivation(
  context: RequestContext,
  user: UserWithRoles,
  code: string,
  activeMfaType: string | undefined,
): Promise<void> {
  if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
  if (activeMfaType !== undefined && activeMfaType !== "" && activeMfaType !== "totp") {
    throw new AuthError("mfa-type-not-found");
  }
  const activate = activeMfaType === "totp";
  if (activate && user.activeMfaType === "totp") throw new AuthError("totp-already-active");
  if (!activate && user.activeMfaType !== "totp") throw new AuthError("disabled-mfa-totp");
  const attempt = await reserveCredentialAttempt(context, { userId: user.id });
  const userCounter = counter(context, `totp-user:${user.id}`);
  if (!(await userCounter.attempt(context.config.totpMaxAttemptsPerUser, USER_ATTEMPT_WINDOW_MS, Date.now()))) {
    throw new AuthError("invalid-totp");
  }
  // Deactivating forgets the secret in the same write that spends the code.
  const change: TotpStateChange = activate ? { activeMfaType: "totp" } : { activeMfaType: null, totpSecretEncrypted: null };
  await acceptCode(context, user, code, { ...change, updatedAt: Date.now() });
  // The caps count wrong codes; a right one gives its attempts back.
  await Promise.all([userCounter.refund(USER_ATTEMPT_WINDOW_MS, Date.now()), attempt.succeeded()]);
}

/** The second step of a sign-in: an `mfaTotp:` ticket and a code earn the session. */
export async function signInWithTotp(
  context: RequestContext,
  ticket: string,
  otp: string,
): Promise<{ user: UserWithRoles; issued: IssuedRefreshToken }> {
  const { config, db, realm } = context;
  if (!ticket.startsWith("mfaTotp:")) throw new AuthError("invalid-ticket");
  const ticketHash = await sha256Hex(ticket);
  const now = Date.now();
  const userId = await findLiveTicketOwner(db, realm.id, { ticketHash, purpose: "mfaTotp", now });
  // A guessed ticket is a failed attempt too, counted against the IP alone.
  const attempt = await reserveCredentialAttempt(context, userId === null ? null : { userId });
  if (userId === null) throw new AuthError("invalid-ticket");
  // Guesses are counted per ticket (then it is dead) and per user (across tickets).
  if (!(await counter(context, `mfa-ticket:${ticketHash}`).attempt(config.totpMaxAttemptsPerTicket, config.mfaTicketTtlSeconds * 1000, now))) {
    throw new AuthError("invalid-ticket");
  }
  const userCounter = counter(context, `totp-user:${userId}`);
  if (!(await userCounter.attempt(config.totpMaxAttemptsPerUser, USER_ATTEMPT_WINDOW_MS, now))) {
    throw new AuthError("invalid-totp");
  }
  const user = await findUserById(db, realm.id, userId);
  if (user === null) throw new AuthError("invalid-ticket");
  if (user.disabled) throw new AuthError("disabled-user");
  if (user.activeMfaType !== "totp") throw new AuthError("disabled-mfa-totp");
  if (user.totpSecretEncrypted === null) throw new AuthError("no-totp-secret");
  const secret = await decryptTotpSecret(config, user.totpSecretEncrypted, user.id);
  if (secret === null) throw new AuthError("no-totp-secret");
  const step = await matchTotp(secret, otp, now);
  if (step === null) throw new AuthError("invalid-totp");

  const session = await newSessionToken(context, user.id);
  if (!(await redeemMfaTicketWithTotp(db, realm.id, { ticketHash, userId: user.id, step, now, session: session.row }))) {
    throw new AuthError("invalid-totp");
  }
  // The caps count wrong codes; a right one gives its attempts back.
  await Promise.all([userCounter.refund(USER_ATTEMPT_WINDOW_MS, now), attempt.succeeded()]);
  return { user, issued: session.issued };
}

/**
 * `/elevate/totp`: a code of the signed-in user's active TOTP, counted like a
 * sign-in's (per user and per account and IP), spends its time step.
 */
export async function checkTotpForElevation(context: RequestContext, user: UserWithRoles, code: string): Promise<void> {
  if (user.activeMfaType !== "totp") throw new AuthError("disabled-mfa-totp");
  const attempt = await reserveCredentialAttempt(context, { userId: user.id });
  const userCounter = counter(context, `totp-user:${user.id}`);
  if (!(await userCounter.attempt(context.config.totpMaxAttemptsPerUser, USER_ATTEMPT_WINDOW_MS, Date.now()))) {
    throw new AuthError("invalid-totp");
  }
  await acceptCode(context, user, code, { updatedAt: Date.now() });
  await Promise.all([userCounter.refund(USER_ATTEMPT_WINDOW_MS, Date.now()), attempt.succeeded()]);
}
