/**
 * Account creation: the one way a user row comes to exist, whichever sign-up
 * made it (email and password, passkey, anonymous, or the passwordless
 * find-or-create of a magic link, an email code or an SMS code).
 */
import type { SessionPayload } from "../../shared/api";
import type { RequestContext } from "../context";
import { isUniqueViolation, USER_EMAIL_UNIQUE_INDEX } from "../db/unique-violation";
import { findUserByEmail, findUserByPhone, insertUserStatements, type NewUser, type Statement, type UserWithRoles } from "../db/users";
import { AuthError } from "../errors";
import { emailPassesAccessControl } from "../lib/access-control";
import { gravatarUrl } from "../lib/gravatar";
import type { Config } from "../config";
import { resolveSignUpOptions, type SignUpOptions } from "../lib/sign-up-options";
import { newSessionToken, type IssuedRefreshToken } from "../tokens/refresh-token";
import { buildSession } from "../tokens/session";
import { checkAddressMaySignIn } from "../tokens/may-sign-in";
import { defaultRedirect, verificationMail } from "./mail/flows";
import { deliverMail, sendInBackground } from "./mail/send";
import { recordAudit } from "./audit";

/** How an account came to be, as the audit log's `signup` entries say. */
export type SignUpMethod = "email-password" | "passkey" | "anonymous" | "passwordless-email" | "passwordless-sms" | "provider" | "idtoken";

/**
 * A user to create in the request's realm (`passwordHash` hashed already, or
 * null for none); what is left out takes the default of a fresh sign-up: a
 * random id (a passkey sign-up fixes it earlier: it is the credential's user
 * handle), created now, unverified, not anonymous, enabled.
 */
export type NewAccount = Omit<NewUser, "id" | "realm" | "now" | "emailVerified" | "isAnonymous"> &
  Partial<Pick<NewUser, "id" | "emailVerified" | "isAnonymous">> & { createdAt?: number };

export interface AccountWrites {
  /** Start the account's first session in the same batch. */
  startSession?: boolean;
  /** More statements for the same batch (the sign-up's passkey, say). */
  alsoWrite?: Statement[];
  /** Records a `signup` audit entry once written; absent, the caller records its own (an admin action). */
  signUpMethod?: SignUpMethod;
}

/**
 * Refuses a sign-up address the access-control lists do not let in, answered as
 * Nhost does (as a wrong password, so the lists are not told).
 */
export function checkSignUpAddress(config: Config, email: string | null): void {
  if (email !== null && !emailPassesAccessControl(config.accessControl, email)) {
    throw new AuthError("invalid-email-password", undefined, { reason: "access-control lists" });
  }
}

/**
 * Writes the account, its roles, `alsoWrite` (a passkey, say) and, with
 * `startSession`, its first session, in one batch: nothing is half-written. The
 * callers check that the address is free first; two concurrent sign-ups for it
 * both pass that check and the unique index settles the race: the loser gets
 * `user-already-exists` (an admin, `email-already-in-use`) rather than a 500. Any
 * other failure is thrown as it is.
 *
 * A self sign-up (`signUpMethod` set) also passes the access-control lists, is
 * created disabled with DISABLE_NEW_USERS (not an anonymous one: Nhost never
 * disables those), and gets its Gravatar as `avatarUrl`, stored as Nhost does.
 */
export async function createAccount(
  context: RequestContext,
  account: NewAccount,
  writes: AccountWrites & { startSession: true },
): Promise<{ user: UserWithRoles; session: IssuedRefreshToken }>;
export async function createAccount(
  context: RequestContext,
  account: NewAccount,
  writes?: AccountWrites & { startSession?: false },
): Promise<{ user: UserWithRoles; session: null }>;
export async function createAccount(
  context: RequestContext,
  account: NewAccount,
  { startSession = false, alsoWrite = [], signUpMethod }: AccountWrites = {},
): Promise<{ user: UserWithRoles; session: IssuedRefreshToken | null }> {
  const { config, db, realm } = context;
  const { id = crypto.randomUUID(), createdAt = Date.now(), emailVerified = false, isAnonymous = false, ...rest } = account;
  const selfSignUp = signUpMethod !== undefined && !isAnonymous;
  if (selfSignUp) checkSignUpAddress(config, rest.email);
  const selfDefaults = selfSignUp
    ? {
        disabled: rest.disabled ?? config.disableNewUsers,
        avatarUrl: rest.avatarUrl ?? (rest.email === null ? "" : await gravatarUrl(config.gravatar, rest.email)),
      }
    : {};
  const inserted = insertUserStatements(db, { ...rest, ...selfDefaults, id, realm: realm.id, emailVerified, isAnonymous, now: createdAt });
  const session = startSession ? await newSessionToken(context, id) : null;
  try {
    await db.batch([...inserted.statements, ...alsoWrite, ...(session === null ? [] : [session.statement])]);
  } catch (error) {
    if (isUniqueViolation(error, USER_EMAIL_UNIQUE_INDEX)) throw new AuthError(signUpMethod === undefined ? "email-already-in-use" : "user-already-exists");
    throw error;
  }
  if (signUpMethod !== undefined) recordAudit(context, { type: "signup", outcome: "success", userId: id, detail: { method: signUpMethod } });
  return { user: inserted.row, session: session?.issued ?? null };
}

