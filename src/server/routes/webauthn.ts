/**
 * Passkeys (WebAuthn) with @simplewebauthn/server: sign-up and sign-in
 * (`/signup/webauthn*`, `/signin/webauthn*`), adding keys (`/user/webauthn/add`,
 * `/user/webauthn/verify`), elevation (`/elevate/webauthn*`); ours: `GET
 * /user/webauthn` lists the caller's keys and `DELETE /user/webauthn/:id` removes one.
 *
 * Every challenge is stored as its SHA-256, single-use, expiring, and bound to its
 * ceremony and (when known) its user; it is consumed before the response is
 * verified, so a failed attempt burns it too.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type WebAuthnCredential,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { cose, decodeCredentialPublicKey, isoBase64URL } from "@simplewebauthn/server/helpers";
import type { AppEnv, RequestContext } from "../context";
import type { SessionPayload } from "../../shared/api";
import { findUserByEmail, findUserById, insertUserStatements, type UserWithRoles } from "../db/users";
import {
  consumeChallenge,
  deleteCredentialOfUser,
  findCredential,
  insertChallengeStatement,
  insertCredentialStatement,
  listCredentialsOfUser,
  assertionRecordedBy,
  recordAssertionStatement,
  type Ceremony,
  type WebauthnCredentialRow,
} from "../db/webauthn";
import { insertRefreshTokenIfStatement } from "../db/refresh-tokens";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { hmacSha256, sha256Hex } from "../lib/crypto";
import { emailSchema } from "../lib/credentials";
import { isCanonicalEcdsaDer } from "../lib/der";
import { boundedString } from "../lib/schema";
import { resolveSignUpOptions, signUpOptionsSchema, type ResolvedSignUpOptions } from "../lib/sign-up-options";
import { verificationMail } from "../services/mail/flows";
import { deliverMail, sendInBackground } from "../services/mail/send";
import { elevatedClaims, requireElevationIfKeys } from "../tokens/elevation";
import { newSessionToken } from "../tokens/refresh-token";
import { buildSession } from "../tokens/session";
import { checkMaySignIn, signInRefusal } from "../tokens/may-sign-in";
import { requireAccessToken, requireSessionUser } from "../tokens/verify";
import { limitSignUp, reserveCredentialAttempt, type CredentialAttempt } from "../limits/limits";

// Base64url as browsers' `toJSON()` emits it (unpadded; padding tolerated).
const base64url = (max: number) => boundedString(1, max).check(z.regex(/^[A-Za-z0-9_-]+={0,2}$/));
const extensionOutputs = z.optional(z.record(z.string(), z.unknown()));

// The spec's CredentialCreationResponse / CredentialAssertionResponse. Credential
// IDs are at most 1023 bytes (WebAuthn §5.1), 1364 base64url characters.
const creationResponse = z.strictObject({
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
const assertionResponse = z.strictObject({
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
const nicknameSchema = boundedString(1, 64);

const signUpBody = z.strictObject({ email: emailSchema, options: z.optional(signUpOptionsSchema) });
const signUpVerifyBody = z.strictObject({
  credential: creationResponse,
  options: z.optional(signUpOptionsSchema),
  nickname: z.optional(nicknameSchema),
});
const signInBody = z.strictObject({ email: z.optional(emailSchema) });
// `email` is deprecated in the spec and ignored: the credential names its user.
const assertionBody = z.strictObject({ email: z.optional(emailSchema), credential: assertionResponse });
const addVerifyBody = z.strictObject({ credential: creationResponse, nickname: z.optional(nicknameSchema) });

const KNOWN_TRANSPORTS: readonly string[] = ["usb", "nfc", "ble", "smart-card", "hybrid", "internal", "cable"];

interface SignUpPayload {
  email: string;
  userId: string;
  options: z.infer<typeof signUpOptionsSchema> | null;
}

function requireEnabled(context: RequestContext): void {
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
  throw new AuthError("invalid-request", "clientDataJSON is not readable");
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
  if (consumed === null) throw new AuthError("invalid-request", "unknown, used or expired challenge");
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
  credential: z.infer<typeof creationResponse>,
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
    throw new AuthError("invalid-request", `passkey registration refused: ${reason(error)}`);
  }
  if (!verification.verified) throw new AuthError("invalid-request", "passkey registration refused");
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
  credential: z.infer<typeof assertionResponse>,
  challenge: string,
  stored: WebauthnCredentialRow,
): Promise<number> {
  const publicKey = isoBase64URL.toBuffer(stored.publicKey);
  if (decodeCredentialPublicKey(publicKey).get(cose.COSEKEYS.kty) === cose.COSEKTY.EC2) {
    if (!isCanonicalEcdsaDer(isoBase64URL.toBuffer(credential.response.signature))) {
      throw new AuthError("invalid-request", "passkey assertion refused: signature is not canonical DER");
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
    throw new AuthError("invalid-request", `passkey assertion refused: ${reason(error)}`);
  }
  if (!verification.verified) throw new AuthError("invalid-request", "passkey assertion refused");
  return verification.authenticationInfo.newCounter;
}

/**
 * Records the assertion and starts the session in one batch. The library refuses
 * a counter that does not increase (unless both are 0); the conditional write
 * closes the race between two concurrent assertions, and the session row exists
 * only if that write happened.
 */
