/**
 * The one closed table of error codes (design §9). Codes and messages follow the
 * reference spec's `ErrorResponse` so that Nhost clients understand them; the few
 * codes of our own are marked.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

const ERROR_TABLE = {
  "default-role-must-be-in-allowed-roles": [400, "Default role must be in allowed roles"],
  "disabled-endpoint": [409, "This endpoint is disabled"],
  "disabled-user": [401, "User is disabled"],
  "email-already-in-use": [409, "Email already in use"],
  "email-already-verified": [400, "User's email is already verified"],
  "forbidden-anonymous": [403, "Forbidden, user is anonymous."],
  "internal-server-error": [500, "Internal server error"],
  "invalid-email-password": [401, "Incorrect email or password"],
  "invalid-request": [400, "The request payload is incorrect"],
  "locale-not-allowed": [400, "Locale not allowed"],
  "password-too-short": [400, "Password is too short"],
  "password-in-hibp-database": [400, "Password is too common: it is on a list of known passwords"],
  "redirectTo-not-allowed": [400, 'The value of "options.redirectTo" is not allowed.'],
  "role-not-allowed": [400, "Role not allowed"],
  "signup-disabled": [403, "Sign up is disabled."],
  "unverified-user": [401, "User is not verified."],
  "user-not-anonymous": [400, "Logged in user is not anonymous"],
  "invalid-pat": [401, "Invalid or expired personal access token"],
  "invalid-refresh-token": [401, "Invalid or expired refresh token"],
  "invalid-ticket": [401, "Invalid ticket"],
  "disabled-mfa-totp": [401, "User does not have TOTP MFA enabled"],
  "no-totp-secret": [400, "User does not have a TOTP secret"],
  "invalid-totp": [401, "Invalid TOTP code"],
  "mfa-type-not-found": [400, "MFA type not found"],
  "totp-already-active": [400, "TOTP MFA is already active"],
  "invalid-state": [400, "Invalid state"],
  "invalid-otp": [400, "Invalid or expired OTP"],
  "cannot-send-sms": [400, "Cannot send SMS, check your phone number is correct"],
  "provider-account-already-linked": [400, "This provider account is already linked to a user"],
  // Nhost's newer code: the route needs an elevated token (`/elevate/webauthn`).
  "elevated-claim-required": [401, "Elevated claim required"],
  // The reference service answers a missing or bad access token with this code
  // (its ErrUnauthenticatedUser); it is absent from the spec's enum.
  "unauthenticated-user": [401, "User is not authenticated"],
  // Ours: a rate limit; the answer carries `Retry-After` (README, "Rate limits").
  "too-many-requests": [429, "Too many requests, try again later"],
  // Ours: bodies over the cap are refused before parsing.
  "request-too-large": [413, "The request body is too large"],
  // Ours: a JSON body declared as anything but application/json (a browser sends
  // those cross-origin without a CORS preflight).
  "unsupported-media-type": [415, "The request body must be application/json"],
  // Ours: the admin API.
  "invalid-admin-secret": [401, "Missing or invalid admin secret"],
  "admin-disabled": [403, "The admin API is disabled: no ADMIN_SECRET is set"],
  "not-found": [404, "Not found"],
  "key-not-found": [404, "No signing key with this kid"],
} as const satisfies Record<string, readonly [ContentfulStatusCode, string]>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** Every expected failure; `app.onError` is the only place it becomes a response. */
export class AuthError extends Error {
  readonly code: ErrorCode;
  readonly status: ContentfulStatusCode;
  /** For `too-many-requests`: when the client may try again (the `Retry-After` header). */
  readonly retryAfterSeconds: number | null;

  /** `detail` is appended to the table's message; it must never carry a secret. */
  constructor(code: ErrorCode, detail?: string, options: { retryAfterSeconds?: number } = {}) {
    const [status, message] = ERROR_TABLE[code];
    super(detail === undefined ? message : `${message}: ${detail}`);
    this.name = "AuthError";
    this.code = code;
    this.status = status;
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
  }

  toBody(): ErrorBody {
    return { status: this.status, error: this.code, message: this.message };
  }
}

export interface ErrorBody {
  status: number;
  error: ErrorCode;
  message: string;
}

/** A limit was hit; `retryAfterMs` until it lets the request through, rounded up to whole seconds. */
export function tooManyRequests(retryAfterMs: number): AuthError {
  return new AuthError("too-many-requests", undefined, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) });
}

export function errorBody(code: ErrorCode): ErrorBody {
  return new AuthError(code).toBody();
}
