/**
 * Passkeys (WebAuthn) with @simplewebauthn/server: sign-up, sign-in, elevation,
 * and adding, listing and removing a user's keys. Routes: routes/webauthn.ts.
 *
 * Every challenge is stored as its SHA-256, single-use, expiring, and bound to its
 * ceremony and (when known) its user; it is consumed before the response is
 * verified, so a failed attempt burns it too.
 */
import * as z from "zod/mini";
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type WebAuthnCredential,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { cose, decodeCredentialPublicKey, isoBase64URL } from "@simplewebauthn/server/helpers";
import type { AccessTokenClaims } from "@edgeauth/client";
import type { RequestContext } from "../context";
import type { SessionPayload } from "../../shared/api";
import { isUniqueViolation } from "../db/unique-violation";
import { findUserByEmail, findUserById, type UserWithRoles } from "../db/users";
import {
  consumeChallenge,
  CREDENTIAL_ID_COLUMN,
  deleteCredentialOfUser,
  findCredential,
  insertChallengeStatement,
  insertCredential,
  insertCredentialStatement,
  listCredentialsOfUser,
  recordAssertionWithSession,
  type Ceremony,
  type WebauthnCredentialRow,
} from "../db/webauthn";
import { AuthError } from "../errors";
import { hmacSha256, sha256Hex } from "../lib/crypto";
import { isCanonicalEcdsaDer } from "../lib/der";
import { boundedString } from "../lib/schema";
import { resolveSignUpOptions, type SignUpOptions } from "../lib/sign-up-options";
import { limitSignUp, reserveCredentialAttempt, type CredentialAttempt } from "../limits/limits";
import type { ExtraClaims } from "../tokens/access-token";
import { elevatedClaims, requireElevation } from "../tokens/elevation";
import { checkMaySignIn, signInRefusal } from "../tokens/may-sign-in";
import { newSessionToken, type IssuedRefreshToken } from "../tokens/refresh-token";
import { checkSignUpAddress, signUp } from "./accounts";

// Base64url as browsers' `toJSON()` emits it (unpadded; padding tolerated).
const base64url = (max: number) => boundedString(1, max).check(z.regex(/^[A-Za-z0-9_-]+={0,2}$/));
const extensionOutputs = z.optional(z.record(z.string(), z.unknown()));

// The spec's CredentialCreationResponse / CredentialAssertionResponse. Credential
// IDs are at most 1023 bytes (WebAuthn §5.1), 1364 base64url characters.
export const passkeyCreationSchema = z.strictObject({
  id: base64url(1400),
  rawId: base64url(1400),
  type: z.literal("public-key"),
  authenticatorAttachment: z.optional(boundedString(0, 32)),
  clientExtensionResults: extensionOutputs,
  response: z.strictObject({
    clientDataJSON: base64url(8192),
    attestationObject: base64url(32_768),
    authenticatorData: z.optional(base64url(16_384)),
    transports: z.optional(z.array(boundedString(1, 32)).check(z.maxLength(16))),
    publicKey: z.optional(base64url(4096)),
    publicKeyAlgorithm: z.optional(z.int()),
  }),
});
export const passkeyAssertionSchema = z.strictObject({
  id: base64url(1400),
  rawId: base64url(1400),
  type: z.literal("public-key"),
  authenticatorAttachment: z.optional(boundedString(0, 32)),
  clientExtensionResults: extensionOutputs,
  response: z.strictObject({
    clientDataJSON: base64url(8192),
    authenticatorData: base64url(16_384),
    signature: base64url(1024),
    userHandle: z.optional(z.nullable(boundedString(0, 128))),
  }),
});

export type PasskeyCreation = z.infer<typeof passkeyCreationSchema>;
export type PasskeyAssertion = z.infer<typeof passkeyAssertionSchema>;

/** A session a passkey assertion earned, for the route to answer. */
export interface PasskeySession {
  user: UserWithRoles;
  issued: IssuedRefreshToken;
}