async function sessionAfterAssertion(context: RequestContext, stored: WebauthnCredentialRow, newCounter: number, userId: string) {
  const nonce = crypto.randomUUID();
  const session = await newSessionToken(context, userId);
  const [recorded] = await context.db.batch([
    recordAssertionStatement(context.db, { realm: context.realm.id, id: stored.id, newCounter, now: Date.now(), nonce }),
    insertRefreshTokenIfStatement(context.db, session.row, assertionRecordedBy(stored.id, nonce)),
  ]);
  if (recorded.meta.changes === 0) throw new AuthError("invalid-request", "passkey assertion refused: counter did not increase");
  return session;
}

/** The stored credential an assertion names, checked against the user it must belong to. */
async function credentialFor(
  context: RequestContext,
  credential: z.infer<typeof assertionResponse>,
  expectedUserId: string | null,
): Promise<WebauthnCredentialRow> {
  if (credential.id !== credential.rawId) throw new AuthError("invalid-request", "id and rawId differ");
  const stored = await findCredential(context.db, context.realm.id, credential.id);
  if (stored === null) throw new AuthError("invalid-request", "unknown credential");
  if (expectedUserId !== null && stored.userId !== expectedUserId) throw new AuthError("invalid-request", "unknown credential");
  // A discoverable credential returns the user handle we set at registration (the user id).
  const handle = credential.response.userHandle;
  if (handle !== undefined && handle !== null && handle !== "") {
    let handleText: string | null = null;
    try {
      handleText = isoBase64URL.toUTF8String(handle);
    } catch {
      handleText = null;
    }
    if (handleText !== stored.userId) throw new AuthError("invalid-request", "user handle does not match the credential");
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
  credential: z.infer<typeof assertionResponse>,
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

/** Runs a batch; a unique-key race surfaces as its error code, not a 500. */
async function batchOrConflict(context: RequestContext, statements: Parameters<RequestContext["db"]["batch"]>[0]) {
  try {
    await context.db.batch(statements);
  } catch (error) {
    const message = String((error as Error)?.message ?? error);
    if (message.includes("UNIQUE constraint failed: users.email")) throw new AuthError("email-already-in-use");
    if (message.includes("UNIQUE constraint failed: webauthn_credentials.id")) {
      throw new AuthError("invalid-request", "this security key is already registered");
    }
    throw error;
  }
}

export const webauthnRoutes = new Hono<AppEnv>()
  .post("/signup/webauthn", async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    const body = await readJsonBody(c.req.raw, signUpBody);
    requireEnabled(context);
    if (config.signupDisabled) throw new AuthError("signup-disabled");
    const options = resolveSignUpOptions(body.options, config);
    if (!options.ok) throw new AuthError(options.code);
    if ((await findUserByEmail(db, realm.id, body.email)) !== null) throw new AuthError("email-already-in-use");
    const userId = crypto.randomUUID();
    const creation = await registrationOptions(
      context,
      { id: userId, name: body.email, displayName: options.value.displayName ?? body.email },
      [],
    );
    const payload: SignUpPayload = { email: body.email, userId, options: body.options ?? null };
    await storeChallenge(context, creation.challenge, "signup", null, payload);
    return c.json(creation);
  })

  .post("/signup/webauthn/verify", async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    const body = await readJsonBody(c.req.raw, signUpVerifyBody);
    requireEnabled(context);
    if (config.signupDisabled) throw new AuthError("signup-disabled");
    const challenge = answeredChallenge(body.credential.response.clientDataJSON);
    const consumed = await takeChallenge(context, challenge, "signup");
    const payload = JSON.parse(consumed.payload ?? "null") as SignUpPayload | null;
    if (payload === null) throw new AuthError("invalid-request", "unknown, used or expired challenge");
    // Options sent now win over those sent with the challenge; both are re-checked.
    const options = resolveSignUpOptions(body.options ?? payload.options ?? undefined, config);
    if (!options.ok) throw new AuthError(options.code);
    const credential = await verifyNewCredential(context, body.credential, challenge, payload.userId, body.nickname);
    if ((await findUserByEmail(db, realm.id, payload.email)) !== null) throw new AuthError("email-already-in-use");
    await limitSignUp(context);

    const resolved: ResolvedSignUpOptions = options.value;
    const inserted = insertUserStatements(db, {
      id: payload.userId,
      realm: realm.id,
      email: payload.email,
      passwordHash: null,
      displayName: resolved.displayName ?? payload.email,
      locale: resolved.locale,
      defaultRole: resolved.defaultRole,
      roles: resolved.roles,
      metadata: resolved.metadata,
      // As Nhost: a passkey proves the device, not the address.
      emailVerified: false,
      isAnonymous: false,
      now: credential.createdAt,
    });
    const credentialInsert = insertCredentialStatement(db, credential);
    if (config.requireVerifiedEmail) {
      await batchOrConflict(context, [...inserted.statements, credentialInsert]);
      const redirectTo = resolved.redirectTo ?? config.clientUrl ?? config.publicUrl;
      const mail = await verificationMail(context, inserted.row, redirectTo);
      sendInBackground(context, mail.kind, () => deliverMail(context, mail));
      return c.json({ session: null } satisfies SessionPayload);
    }
    const session = await newSessionToken(context, inserted.row.id);
    await batchOrConflict(context, [...inserted.statements, credentialInsert, session.statement]);
    return c.json({ session: await buildSession(context, inserted.row, session.issued) } satisfies SessionPayload);
  })

  .post("/signin/webauthn", async (c) => {
    const context = c.var.context;
    const { db, realm } = context;
    const body = await readJsonBody(c.req.raw, signInBody, { optional: true });
    requireEnabled(context);
    // Without an email the challenge is for a discoverable credential: the
    // authenticator picks the account.
    const user = body.email === undefined ? null : await findUserByEmail(db, realm.id, body.email);
    // Always the second query, so an unknown email costs the same round trips.
    const credentials = await listCredentialsOfUser(db, realm.id, user?.id ?? "");
    const concealed = context.config.concealErrors && body.email !== undefined;
    if (user !== null && !concealed) checkMaySignIn(context.config, user);
    const showsKeys = user !== null && credentials.length > 0 && signInRefusal(context.config, user) === null;
    const allow = showsKeys
      ? excludeList(credentials)
      : concealed
        ? await standInCredentials(context, body.email!)
        : [];
    const request = await requestOptions(context, allow);
    await storeChallenge(context, request.challenge, "signin", showsKeys ? user.id : null);
    return c.json(request);
  })

  .post("/signin/webauthn/verify", async (c) => {
    const context = c.var.context;
    const { db, realm } = context;
    const body = await readJsonBody(c.req.raw, assertionBody);
    requireEnabled(context);
    const challenge = answeredChallenge(body.credential.response.clientDataJSON);
    const consumed = await takeChallenge(context, challenge, "signin");
    const { stored, attempt } = await reserveAssertionAttempt(context, body.credential, consumed.userId);
    const newCounter = await verifyAssertion(context, body.credential, challenge, stored);
    const settled = attempt.succeeded();
    const user = await findUserById(db, realm.id, stored.userId);
    if (user === null) throw new AuthError("invalid-request", "unknown credential");
    checkMaySignIn(context.config, user);
    const [session] = await Promise.all([sessionAfterAssertion(context, stored, newCounter, user.id), settled]);
    return c.json({ session: await buildSession(context, user, session.issued) } satisfies SessionPayload);
  })

  .post("/elevate/webauthn", async (c) => {
    const context = c.var.context;
    const { db, realm } = context;
    requireEnabled(context);
    const { user } = await requireSessionUser(context, c.req.raw);
    requireRegularUser(user);
    checkMaySignIn(context.config, user);
    const allow = await listCredentialsOfUser(db, realm.id, user.id);
    if (allow.length === 0) throw new AuthError("invalid-request", "the user has no security key");
    const request = await requestOptions(context, excludeList(allow));
    await storeChallenge(context, request.challenge, "elevate", user.id);
    return c.json(request);
  })

  .post("/elevate/webauthn/verify", async (c) => {
    const context = c.var.context;
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    const body = await readJsonBody(c.req.raw, assertionBody);
    requireEnabled(context);
    const challenge = answeredChallenge(body.credential.response.clientDataJSON);
    await takeChallenge(context, challenge, "elevate", claims.sub);
    const { stored, attempt } = await reserveAssertionAttempt(context, body.credential, claims.sub);
    const newCounter = await verifyAssertion(context, body.credential, challenge, stored);
    const settled = attempt.succeeded();
    requireRegularUser(user);
    checkMaySignIn(context.config, user);
    const [session] = await Promise.all([sessionAfterAssertion(context, stored, newCounter, user.id), settled]);
    const elevated = elevatedClaims(user.id, Date.now());
    return c.json({ session: await buildSession(context, user, session.issued, elevated) } satisfies SessionPayload);
  })

  .post("/user/webauthn/add", async (c) => {
    const context = c.var.context;
    requireEnabled(context);
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    requireRegularUser(user);
    await requireElevationIfKeys(context, claims);
    const existing = await listCredentialsOfUser(context.db, context.realm.id, user.id);
    const creation = await registrationOptions(
      context,
      { id: user.id, name: user.email ?? user.id, displayName: user.displayName || (user.email ?? user.id) },
      existing,
    );
    await storeChallenge(context, creation.challenge, "add", user.id);
    return c.json(creation);
  })

  .post("/user/webauthn/verify", async (c) => {
    const context = c.var.context;
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    const body = await readJsonBody(c.req.raw, addVerifyBody);
    requireEnabled(context);
    requireRegularUser(user);
    await requireElevationIfKeys(context, claims);
    const challenge = answeredChallenge(body.credential.response.clientDataJSON);
    await takeChallenge(context, challenge, "add", user.id);
    const credential = await verifyNewCredential(context, body.credential, challenge, user.id, body.nickname);
    await batchOrConflict(context, [insertCredentialStatement(context.db, credential)]);
    return c.json({ id: credential.id, ...(credential.nickname === null ? {} : { nickname: credential.nickname }) });
  })

  .get("/user/webauthn", async (c) => {
    const context = c.var.context;
    requireEnabled(context);
    const claims = await requireAccessToken(context, c.req.raw);
    const rows = await listCredentialsOfUser(context.db, context.realm.id, claims.sub);
    return c.json({
      securityKeys: rows.map((row) => ({
        id: row.id,
        nickname: row.nickname,
        createdAt: new Date(row.createdAt).toISOString(),
        lastUsedAt: row.lastUsedAt === null ? null : new Date(row.lastUsedAt).toISOString(),
        transports: parseTransports(row.transports),
      })),
    });
  })

  .delete("/user/webauthn/:id", async (c) => {
    const context = c.var.context;
    requireEnabled(context);
    const { claims } = await requireSessionUser(context, c.req.raw);
    // Removing keys must not be the way around elevation.
    await requireElevationIfKeys(context, claims);
    const removed = await deleteCredentialOfUser(context.db, context.realm.id, claims.sub, c.req.param("id"));
    if (!removed) throw new AuthError("not-found");
    return c.json("OK");
  });
