/**
 * Elevated sessions: `/elevate/webauthn/verify`, `/elevate/totp` and
 * `/elevate/otp/{email,sms}/verify` issue an access token carrying
 * `x-hasura-auth-elevated: <userId>` (Nhost's claim) and a top-level `elevatedAt`
 * (seconds). The routes the spec marks `BearerAuthElevated` call
 * `requireElevation`: a user with a second factor (a passkey or TOTP), or every
 * user under ELEVATION_REQUIRED, must present a token elevated within
 * ELEVATION_TTL_SECONDS.
 */
import { HASURA_CLAIMS_NAMESPACE, type AccessTokenClaims } from "@edgeauth/client";
import type { RequestContext } from "../context";
import { countCredentialsOfUser } from "../db/webauthn";
import { AuthError } from "../errors";
import type { UserWithRoles } from "../db/users";
import type { ExtraClaims } from "./access-token";

export const ELEVATED_CLAIM = "x-hasura-auth-elevated";

/** The claims of an elevated token for `userId`, elevated at `nowMs`. */
export function elevatedClaims(userId: string, nowMs: number): ExtraClaims {
  return { hasura: { [ELEVATED_CLAIM]: userId }, top: { elevatedAt: Math.floor(nowMs / 1000) } };
}

/** Pure: is this token elevated for its own subject, and recently enough? */
export function isElevated(claims: AccessTokenClaims, ttlSeconds: number, nowMs: number): boolean {
  const elevatedFor = claims[HASURA_CLAIMS_NAMESPACE]?.[ELEVATED_CLAIM];
  const elevatedAt = (claims as unknown as Record<string, unknown>).elevatedAt;
  if (elevatedFor !== claims.sub || typeof elevatedAt !== "number" || !Number.isFinite(elevatedAt)) return false;
  const nowSeconds = nowMs / 1000;
  // A timestamp in the future is not ours (we stamp it at issue): refuse it.
  return elevatedAt <= nowSeconds + 1 && nowSeconds - elevatedAt < ttlSeconds;
}

/** The spec's `ElevationMethod`s. */
export type ElevationMethod = "webauthn" | "totp" | "otp-email" | "otp-sms";

/** Whether the user has a second factor: a passkey (while passkeys are on) or TOTP. */
async function hasSecondFactor(context: RequestContext, user: UserWithRoles): Promise<boolean> {
  const { config, db, realm } = context;
  if (user.activeMfaType === "totp") return true;
  return config.webauthn.enabled && (await countCredentialsOfUser(db, realm.id, user.id)) > 0;
}

/**
 * Whether the routes the spec marks `BearerAuthElevated` ask this user for an
 * elevated token: always with ELEVATION_REQUIRED, else when the user has a
 * second factor (as Nhost's `AUTH_REQUIRE_ELEVATED_CLAIM=recommended`).
 */
export async function elevationRequiredFor(context: RequestContext, user: UserWithRoles): Promise<boolean> {
  return context.config.elevationRequired || (await hasSecondFactor(context, user));
}

/**
 * How this user can elevate (`GET /elevate`): passkeys (on, and the user has
 * one), TOTP (active), a code by email (a verified address) or by SMS (a
 * verified number, and a transport to send it with).
 */
export async function elevationMethodsOf(context: RequestContext, user: UserWithRoles): Promise<ElevationMethod[]> {
  const { config, db, realm } = context;
  const methods: ElevationMethod[] = [];
  if (config.webauthn.enabled && (await countCredentialsOfUser(db, realm.id, user.id)) > 0) methods.push("webauthn");
  if (user.activeMfaType === "totp") methods.push("totp");
  if (user.email !== null && user.emailVerified) methods.push("otp-email");
  if (user.phoneNumber !== null && user.phoneNumberVerified && config.sms.transport !== "none") methods.push("otp-sms");
  return methods;
}

/**
 * For the routes the spec marks `BearerAuthElevated`: throws
 * `elevated-claim-required` unless the token is a fresh elevated one, when
 * `elevationRequiredFor` the caller's user. A user with passkeys left over while
 * passkeys are off is not asked for them (nobody could elevate with one).
 */
export async function requireElevation(context: RequestContext, claims: AccessTokenClaims, user: UserWithRoles): Promise<void> {
  if (isElevated(claims, context.config.elevationTtlSeconds, Date.now())) return;
  if (await elevationRequiredFor(context, user)) throw new AuthError("elevated-claim-required");
}