const KNOWN_TRANSPORTS: readonly string[] = ["usb", "nfc", "ble", "smart-card", "hybrid", "internal", "cable"];

interface SignUpPayload {
  email: string;
  userId: string;
  options: SignUpOptions | null;
}

/** Every passkey route answers `disabled-endpoint` while passkeys are off. */
export function requireEnabled(context: RequestContext): void {
  if (!context.config.webauthn.enabled) throw new AuthError("disabled-endpoint");
}

/** The challenge a client answered, read from its clientDataJSON. */
function answeredChallenge(clientDataJSON: string): string {
  try {
    const parsed: unknown = JSON.parse(isoBase64URL.toUTF8String(clientDataJSON));
    const challenge = (parsed as { challenge?: unknown }).challenge;
    if (typeof challenge === "string" && challenge.length > 0 && challenge.length <= 256) return challenge;
  } catch {
    // Falls through to the refusal below.
  }
  throw new AuthError("invalid-request", undefined, { reason: "clientDataJSON is not readable" });
}

async function storeChallenge(
  context: RequestContext,
  challenge: string,
  ceremony: Ceremony,
  userId: string | null,
  payload: unknown = null,
): Promise<void> {
  const { db, realm, config } = context;
  const now = Date.now();
  await insertChallengeStatement(db, {
    challengeHash: await sha256Hex(challenge),
    realm: realm.id,
    ceremony,
    userId,
    payload: payload === null ? null : JSON.stringify(payload),
    now,
    ttlSeconds: config.webauthn.challengeTtlSeconds,
  });
}

async function takeChallenge(context: RequestContext, challenge: string, ceremony: Ceremony, userId?: string) {
  const consumed = await consumeChallenge(context.db, {
    realm: context.realm.id,
    challengeHash: await sha256Hex(challenge),
    ceremony,
    ...(userId === undefined ? {} : { userId }),
    now: Date.now(),
  });
  if (consumed === null) throw new AuthError("invalid-request", undefined, { reason: "unknown, used or expired challenge" });
  return consumed;
}

function expectations(context: RequestContext, challenge: string) {
  const { webauthn } = context.config;
  return { expectedChallenge: challenge, expectedOrigin: webauthn.origins, expectedRPID: webauthn.rpId };
}

type Transports = NonNullable<WebAuthnCredential["transports"]>;

function timeoutMs(context: RequestContext): number {
  return context.config.webauthn.challengeTtlSeconds * 1000;
}

function parseTransports(json: string): NonNullable<WebAuthnCredential["transports"]> {
  try {
    const parsed: unknown = JSON.parse(json);
    if (Array.isArray(parsed)) return parsed.filter((t): t is NonNullable<WebAuthnCredential["transports"]>[number] => KNOWN_TRANSPORTS.includes(t));
  } catch {
    // Stored by us; unreadable means none.
  }
  return [];
}

async function verifyNewCredential(
  context: RequestContext,
  credential: PasskeyCreation,
  challenge: string,
  userId: string,
  nickname: string | undefined,
) {
  let verification;
  try {
    verification = await verifyRegistrationResponse({
      response: credential as RegistrationResponseJSON,
      ...expectations(context, challenge),
      requireUserVerification: false,
    });
  } catch (error) {
    throw new AuthError("invalid-request", undefined, { reason: `passkey registration refused: ${reason(error)}` });
  }
  if (!verification.verified) throw new AuthError("invalid-request", undefined, { reason: "passkey registration refused" });
  const info = verification.registrationInfo;
  const transports = (credential.response.transports ?? []).filter((t) => KNOWN_TRANSPORTS.includes(t));
  return {
    // The ID inside the signed authenticator data, not the one the client claims.
    id: info.credential.id,
    realm: context.realm.id,
    userId,
    publicKey: isoBase64URL.fromBuffer(info.credential.publicKey),
    counter: info.credential.counter,
    transports: JSON.stringify([...new Set(transports)]),
    nickname: nickname ?? null,
    aaguid: info.aaguid,
    deviceType: info.credentialDeviceType,
    backedUp: info.credentialBackedUp,
    createdAt: Date.now(),
  };
}

