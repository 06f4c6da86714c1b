/**
 * The one closed table of error codes (design §9). Codes and messages follow the
 * reference spec's `ErrorResponse`, and every code Nhost Auth has carries Nhost's
 * exact message (its service tests compare whole bodies); the codes of our own are
 * marked and keep our messages.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

const ERROR_TABLE = {
  "default-role-must-be-in-allowed-roles": [400, "Default role must be in allowed roles"],
  "disabled-endpoint": [409, "This endpoint is disabled"],
  "disabled-user": [401, "User is disabled"],
  // Ours since the latest spec: the admin API's answer for a taken address (the
  // end-user API answers Nhost's `user-already-exists`).
  "email-already-in-use": [409, "Email already in use"],
  "email-already-verified": [400, "User's email is already verified"],
  "forbidden-anonymous": [403, "Forbidden, user is anonymous."],
  "internal-server-error": [500, "Internal server error"],
  "invalid-email-password": [401, "Incorrect email or password"],
  "invalid-request": [400, "The request payload is incorrect"],
  "locale-not-allowed": [400, "Locale not allowed"],
  "password-too-short": [400, "Password is too short"],
  "password-in-hibp-database": [400, "Password is in HIBP database"],
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
  "otp-too-many-attempts": [400, "Too many incorrect attempts, please request a new OTP"],
  "user-already-exists": [409, "User already exists"],
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
  "admin-forbidden": [403, "This admin credential may not do that"],
  "not-found": [404, "Not found"],
  "key-not-found": [404, "No signing key with this kid"],
  "realm-already-exists": [409, "A realm with this id already exists"],
  "invalid-realm-settings": [400, "Invalid realm settings"],
  "default-realm-protected": [409, "The default realm cannot be deleted"],
  "user-not-found": [404, "No user with this id"],
  "session-not-found": [404, "No live session with this id"],
  "phone-number-already-in-use": [409, "Phone number already in use"],
  "unsupported-password-hash": [400, "This password hash format cannot be imported"],
  "impersonation-disabled": [403, "Impersonation is disabled: set ADMIN_IMPERSONATION_ENABLED"],
  // Ours: an impersonation token (`act` claim) may read and act as the user, not change its credentials.
  "impersonation-forbidden": [403, "An impersonation session may not change the account's credentials"],
  // Social sign-in (the spec's codes, `echange` as the spec spells it).
  "oauth-token-echange-failed": [400, "Failed to exchange token"],
  "oauth-profile-fetch-failed": [400, "Failed to get user profile"],
  "oauth-provider-error": [400, "Provider returned an error"],
} as const satisfies Record<string, readonly [ContentfulStatusCode, string]>;

export type ErrorCode = keyof typeof ERROR_TABLE;

export interface AuthErrorOptions {
  /** For `too-many-requests`: when the client may try again (the `Retry-After` header). */
  retryAfterSeconds?: number;
  /**
   * Why, for the operator: logged by `app.onError`, never sent. (A reason may name
   * what was checked and how it failed; it must still never carry a secret.)
   */
  reason?: string;
}

/**
 * Every expected failure; `app.onError` is the only place it becomes a response,
 * rendered for the API surface it happened on (`renderError`).
 */
export class AuthError extends Error {
  readonly code: ErrorCode;
  readonly status: ContentfulStatusCode;
  readonly retryAfterSeconds: number | null;
  readonly reason: string | null;

  /**
   * `detail` is appended to the table's message and sent; it must never carry a
   * secret. Only request-body validation uses it (Nhost answers those with a body
   * of another shape, so no whole-body equality is lost): any other refusal of a
   * Nhost code sends Nhost's exact message and puts what failed in `reason`.
   */
  constructor(code: ErrorCode, detail?: string, options: AuthErrorOptions = {}) {
    const [status, message] = ERROR_TABLE[code];
    super(detail === undefined ? message : `${message}: ${detail}`);
    this.name = "AuthError";
    this.code = code;
    this.status = status;
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
    this.reason = options.reason ?? null;
  }

  toBody(): ErrorBody {
    return { status: this.status, error: this.code, message: this.message };
  }
}

/** The end-user API's error body: the reference spec's `ErrorResponse`. */
export interface ErrorBody {
  status: number;
  error: ErrorCode;
  message: string;
}

/** The admin API's error body: ours, a code and a message under `error`. */
export interface AdminErrorBody {
  error: { code: ErrorCode; status: number; message: string };
}

/**
 * The surfaces an error can be answered on, each with its own shape; the table
 * above is the single source of codes, statuses and messages for all of them:
 * - `end-user`: Nhost's `{ status, error, message }`, which its clients parse;
 * - `admin`: `{ error: { code, status, message } }` (README, "Errors");
 * - link redirects (`GET /verify`): the browser goes back to the app with `error`
 *   and `errorDescription` in the query (`errorRedirect`).
 */
export type ErrorSurface = "end-user" | "admin";

/** Which surface a request path belongs to. */
export function errorSurfaceOf(path: string): ErrorSurface {
  return path === "/admin" || path.startsWith("/admin/") ? "admin" : "end-user";
}

export function renderError(error: AuthError, surface: ErrorSurface): ErrorBody | AdminErrorBody {
  if (surface === "admin") return { error: { code: error.code, status: error.status, message: error.message } };
  return error.toBody();
}

/** Where a link sends the browser after a failure: `redirectTo` with the spec's `error` and `errorDescription`. */
export function errorRedirect(redirectTo: string, error: AuthError): string {
  const target = new URL(redirectTo);
  target.searchParams.set("error", error.code);
  target.searchParams.set("errorDescription", error.message);
  return target.toString();
}

/**
 * The codes Nhost Auth conceals with CONCEAL_ERRORS (its `isSensitive` list): each
 * tells a caller something about an account (that it exists, is disabled,
 * unverified, anonymous, has TOTP, ...), so with concealment on it is answered as
 * `invalid-request`, 400, "The request payload is incorrect", on every end-user
 * route and in the error redirects of links.
 */
export const CONCEALED_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "disabled-user",
  "user-already-exists",
  "email-already-verified",
  "forbidden-anonymous",
  "invalid-email-password",
  "invalid-pat",
  "role-not-allowed",
  "signup-disabled",
  "unverified-user",
  "invalid-refresh-token",
  "invalid-ticket",
  "disabled-mfa-totp",
  "invalid-totp",
  "invalid-otp",
  "otp-too-many-attempts",
  "no-totp-secret",
]);

/** What the end-user API shows for `error`: itself, or with `conceal` a sensitive code as a plain `invalid-request`. */
export function shownError(error: AuthError, conceal: boolean): AuthError {
  if (!conceal || !CONCEALED_CODES.has(error.code)) return error;
  return new AuthError("invalid-request", undefined, { reason: `concealed ${error.code}${error.reason === null ? "" : `: ${error.reason}`}` });
}

/** A limit was hit; `retryAfterMs` until it lets the request through, rounded up to whole seconds. */
export function tooManyRequests(retryAfterMs: number): AuthError {
  return new AuthError("too-many-requests", undefined, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) });
}

export function errorBody(code: ErrorCode): ErrorBody {
  return new AuthError(code).toBody();
}