/**
 * Creates the account of a sign-up and answers it as the spec does: with its
 * session, or, with REQUIRE_VERIFIED_EMAIL, with none until the address is
 * confirmed (the verification mail, sent in the background, links to
 * `redirectTo`, else to the app; with `codeChallenge`, that link's redirect
 * carries a PKCE authorization code instead of a refresh token).
 */
export async function signUp(
  context: RequestContext,
  account: NewAccount & { email: string },
  {
    redirectTo,
    alsoWrite,
    method,
    codeChallenge = null,
  }: { redirectTo: string | null; alsoWrite?: Statement[]; method: SignUpMethod; codeChallenge?: string | null },
): Promise<SessionPayload> {
  const { config } = context;
  if (config.disableNewUsers) {
    // As Nhost: the account is made, disabled, and the sign-up is told so; no
    // session and no mail until an operator enables it.
    await createAccount(context, account, { alsoWrite, signUpMethod: method });
    throw new AuthError("disabled-user", undefined, { reason: "DISABLE_NEW_USERS" });
  }
  if (config.requireVerifiedEmail) {
    const { user } = await createAccount(context, account, { alsoWrite, signUpMethod: method });
    const mail = await verificationMail(context, user, redirectTo ?? defaultRedirect(context), codeChallenge);
    sendInBackground(context, mail.kind, () => deliverMail(context, mail));
    return { session: null };
  }
  const { user, session } = await createAccount(context, account, { startSession: true, alsoWrite, signUpMethod: method });
  return { session: await buildSession(context, user, session) };
}

export type PasswordlessAddress = { email: string } | { phoneNumber: string };

function findByAddress(context: RequestContext, address: PasswordlessAddress): Promise<UserWithRoles | null> {
  const { db, realm } = context;
  return "email" in address ? findUserByEmail(db, realm.id, address.email) : findUserByPhone(db, realm.id, address.phoneNumber);
}

/**
 * The account behind a passwordless sign-in (magic link, email code, SMS code):
 * the existing one, or a new one when sign-up is allowed and DISABLE_AUTO_SIGNUP
 * is off, its address still unverified (redeeming the link or code verifies it).
 */
export async function findOrCreatePasswordlessUser(
  context: RequestContext,
  address: PasswordlessAddress,
  options: SignUpOptions | undefined,
): Promise<UserWithRoles> {
  const existing = await findByAddress(context, address);
  if (existing !== null) {
    // No link or code for an account that could not use it.
    checkAddressMaySignIn(context.config, existing);
    return existing;
  }
  // Answered only when errors are not concealed, as for any unknown address.
  if (context.config.disableAutoSignup) throw new AuthError("invalid-request", undefined, { reason: "DISABLE_AUTO_SIGNUP: no account uses this address" });
  return createPasswordlessUser(context, address, options);
}

/**
 * The explicit passwordless sign-up (`/signup/passwordless/email`,
 * `/signup/otp/email`, `/signup/passwordless/sms`): a new account, or null when
 * the address already has one; the caller then does nothing more, so the answer
 * is the same either way (the spec's "without side effects").
 */
export async function signUpPasswordlessUser(
  context: RequestContext,
  address: PasswordlessAddress,
  options: SignUpOptions | undefined,
): Promise<UserWithRoles | null> {
  if ((await findByAddress(context, address)) !== null) return null;
  return createPasswordlessUser(context, address, options);
}

async function createPasswordlessUser(
  context: RequestContext,
  address: PasswordlessAddress,
  options: SignUpOptions | undefined,
): Promise<UserWithRoles> {
  const { config } = context;
  if (config.signupDisabled) throw new AuthError("signup-disabled");
  const resolved = resolveSignUpOptions(options, config);
  if (!resolved.ok) throw new AuthError(resolved.code);
  const label = "email" in address ? address.email : address.phoneNumber;
  let created: UserWithRoles;
  try {
    ({ user: created } = await createAccount(context, {
      email: "email" in address ? address.email : null,
      phoneNumber: "phoneNumber" in address ? address.phoneNumber : null,
      passwordHash: null,
      displayName: resolved.value.displayName ?? label,
      locale: resolved.value.locale,
      defaultRole: resolved.value.defaultRole,
      roles: resolved.value.roles,
      metadata: resolved.value.metadata,
    }, { signUpMethod: "email" in address ? "passwordless-email" : "passwordless-sms" }));
  } catch (error) {
    // Two requests for the same new address: the second finds the first's account.
    const raced = await findByAddress(context, address);
    if (raced !== null) return raced;
    throw error;
  }
  if (created.disabled) throw new AuthError("disabled-user", undefined, { reason: "DISABLE_NEW_USERS" });
  return created;
}