/** Library messages name the failed check (origin, RP ID, signature...), never a secret. */
function reason(error: unknown): string {
  return error instanceof Error ? error.message.slice(0, 200) : "unknown";
}

/**
 * Verifies an assertion against a stored credential, then advances its counter.
 * ES256/384/512 signatures must be canonical DER (README, "Passkeys").
 */
async function verifyAssertion(
  context: RequestContext,
  credential: PasskeyAssertion,
  challenge: string,
  stored: WebauthnCredentialRow,
): Promise<number> {
  const publicKey = isoBase64URL.toBuffer(stored.publicKey);
  if (decodeCredentialPublicKey(publicKey).get(cose.COSEKEYS.kty) === cose.COSEKTY.EC2) {
    if (!isCanonicalEcdsaDer(isoBase64URL.toBuffer(credential.response.signature))) {
      throw new AuthError("invalid-request", undefined, { reason: "passkey assertion refused: signature is not canonical DER" });
    }
  }
  let verification;
  try {
    verification = await verifyAuthenticationResponse({
      response: credential as AuthenticationResponseJSON,
      ...expectations(context, challenge),
      credential: { id: stored.id, publicKey, counter: stored.counter, transports: parseTransports(stored.transports) },
      requireUserVerification: false,
    });
  } catch (error) {
    throw new AuthError("invalid-request", undefined, { reason: `passkey assertion refused: ${reason(error)}` });
  }
  if (!verification.verified) throw new AuthError("invalid-request", undefined, { reason: "passkey assertion refused" });
  return verification.authenticationInfo.newCounter;
}

/**
 * Records the assertion and starts the session in one batch. The library refuses
 * a counter that does not increase (unless both are 0); the conditional write
 * closes the race between two concurrent assertions, and the session row exists
 * only if that write happened.
 */
async function sessionAfterAssertion(context: RequestContext, stored: WebauthnCredentialRow, newCounter: number, userId: string) {
  const session = await newSessionToken(context, userId);
  const recorded = await recordAssertionWithSession(context.db, context.realm.id, { id: stored.id, newCounter, now: Date.now(), session: session.row });
  if (!recorded) throw new AuthError("invalid-request", undefined, { reason: "passkey assertion refused: counter did not increase" });
  return session;
}

/** The stored credential an assertion names, checked against the user it must belong to. */
async function credentialFor(
  context: RequestContext,
  credential: PasskeyAssertion,
  expectedUserId: string | null,
): Promise<WebauthnCredentialRow> {
  if (credential.id !== credential.rawId) throw new AuthError("invalid-request", undefined, { reason: "id and rawId differ" });
  const stored = await findCredential(context.db, context.realm.id, credential.id);
  if (stored === null) throw new AuthError("invalid-request", undefined, { reason: "unknown credential" });
  if (expectedUserId !== null && stored.userId !== expectedUserId) throw new AuthError("invalid-request", undefined, { reason: "unknown credential" });
  // A discoverable credential returns the user handle we set at registration (the user id).
  const handle = credential.response.userHandle;
  if (handle !== undefined && handle !== null && handle !== "") {
    let handleText: string | null = null;
    try {
      handleText = isoBase64URL.toUTF8String(handle);
    } catch {
      handleText = null;
    }
    if (handleText !== stored.userId) throw new AuthError("invalid-request", undefined, { reason: "user handle does not match the credential" });
  }
  return stored;
}

/**
 * The stored credential an assertion names, and a reserved attempt against its
 * user and the client's IP (README, "Rate limits"). An assertion naming no known
 * credential is a failed attempt of the IP alone.
 */
async function reserveAssertionAttempt(
  context: RequestContext,
  credential: PasskeyAssertion,
  expectedUserId: string | null,
): Promise<{ stored: WebauthnCredentialRow; attempt: CredentialAttempt }> {
  let stored: WebauthnCredentialRow;
  try {
    stored = await credentialFor(context, credential, expectedUserId);
  } catch (error) {
    await reserveCredentialAttempt(context, null);
    throw error;
  }
  return { stored, attempt: await reserveCredentialAttempt(context, { userId: stored.userId }) };
}

/** The signed-in user may manage passkeys: not disabled, not anonymous. */
function requireRegularUser(user: UserWithRoles): UserWithRoles {
  if (user.disabled) throw new AuthError("disabled-user");
  if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
  return user;
}

function excludeList(credentials: WebauthnCredentialRow[]) {
  return credentials.map((row) => ({ id: row.id, transports: parseTransports(row.transports) }));
}

/**
 * With errors concealed, sign-in options for an email must not tell whether it
 * has an account, whether that account may sign in, or whether it has passkeys.
 * Those cases get a stand-in credential ID derived from the email under a server
 * secret: the same on every call, as a real user's key would be, and matching no
 * authenticator. (The SimpleWebAuthn and WebAuthn L3 privacy notes describe this.)
 */
async function standInCredentials(context: RequestContext, email: string) {
  const digest = await hmacSha256(context.config.refreshTokenSecret, `edgeauth webauthn stand-in v1\u0000${email}`);
  const transports: Transports = ["hybrid", "internal"];
  return [{ id: isoBase64URL.fromBuffer(digest.slice(0, 16)), transports }];
}

async function registrationOptions(context: RequestContext, user: { id: string; name: string; displayName: string }, exclude: WebauthnCredentialRow[]) {
  const { webauthn } = context.config;
  return generateRegistrationOptions({
    rpName: webauthn.rpName,
    rpID: webauthn.rpId,
    // The user handle is the user id's text, so a discoverable sign-in names its user.
    userID: new Uint8Array(new TextEncoder().encode(user.id)),
    userName: user.name,
    userDisplayName: user.displayName,
    timeout: timeoutMs(context),
    attestationType: "none",
    excludeCredentials: excludeList(exclude),
    authenticatorSelection: { residentKey: "preferred", userVerification: "preferred" },
  });
}

async function requestOptions(context: RequestContext, allow: { id: string; transports?: Transports }[]) {
  const { webauthn } = context.config;
  return generateAuthenticationOptions({
    rpID: webauthn.rpId,
    allowCredentials: allow,
    userVerification: "preferred",
    timeout: timeoutMs(context),
  });
}

/** A passkey registered twice (a race, or a key already on another account) is refused with its own message. */
async function refusingKnownKey<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error, CREDENTIAL_ID_COLUMN)) throw new AuthError("invalid-request", undefined, { reason: "this security key is already registered" });
    throw error;
  }
}

/**
 * `/signup/webauthn`: options to create a passkey for a new account with
 * `email`. The account's id is fixed now (it is the passkey's user handle) and
 * kept with the challenge, with the email and options, until the sign-up is verified.
 */
export async function startPasskeySignUp(
  context: RequestContext,
  email: string,
  options: SignUpOptions | undefined,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { config, db, realm } = context;
  requireEnabled(context);
  if (config.signupDisabled) throw new AuthError("signup-disabled");
  const resolved = resolveSignUpOptions(options, config);
  if (!resolved.ok) throw new AuthError(resolved.code);
  checkSignUpAddress(config, email);
  if ((await findUserByEmail(db, realm.id, email)) !== null) throw new AuthError("user-already-exists");
  const userId = crypto.randomUUID();
  const creation = await registrationOptions(context, { id: userId, name: email, displayName: resolved.value.displayName ?? email }, []);
  const payload: SignUpPayload = { email, userId, options: options ?? null };
  await storeChallenge(context, creation.challenge, "signup", null, payload);
  return creation;
}

/**
 * `/signup/webauthn/verify`: creates the account with its passkey. Options sent
 * now win over those sent with the challenge; both are re-checked.
 */
export async function finishPasskeySignUp(
  context: RequestContext,
  credential: PasskeyCreation,
  options: SignUpOptions | undefined,
  nickname: string | undefined,
  codeChallenge: string | null = null,
): Promise<SessionPayload> {
  const { config, db, realm } = context;
  requireEnabled(context);
  if (config.signupDisabled) throw new AuthError("signup-disabled");
  const challenge = answeredChallenge(credential.response.clientDataJSON);
  const consumed = await takeChallenge(context, challenge, "signup");
  const payload = JSON.parse(consumed.payload ?? "null") as SignUpPayload | null;
  if (payload === null) throw new AuthError("invalid-request", undefined, { reason: "unknown, used or expired challenge" });
  const resolved = resolveSignUpOptions(options ?? payload.options ?? undefined, config);
  if (!resolved.ok) throw new AuthError(resolved.code);
  const stored = await verifyNewCredential(context, credential, challenge, payload.userId, nickname);
  if ((await findUserByEmail(db, realm.id, payload.email)) !== null) throw new AuthError("user-already-exists");
  await limitSignUp(context);

  const account = {
    id: payload.userId,
    email: payload.email,
    passwordHash: null,
    displayName: resolved.value.displayName ?? payload.email,
    locale: resolved.value.locale,
    defaultRole: resolved.value.defaultRole,
    roles: resolved.value.roles,
    metadata: resolved.value.metadata,
    // As Nhost: a passkey proves the device, not the address.
    emailVerified: false,
    // A passkey registered by the sign-up carries the account's creation time (db/address-proof.ts).
    createdAt: stored.createdAt,
  };
  const alsoWrite = [insertCredentialStatement(db, stored)];
  return refusingKnownKey(() => signUp(context, account, { redirectTo: resolved.value.redirectTo, alsoWrite, method: "passkey", codeChallenge }));
}

/**
 * `/signin/webauthn`: options for an assertion. Without an email the challenge
 * is for a discoverable credential: the authenticator picks the account.
 */
export async function startPasskeySignIn(context: RequestContext, email: string | undefined): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { db, realm } = context;
  requireEnabled(context);
  const user = email === undefined ? null : await findUserByEmail(db, realm.id, email);
  // Always the second query, so an unknown email costs the same round trips.
  const credentials = await listCredentialsOfUser(db, realm.id, user?.id ?? "");
  const concealed = context.config.enumerationProtection && email !== undefined;
  if (user !== null && !concealed) checkMaySignIn(context.config, user);
  const showsKeys = user !== null && credentials.length > 0 && signInRefusal(context.config, user) === null;
  const allow = showsKeys ? excludeList(credentials) : concealed ? await standInCredentials(context, email!) : [];
  const request = await requestOptions(context, allow);
  await storeChallenge(context, request.challenge, "signin", showsKeys ? user.id : null);
  return request;
}

/**
 * The assertion half of sign-in and elevation: the answered challenge of `ceremony`
 * is consumed, an attempt reserved against the credential's user and the IP, the
 * signature and counter checked, and the session written only with the counter.
 * `userOf` names the user that may hold the session (and refuses others).
 */
async function sessionFromAssertion(
  context: RequestContext,
  credential: PasskeyAssertion,
  ceremony: "signin" | "elevate",
  expectedUserId: string | null,
  userOf: (stored: WebauthnCredentialRow) => Promise<UserWithRoles>,
): Promise<PasskeySession> {
  requireEnabled(context);
  const challenge = answeredChallenge(credential.response.clientDataJSON);
  const consumed = await takeChallenge(context, challenge, ceremony, expectedUserId ?? undefined);
  const { stored, attempt } = await reserveAssertionAttempt(context, credential, expectedUserId ?? consumed.userId);
  const newCounter = await verifyAssertion(context, credential, challenge, stored);
  const settled = attempt.succeeded();
  const user = await userOf(stored);
  checkMaySignIn(context.config, user);
  const [session] = await Promise.all([sessionAfterAssertion(context, stored, newCounter, user.id), settled]);
  return { user, issued: session.issued };
}

/** `/signin/webauthn/verify`: an assertion earns a session. */
export function finishPasskeySignIn(context: RequestContext, credential: PasskeyAssertion): Promise<PasskeySession> {
  const { db, realm } = context;
  return sessionFromAssertion(context, credential, "signin", null, async (stored) => {
    const user = await findUserById(db, realm.id, stored.userId);
    if (user === null) throw new AuthError("invalid-request", undefined, { reason: "unknown credential" });
    return user;
  });
}

/** `/elevate/webauthn`: options for an assertion with one of the signed-in user's keys. */
export async function startElevation(context: RequestContext, user: UserWithRoles): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { db, realm } = context;
  requireRegularUser(user);
  checkMaySignIn(context.config, user);
  const allow = await listCredentialsOfUser(db, realm.id, user.id);
  if (allow.length === 0) throw new AuthError("invalid-request", undefined, { reason: "the user has no security key" });
  const request = await requestOptions(context, excludeList(allow));
  await storeChallenge(context, request.challenge, "elevate", user.id);
  return request;
}

/** `/elevate/webauthn/verify`: an assertion earns a session whose tokens carry the elevation `claims`. */
export async function finishElevation(
  context: RequestContext,
  user: UserWithRoles,
  claims: AccessTokenClaims,
  credential: PasskeyAssertion,
): Promise<PasskeySession & { claims: ExtraClaims }> {
  const session = await sessionFromAssertion(context, credential, "elevate", claims.sub, async () => requireRegularUser(user));
  return { ...session, claims: elevatedClaims(user.id, Date.now()) };
}

/** `/user/webauthn/add`: options to add a passkey to the signed-in user, excluding those it has. */
export async function startAddingPasskey(
  context: RequestContext,
  user: UserWithRoles,
  claims: AccessTokenClaims,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  requireRegularUser(user);
  await requireElevation(context, claims, user);
  const existing = await listCredentialsOfUser(context.db, context.realm.id, user.id);
  const creation = await registrationOptions(
    context,
    { id: user.id, name: user.email ?? user.id, displayName: user.displayName || (user.email ?? user.id) },
    existing,
  );
  await storeChallenge(context, creation.challenge, "add", user.id);
  return creation;
}

/** `/user/webauthn/verify`: stores the new passkey; answers its id and nickname. */
export async function finishAddingPasskey(
  context: RequestContext,
  user: UserWithRoles,
  claims: AccessTokenClaims,
  credential: PasskeyCreation,
  nickname: string | undefined,
): Promise<{ id: string; nickname: string | null }> {
  requireEnabled(context);
  requireRegularUser(user);
  await requireElevation(context, claims, user);
  const challenge = answeredChallenge(credential.response.clientDataJSON);
  await takeChallenge(context, challenge, "add", user.id);
  const stored = await verifyNewCredential(context, credential, challenge, user.id, nickname);
  await refusingKnownKey(() => insertCredential(context.db, stored));
  return { id: stored.id, nickname: stored.nickname };
}

/** `GET /user/webauthn`: the user's passkeys as the answer lists them, oldest first. */
export async function listPasskeys(context: RequestContext, userId: string) {
  const rows = await listCredentialsOfUser(context.db, context.realm.id, userId);
  return rows.map((row) => ({
    id: row.id,
    nickname: row.nickname,
    createdAt: new Date(row.createdAt).toISOString(),
    lastUsedAt: row.lastUsedAt === null ? null : new Date(row.lastUsedAt).toISOString(),
    transports: parseTransports(row.transports),
  }));
}

/** `DELETE /user/webauthn/:id`: removes one of the user's passkeys. */
export async function removePasskey(context: RequestContext, claims: AccessTokenClaims, user: UserWithRoles, id: string): Promise<void> {
  // Removing keys must not be the way around elevation.
  await requireElevation(context, claims, user);
  const removed = await deleteCredentialOfUser(context.db, context.realm.id, claims.sub, id);
  if (!removed) throw new AuthError("not-found");
}
