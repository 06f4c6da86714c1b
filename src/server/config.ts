/**
 * Settings, parsed once per isolate from the Worker's bindings (design §8).
 * Non-secret settings live in `wrangler.toml` `[vars]`; secrets come from
 * `wrangler secret put` (or `.dev.vars` locally). A bad value fails fast with an
 * error that names the setting.
 */
import { OIDC_PROVIDER_NAME, PRESET_NAMES } from "./services/oauth/presets";

export const ACCESS_TOKEN_TTL_SECONDS_DEFAULT = 900;
export const REFRESH_TOKEN_TTL_SECONDS_DEFAULT = 30 * 24 * 3600;
/**
 * Refresh tokens slide: each use gives 30 more days. This caps a session however
 * active (ASVS 7.3.2); 90 days, then the user signs in again.
 */
export const SESSION_MAX_LIFETIME_SECONDS_DEFAULT = 90 * 24 * 3600;
export const REFRESH_REUSE_GRACE_SECONDS_DEFAULT = 10;
export const KEY_ROTATION_PERIOD_SECONDS_DEFAULT = 30 * 24 * 3600;
export const JWKS_MAX_AGE_SECONDS_DEFAULT = 300;
/** How long a verifier (ours or a backend's) may keep a JWKS before refetching it. */
export const VERIFIER_CACHE_MAX_AGE_SECONDS_DEFAULT = 600;
export const SIGNING_KEY_LEASE_SECONDS_DEFAULT = 60;
export const PASSWORD_MIN_LENGTH_DEFAULT = 9;
/** The reference spec bounds the minimum to 3..50 characters. */
export const PASSWORD_MIN_LENGTH_FLOOR = 3;
export const PASSWORD_MIN_LENGTH_CEILING = 50;
/**
 * Longest password accepted. The spec's request schemas say 50; we accept more
 * (ASVS 6.2.9 asks for at least 64) and never truncate.
 */
export const PASSWORD_MAX_LENGTH = 256;
/** PBKDF2 iterations: production Workers refuse more than 100,000 (design §6). */
export const PBKDF2_ITERATIONS = 100_000;

export const EMAIL_VERIFICATION_TTL_SECONDS_DEFAULT = 24 * 3600;
export const PASSWORD_RESET_TTL_SECONDS_DEFAULT = 3600;
/** A magic link signs in, so ASVS 6.5.5's ten minutes apply as to codes. */
export const MAGIC_LINK_TTL_SECONDS_DEFAULT = 600;
export const EMAIL_CHANGE_TTL_SECONDS_DEFAULT = 3600;
/** ASVS 6.5.5: out-of-band codes live at most 10 minutes. */
export const EMAIL_OTP_TTL_SECONDS_DEFAULT = 600;
export const EMAIL_OTP_DIGITS_DEFAULT = 6;
export const OTP_MAX_ATTEMPTS_DEFAULT = 5;
/** How long a passkey challenge may be answered (the ceremony's `timeout`). */
export const WEBAUTHN_CHALLENGE_TTL_SECONDS_DEFAULT = 300;
/** How long after `elevatedAt` an elevated access token counts as elevated. */
export const ELEVATION_TTL_SECONDS_DEFAULT = 300;

/**
 * Rate limits (README, "Rate limits"). Defaults are no looser than Nhost Auth's:
 * its brute-force bucket is 10 per 5 minutes, mails and SMS 10 per hour, sign-ups
 * 10 per 5 minutes.
 */
export const RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT = 10;
export const RATE_LIMIT_FAILURES_PER_IP_DEFAULT = 10;
export const RATE_LIMIT_FAILURE_WINDOW_SECONDS_DEFAULT = 300;
export const RATE_LIMIT_LOCKOUT_MAX_SECONDS_DEFAULT = 900;
export const RATE_LIMIT_EMAILS_PER_RECIPIENT_DEFAULT = 10;
export const RATE_LIMIT_EMAILS_PER_IP_DEFAULT = 10;
export const RATE_LIMIT_EMAIL_WINDOW_SECONDS_DEFAULT = 3600;
export const RATE_LIMIT_SMS_PER_NUMBER_DEFAULT = 10;
export const RATE_LIMIT_SMS_PER_IP_DEFAULT = 10;
/** Against toll fraud: however many numbers and IPs an attacker spreads over. */
export const RATE_LIMIT_SMS_PER_DEPLOYMENT_DEFAULT = 1000;
export const RATE_LIMIT_SMS_WINDOW_SECONDS_DEFAULT = 3600;
export const RATE_LIMIT_SIGNUPS_PER_IP_DEFAULT = 10;
export const RATE_LIMIT_SIGNUP_WINDOW_SECONDS_DEFAULT = 300;

/**
 * How long the audit log keeps an event (README, "Audit"); the daily purge
 * deletes older ones. 1..3650 days.
 *
 * @example AUDIT_RETENTION_DAYS=365
 */
export const AUDIT_RETENTION_DAYS_DEFAULT = 90;

export type MailTransport = "dev" | "smtp" | "http" | "binding" | "none";

/**
 * Settings of the whole deployment, the same in every realm: where it is served,
 * its secrets and transports, how long a signing key is leased, how long the
 * audit log is kept. A realm can never override one (`configForRealm` copies them
 * from the deployment after parsing a realm's overrides).
 */
export interface DeploymentSettings {
  environment: "development" | "production";
  /** Base URL of this service; the default realm's issuer (`iss`). */
  publicUrl: string;
  signingKeyLeaseSeconds: number;
  mail: MailSettings;
  sms: SmsSettings;
  /** Secret: key for TOTP secrets at rest; REFRESH_TOKEN_SECRET (own HKDF label) when unset. */
  totpEncryptionKey: string | null;
  /** Days an audit event is kept (AUDIT_RETENTION_DAYS). */
  auditRetentionDays: number;
  /** Secret: HMAC key that derives a rotated refresh token's child. */
  refreshTokenSecret: string;
  /** Secret: admin API credential; the admin API is off without it. */
  adminSecret: string | null;
  /** Secret: optional pepper mixed into every password hash. */
  passwordPepper: string | null;
}

/**
 * Settings a realm may override (`REALM_SETTING_NAMES`, stored per realm): roles,
 * locales, redirects, lifetimes, password policy, WebAuthn relying party, CORS,
 * rate limits, which sign-in methods are on. The default realm's are `[vars]`.
 */
export interface RealmSettings {
  /** The application's URL: always an allowed redirect target. */
  clientUrl: string | null;
  allowedRedirectUrls: string[];
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** A session's absolute end, however often it refreshes; 0: none. */
  sessionMaxLifetimeSeconds: number;
  refreshReuseGraceSeconds: number;
  keyRotationPeriodSeconds: number;
  jwksMaxAgeSeconds: number;
  verifierCacheMaxAgeSeconds: number;
  passwordMinLength: number;
  /**
   * Refuse new passwords found, lower-cased, on the bundled list of 49,233 common
   * passwords, with `password-in-hibp-database`. Set `PASSWORD_BLOCK_COMMON = "false"`
   * in `[vars]` to turn it off.
   */
  passwordBlockCommon: boolean;
  requireVerifiedEmail: boolean;
  signupDisabled: boolean;
  /**
   * The sign-in routes (magic link, email code, SMS code) no longer create an
   * account for an unknown address; only the explicit sign-up routes
   * (`/signup/passwordless/email`, `/signup/otp/email`, `/signup/passwordless/sms`) do.
   * @example DISABLE_AUTO_SIGNUP = "true"
   */
  disableAutoSignup: boolean;
  defaultRole: string;
  allowedRoles: string[];
  defaultLocale: string;
  allowedLocales: string[];
  /** Origins browsers may call from; `["*"]` for any (tokens travel in headers, not cookies). */
  corsAllowedOrigins: string[];
  /** `aud` claim of access tokens, when set. */
  jwtAudience: string | null;
  /**
   * The D1 binding holding this realm's users, sessions and tickets (`DATABASE`);
   * null: the deployment's `DB`. Lets a deployment spread large realms over several
   * databases, each with its own size limit and writer.
   */
  database: string | null;
  emailVerificationTtlSeconds: number;
  passwordResetTtlSeconds: number;
  magicLinkTtlSeconds: number;
  emailChangeTtlSeconds: number;
  emailOtpTtlSeconds: number;
  emailOtpDigits: number;
  otpMaxAttempts: number;
  /**
   * Answer password-reset, magic-link, email-code and verification-mail requests
   * with the same "OK" whether or not the address has an account, and give
   * `/signin/webauthn` options that do not tell (ENUMERATION_PROTECTION, default on).
   */
  enumerationProtection: boolean;
  /**
   * Nhost's CONCEAL_ERRORS: every code that tells something about an account
   * (`CONCEALED_CODES` in errors.ts) is answered as 400 `invalid-request`. Off by
   * default, as Nhost's: clients sign a user out on a 401 from `/token`.
   * @example CONCEAL_ERRORS = "true"
   */
  concealErrors: boolean;
  /** Which addresses may sign up and sign in (README, "Access control"). */
  accessControl: AccessControlSettings;
  /** New accounts are created disabled; an operator enables them (the admin API). */
  disableNewUsers: boolean;
  /** Magic links (`/signin/passwordless/email`); `disabled-endpoint` when off. */
  emailPasswordlessEnabled: boolean;
  /** Email codes (`/signin/otp/email` and its verify); `disabled-endpoint` when off. */
  otpEmailEnabled: boolean;
  /** SMS codes (`/signin/passwordless/sms` and its verify); `disabled-endpoint` when off. */
  smsPasswordlessEnabled: boolean;
  /** Creating personal access tokens and signing in with one; listing and revoking stay open. */
  personalAccessTokensEnabled: boolean;
  /** Fill `avatarUrl` from Gravatar at sign-up (GRAVATAR_ENABLED, GRAVATAR_DEFAULT, GRAVATAR_RATING). */
  gravatar: GravatarSettings;
  /** SMS code lifetime. */
  smsOtpTtlSeconds: number;
  /** The issuer name authenticator apps show. */
  totpIssuer: string;
  mfaTicketTtlSeconds: number;
  totpMaxAttemptsPerTicket: number;
  /** Per user, per 15 minutes. */
  totpMaxAttemptsPerUser: number;
  /** `POST /signin/anonymous` is refused with `disabled-endpoint` unless this is on. */
  anonymousUsersEnabled: boolean;
  /** The one role of anonymous users. */
  anonymousRole: string;
  /** Longest lifetime a personal access token may ask for. */
  patMaxLifetimeSeconds: number;
  /** Passkeys (WebAuthn); every passkey route is `disabled-endpoint` unless enabled. */
  webauthn: WebauthnSettings;
  /** How long an elevated access token satisfies the elevated-only routes. */
  elevationTtlSeconds: number;
  /**
   * Every route the spec marks `BearerAuthElevated` asks for an elevated token,
   * whether or not the user has a second factor (without it, only users with a
   * passkey or TOTP are asked).
   * @example ELEVATION_REQUIRED = "true"
   */
  elevationRequired: boolean;
  rateLimits: RateLimitSettings;
  /**
   * Lets the admin API start a session as a user (`POST /admin/realms/{realm}/users/{id}/impersonate`)
   * for support staff; its access token names the operator in an `act` claim.
   * @example ADMIN_IMPERSONATION_ENABLED = "true"
   */
  adminImpersonationEnabled: boolean;
  /**
   * Social sign-in (README, "Social sign-in"): the enabled providers by name
   * (`google`, `github`, `oidc-okta`, ...), each from its `PROVIDER_<NAME>_*` settings.
   */
  providers: Record<string, ProviderSettings>;
}

/** What a request runs with: the deployment's settings and its realm's (design §7). */
export type Config = DeploymentSettings & RealmSettings;

const DEPLOYMENT_SETTING_KEYS = [
  "environment",
  "publicUrl",
  "signingKeyLeaseSeconds",
  "mail",
  "sms",
  "totpEncryptionKey",
  "refreshTokenSecret",
  "adminSecret",
  "passwordPepper",
  "auditRetentionDays",
] as const satisfies readonly (keyof DeploymentSettings)[];
// A field added to DeploymentSettings but not to the list above would let a realm's
// parse supply it: this line stops the build instead.
const everyDeploymentSettingCopied: Exclude<keyof DeploymentSettings, (typeof DEPLOYMENT_SETTING_KEYS)[number]> extends never ? true : never = true;
void everyDeploymentSettingCopied;

/** The deployment's part of `config`, to lay over a realm's parse. */
export function deploymentSettingsOf(config: Config): DeploymentSettings {
  return Object.fromEntries(DEPLOYMENT_SETTING_KEYS.map((key) => [key, config[key]])) as unknown as DeploymentSettings;
}

export class ConfigError extends Error {
  constructor(setting: string, problem: string) {
    super(`edgeauth setting ${setting}: ${problem}`);
    this.name = "ConfigError";
  }
}

type RawEnv = Record<string, unknown>;

function readString(env: RawEnv, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw new ConfigError(name, "must be a string");
  return value.trim();
}

function readInteger(env: RawEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function readBoolean(env: RawEnv, name: string, fallback: boolean): boolean {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new ConfigError(name, `must be "true" or "false", got "${raw}"`);
}

function readList(env: RawEnv, name: string, fallback: string[]): string[] {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  return raw
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function readUrl(env: RawEnv, name: string): string | undefined {
  const raw = readString(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an absolute URL, got "${raw}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError(name, "must be an http(s) URL");
  return raw.replace(/\/+$/, "");
}

/** `DATABASE` names a D1 binding of the Worker (wrangler.toml `[[d1_databases]]`). */
function readDatabaseBinding(env: RawEnv): string | null {
  const name = readString(env, "DATABASE");
  if (name === undefined) return null;
  const binding = env[name];
  const isD1 = typeof binding === "object" && binding !== null && typeof (binding as { prepare?: unknown }).prepare === "function";
  if (!/^[A-Z][A-Z0-9_]*$/.test(name) || !isD1) throw new ConfigError("DATABASE", `"${name}" is not a D1 binding of this Worker`);
  return name;
}

function readSecret(env: RawEnv, name: string, minLength: number): string | undefined {
  const value = readString(env, name);
  if (value === undefined) return undefined;
  if (value.length < minLength) throw new ConfigError(name, `must be at least ${minLength} characters`);
  return value;
}

export interface MailSettings {
  transport: MailTransport;
  /** `From` of every mail, e.g. `Example <no-reply@example.com>`. */
  from: string;
  smtp: { host: string; port: number; security: "starttls" | "tls" | "none"; username?: string; password?: string } | null;
  httpApi: { url: string; apiKey: string; format: "resend" | "postmark" | "sendgrid" } | null;
}

function readChoice<T extends string>(env: RawEnv, name: string, choices: readonly T[], fallback: T): T {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new ConfigError(name, `must be one of ${choices.join(", ")}, got "${raw}"`);
  return raw as T;
}

function readMailSettings(env: RawEnv, environment: "development" | "production"): MailSettings {
  // Development keeps mail in the local outbox unless told otherwise; production
  // sends nothing until a transport is chosen (and says so in the log).
  const transport = readChoice(env, "MAIL_TRANSPORT", ["dev", "smtp", "http", "binding", "none"] as const, environment === "development" ? "dev" : "none");
  if (transport === "dev" && environment !== "development") {
    throw new ConfigError("MAIL_TRANSPORT", '"dev" keeps mail in a browsable outbox and needs ENVIRONMENT=development');
  }
  const from = readString(env, "MAIL_FROM") ?? "edgeauth <no-reply@localhost>";
  let smtp: MailSettings["smtp"] = null;
  if (transport === "smtp") {
    const host = readString(env, "SMTP_HOST");
    if (host === undefined) throw new ConfigError("SMTP_HOST", "is required when MAIL_TRANSPORT is smtp");
    const security = readChoice(env, "SMTP_SECURITY", ["starttls", "tls", "none"] as const, "starttls");
    smtp = {
      host,
      port: readInteger(env, "SMTP_PORT", security === "tls" ? 465 : 587, 1, 65_535),
      security,
      ...(readString(env, "SMTP_USERNAME") === undefined ? {} : { username: readString(env, "SMTP_USERNAME")! }),
      ...(readString(env, "SMTP_PASSWORD") === undefined ? {} : { password: readString(env, "SMTP_PASSWORD")! }),
    };
  }
  let httpApi: MailSettings["httpApi"] = null;
  if (transport === "http") {
    const url = readUrl(env, "MAIL_API_URL");
    const apiKey = readString(env, "MAIL_API_KEY");
    if (url === undefined) throw new ConfigError("MAIL_API_URL", "is required when MAIL_TRANSPORT is http");
    if (apiKey === undefined) throw new ConfigError("MAIL_API_KEY", "is required when MAIL_TRANSPORT is http");
    httpApi = { url, apiKey, format: readChoice(env, "MAIL_API_FORMAT", ["resend", "postmark", "sendgrid"] as const, "resend") };
  }
  return { transport, from, smtp, httpApi };
}

export interface SmsSettings {
  transport: "dev" | "twilio" | "none";
  /** Sender number (E.164) or messaging service id. */
  from: string;
  twilio: { apiUrl: string; accountSid: string; authToken: string } | null;
}

function readSmsSettings(env: RawEnv, environment: "development" | "production"): SmsSettings {
  const transport = readChoice(env, "SMS_TRANSPORT", ["dev", "twilio", "none"] as const, environment === "development" ? "dev" : "none");
  if (transport === "dev" && environment !== "development") {
    throw new ConfigError("SMS_TRANSPORT", '"dev" keeps messages in a browsable outbox and needs ENVIRONMENT=development');
  }
  const from = readString(env, "SMS_FROM") ?? "";
  let twilio: SmsSettings["twilio"] = null;
  if (transport === "twilio") {
    const accountSid = readString(env, "SMS_ACCOUNT_SID");
    const authToken = readString(env, "SMS_AUTH_TOKEN");
    if (accountSid === undefined) throw new ConfigError("SMS_ACCOUNT_SID", "is required when SMS_TRANSPORT is twilio");
    if (authToken === undefined) throw new ConfigError("SMS_AUTH_TOKEN", "is required when SMS_TRANSPORT is twilio");
    if (from === "") throw new ConfigError("SMS_FROM", "is required when SMS_TRANSPORT is twilio");
    twilio = { apiUrl: readUrl(env, "SMS_API_URL") ?? "https://api.twilio.com", accountSid, authToken };
  }
  return { transport, from, twilio };
}

/** Every count is exact (a Durable Object per subject); 0 turns a limit off. */
export interface RateLimitSettings {
  /** Failed first or second factors per account (or unknown address) within the window. */
  failuresPerAccount: number;
  failuresPerIp: number;
  failureWindowSeconds: number;
  /** Waits start at the failure window and double with each lockout, up to this. */
  lockoutMaxSeconds: number;
  emailsPerRecipient: number;
  emailsPerIp: number;
  emailWindowSeconds: number;
  smsPerNumber: number;
  smsPerIp: number;
  smsPerDeployment: number;
  smsWindowSeconds: number;
  signUpsPerIp: number;
  signUpWindowSeconds: number;
}

function readRateLimitSettings(env: RawEnv): RateLimitSettings {
  const count = (name: string, fallback: number) => readInteger(env, name, fallback, 0, 1_000_000);
  const window = (name: string, fallback: number) => readInteger(env, name, fallback, 1, 7 * 86_400);
  const failureWindowSeconds = window("RATE_LIMIT_FAILURE_WINDOW_SECONDS", RATE_LIMIT_FAILURE_WINDOW_SECONDS_DEFAULT);
  const lockoutMaxSeconds = window("RATE_LIMIT_LOCKOUT_MAX_SECONDS", RATE_LIMIT_LOCKOUT_MAX_SECONDS_DEFAULT);
  // The first wait is one window long; a cap below it would make every wait shorter
  // than the window the failures were counted in.
  if (lockoutMaxSeconds < failureWindowSeconds) {
    throw new ConfigError("RATE_LIMIT_LOCKOUT_MAX_SECONDS", "must be at least RATE_LIMIT_FAILURE_WINDOW_SECONDS");
  }
  return {
    failuresPerAccount: count("RATE_LIMIT_FAILURES_PER_ACCOUNT", RATE_LIMIT_FAILURES_PER_ACCOUNT_DEFAULT),
    failuresPerIp: count("RATE_LIMIT_FAILURES_PER_IP", RATE_LIMIT_FAILURES_PER_IP_DEFAULT),
    failureWindowSeconds,
    lockoutMaxSeconds,
    emailsPerRecipient: count("RATE_LIMIT_EMAILS_PER_RECIPIENT", RATE_LIMIT_EMAILS_PER_RECIPIENT_DEFAULT),
    emailsPerIp: count("RATE_LIMIT_EMAILS_PER_IP", RATE_LIMIT_EMAILS_PER_IP_DEFAULT),
    emailWindowSeconds: window("RATE_LIMIT_EMAIL_WINDOW_SECONDS", RATE_LIMIT_EMAIL_WINDOW_SECONDS_DEFAULT),
    smsPerNumber: count("RATE_LIMIT_SMS_PER_NUMBER", RATE_LIMIT_SMS_PER_NUMBER_DEFAULT),
    smsPerIp: count("RATE_LIMIT_SMS_PER_IP", RATE_LIMIT_SMS_PER_IP_DEFAULT),
    smsPerDeployment: count("RATE_LIMIT_SMS_PER_DEPLOYMENT", RATE_LIMIT_SMS_PER_DEPLOYMENT_DEFAULT),
    smsWindowSeconds: window("RATE_LIMIT_SMS_WINDOW_SECONDS", RATE_LIMIT_SMS_WINDOW_SECONDS_DEFAULT),
    signUpsPerIp: count("RATE_LIMIT_SIGNUPS_PER_IP", RATE_LIMIT_SIGNUPS_PER_IP_DEFAULT),
    signUpWindowSeconds: window("RATE_LIMIT_SIGNUP_WINDOW_SECONDS", RATE_LIMIT_SIGNUP_WINDOW_SECONDS_DEFAULT),
  };
}

/**
 * Nhost's access-control lists, each comma-separated and compared lower-cased: a
 * blocked address or domain is refused; when either allow list is set, only what
 * it names is let in. Applied on every sign-up and sign-in.
 *
 * @example ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS = "example.com" ACCESS_CONTROL_BLOCKED_EMAILS = "intern@example.com"
 */
export interface AccessControlSettings {
  allowedEmails: string[];
  allowedEmailDomains: string[];
  blockedEmails: string[];
  blockedEmailDomains: string[];
}

function readAccessControlSettings(env: RawEnv): AccessControlSettings {
  const lowered = (name: string) => readList(env, name, []).map((item) => item.toLowerCase());
  return {
    allowedEmails: lowered("ACCESS_CONTROL_ALLOWED_EMAILS"),
    allowedEmailDomains: lowered("ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS"),
    blockedEmails: lowered("ACCESS_CONTROL_BLOCKED_EMAILS"),
    blockedEmailDomains: lowered("ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS"),
  };
}

export const GRAVATAR_DEFAULTS = ["blank", "identicon", "monsterid", "wavatar", "retro", "robohash", "mp", "404"] as const;
export const GRAVATAR_RATINGS = ["g", "pg", "r", "x"] as const;

/**
 * Nhost's Gravatar settings and defaults: on, a blank image for addresses Gravatar
 * does not know, rated `g`.
 *
 * @example GRAVATAR_ENABLED = "false"
 */
export interface GravatarSettings {
  enabled: boolean;
  default: (typeof GRAVATAR_DEFAULTS)[number];
  rating: (typeof GRAVATAR_RATINGS)[number];
}

export interface WebauthnSettings {
  enabled: boolean;
  /** The RP ID: a registrable domain suffix of every origin's host. */
  rpId: string;
  rpName: string;
  /** Exact origins allowed in `clientDataJSON.origin`. */
  origins: string[];
  challengeTtlSeconds: number;
}

/**
 * WEBAUTHN_RP_ID defaults to the host of PUBLIC_URL and WEBAUTHN_RP_ORIGINS to the
 * origin of CLIENT_URL (else PUBLIC_URL). When enabled, each origin's host must be
 * the RP ID or a subdomain of it: browsers refuse anything else, so a mismatch
 * would only surface as every ceremony failing.
 *
 * @example WEBAUTHN_ENABLED=true WEBAUTHN_RP_ID=example.com WEBAUTHN_RP_ORIGINS=https://app.example.com
 */
function readWebauthnSettings(env: RawEnv, publicUrl: string, clientUrl: string | undefined): WebauthnSettings {
  const enabled = readBoolean(env, "WEBAUTHN_ENABLED", false);
  const rpId = (readString(env, "WEBAUTHN_RP_ID") ?? new URL(publicUrl).hostname).toLowerCase();
  const origins = readList(env, "WEBAUTHN_RP_ORIGINS", [new URL(clientUrl ?? publicUrl).origin]).map((origin) => {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError("WEBAUTHN_RP_ORIGINS", `"${origin}" is not an origin`);
    }
    if (url.origin !== origin.replace(/\/+$/, "")) throw new ConfigError("WEBAUTHN_RP_ORIGINS", `"${origin}" is not a bare origin`);
    if (enabled && url.hostname !== rpId && !url.hostname.endsWith(`.${rpId}`)) {
      throw new ConfigError("WEBAUTHN_RP_ORIGINS", `"${origin}" is not on the RP ID "${rpId}" or a subdomain of it`);
    }
    return url.origin;
  });
  if (origins.length === 0) throw new ConfigError("WEBAUTHN_RP_ORIGINS", "needs at least one origin");
  return {
    enabled,
    rpId,
    rpName: readString(env, "WEBAUTHN_RP_NAME") ?? "edgeauth",
    origins,
    challengeTtlSeconds: readInteger(env, "WEBAUTHN_CHALLENGE_TTL_SECONDS", WEBAUTHN_CHALLENGE_TTL_SECONDS_DEFAULT, 30, 3600),
  };
}

/**
 * Hosts that only the machine itself can reach: `localhost` and its subdomains
 * (RFC 6761 §6.3), 127.0.0.0/8 and [::1]. `URL` has already normalised the host
 * (lower case, IPv4 shorthand such as `127.1` expanded, IPv6 compressed).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/\.$/, "");
  return host === "localhost" || host.endsWith(".localhost") || /^127(\.\d{1,3}){3}$/.test(host) || host === "[::1]";
}

/**
 * Development publishes every mail and code at `/_dev/outbox`, so it may only run
 * where nobody else can reach it: a deployment that says `development` by mistake
 * refuses to start instead. Production issues tokens whose `iss` and links are this
 * URL, and refresh tokens travel to it, so it must be `https:`.
 */
function checkPublicUrlFitsEnvironment(publicUrl: string, environment: "development" | "production"): void {
  const url = new URL(publicUrl);
  if (environment === "development" && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(
      "PUBLIC_URL",
      `must be a loopback URL (localhost, *.localhost, 127.0.0.0/8, [::1]) when ENVIRONMENT=development, got "${publicUrl}": development publishes every mail and code at /_dev/outbox`,
    );
  }
  if (environment === "production" && url.protocol !== "https:") {
    throw new ConfigError("PUBLIC_URL", `must be an https URL in production (ENVIRONMENT unset or "production"), got "${publicUrl}"`);
  }
}

/** One enabled social sign-in provider (README, "Social sign-in"). */
export interface ProviderSettings {
  /** `google`, `github`, ..., or `oidc-<name>`. */
  name: string;
  clientId: string;
  /** Secret: null for a provider used only for ID tokens (`/signin/idtoken`). */
  clientSecret: string | null;
  /** The preset's scopes unless PROVIDER_<NAME>_SCOPES says otherwise. */
  scopes: string[] | null;
  /** OpenID issuer: discovery for `oidc-*`; for `google` and `apple`, where their ID tokens come from. */
  issuer: string | null;
  authorizationUrl: string | null;
  tokenUrl: string | null;
  userinfoUrl: string | null;
  /** Client ids an ID token may be for (`aud`): the client id and PROVIDER_<NAME>_AUDIENCES (a mobile app's own ids). */
  audiences: string[];
}

/** `google` → `GOOGLE`, `oidc-my-idp` → `OIDC_MY_IDP`. */
export function providerSettingPrefix(name: string): string {
  return `PROVIDER_${name.toUpperCase().replace(/-/g, "_")}_`;
}

/**
 * A provider's endpoint: https, or plain http to a loopback host (a provider on
 * the same machine, as in development and the tests), which nothing on the way
 * can read or change.
 */
function readProviderUrl(env: RawEnv, name: string): string | null {
  const url = readUrl(env, name);
  if (url === undefined) return null;
  const parsed = new URL(url);
  if (parsed.protocol === "http:" && !isLoopbackHost(parsed.hostname)) {
    throw new ConfigError(name, "must be an https URL (plain http only to a loopback host)");
  }
  return url;
}

/**
 * Every provider whose PROVIDER_<NAME>_ENABLED is "true": the 16 presets and the
 * `oidc-*` names OIDC_PROVIDERS lists. An enabled provider needs a client id;
 * an `oidc-*` one an issuer too.
 *
 * @example PROVIDER_GITHUB_ENABLED=true PROVIDER_GITHUB_CLIENT_ID=Iv1.abc PROVIDER_GITHUB_CLIENT_SECRET=...
 * @example OIDC_PROVIDERS=oidc-okta PROVIDER_OIDC_OKTA_ENABLED=true PROVIDER_OIDC_OKTA_ISSUER=https://example.okta.com
 */
function readProviderSettings(env: RawEnv): Record<string, ProviderSettings> {
  const oidcNames = readList(env, "OIDC_PROVIDERS", []);
  for (const name of oidcNames) {
    if (!OIDC_PROVIDER_NAME.test(name)) throw new ConfigError("OIDC_PROVIDERS", `"${name}" must be "oidc-" and a lowercase slug (e.g. oidc-okta)`);
  }
  const providers: Record<string, ProviderSettings> = {};
  for (const name of [...PRESET_NAMES, ...oidcNames]) {
    const prefix = providerSettingPrefix(name);
    if (!readBoolean(env, `${prefix}ENABLED`, false)) continue;
    const clientId = readString(env, `${prefix}CLIENT_ID`);
    if (clientId === undefined) throw new ConfigError(`${prefix}CLIENT_ID`, `is required when ${prefix}ENABLED is true`);
    const issuer = readProviderUrl(env, `${prefix}ISSUER`);
    if (name.startsWith("oidc-") && issuer === null) throw new ConfigError(`${prefix}ISSUER`, `is required for an OpenID provider (${name})`);
    const scopes = readString(env, `${prefix}SCOPES`);
    providers[name] = {
      name,
      clientId,
      clientSecret: readString(env, `${prefix}CLIENT_SECRET`) ?? null,
      scopes: scopes === undefined ? null : scopes.split(/[\s,]+/).filter((scope) => scope.length > 0),
      issuer,
      authorizationUrl: readProviderUrl(env, `${prefix}AUTHORIZATION_URL`),
      tokenUrl: readProviderUrl(env, `${prefix}TOKEN_URL`),
      userinfoUrl: readProviderUrl(env, `${prefix}USERINFO_URL`),
      audiences: [clientId, ...readList(env, `${prefix}AUDIENCES`, [])],
    };
  }
  return providers;
}

export function parseConfig(env: RawEnv): Config {
  const environment = readString(env, "ENVIRONMENT") ?? "production";
  if (environment !== "development" && environment !== "production") {
    throw new ConfigError("ENVIRONMENT", `must be "development" or "production", got "${environment}"`);
  }
  const publicUrl = readUrl(env, "PUBLIC_URL");
  if (publicUrl === undefined) throw new ConfigError("PUBLIC_URL", "is required (the issuer URL of access tokens)");
  checkPublicUrlFitsEnvironment(publicUrl, environment);

  const refreshTokenSecret = readSecret(env, "REFRESH_TOKEN_SECRET", 32);
  if (refreshTokenSecret === undefined) {
    throw new ConfigError("REFRESH_TOKEN_SECRET", "is required: set it with `wrangler secret put REFRESH_TOKEN_SECRET`");
  }

  const allowedRoles = readList(env, "ALLOWED_ROLES", ["user", "me"]);
  const defaultRole = readString(env, "DEFAULT_ROLE") ?? "user";
  if (!allowedRoles.includes(defaultRole)) throw new ConfigError("DEFAULT_ROLE", `"${defaultRole}" is not in ALLOWED_ROLES`);
  const allowedLocales = readList(env, "ALLOWED_LOCALES", ["en"]);
  const defaultLocale = readString(env, "DEFAULT_LOCALE") ?? "en";
  if (!allowedLocales.includes(defaultLocale)) {
    throw new ConfigError("DEFAULT_LOCALE", `"${defaultLocale}" is not in ALLOWED_LOCALES`);
  }

  const accessTokenTtlSeconds = readInteger(env, "ACCESS_TOKEN_TTL_SECONDS", ACCESS_TOKEN_TTL_SECONDS_DEFAULT, 60, 86_400);
  const jwksMaxAgeSeconds = readInteger(env, "JWKS_MAX_AGE_SECONDS", JWKS_MAX_AGE_SECONDS_DEFAULT, 0, 86_400);
  const verifierCacheMaxAgeSeconds = readInteger(
    env,
    "VERIFIER_CACHE_MAX_AGE_SECONDS",
    VERIFIER_CACHE_MAX_AGE_SECONDS_DEFAULT,
    0,
    86_400,
  );
  const keyRotationPeriodSeconds = readInteger(
    env,
    "KEY_ROTATION_PERIOD_SECONDS",
    KEY_ROTATION_PERIOD_SECONDS_DEFAULT,
    3600,
    365 * 86_400,
  );
  // The next key is published one period before it signs: it must reach every
  // cache (the edge's JWKS copy, then a verifier's) in that time.
  if (keyRotationPeriodSeconds < jwksMaxAgeSeconds + verifierCacheMaxAgeSeconds) {
    throw new ConfigError(
      "KEY_ROTATION_PERIOD_SECONDS",
      "must be at least JWKS_MAX_AGE_SECONDS + VERIFIER_CACHE_MAX_AGE_SECONDS, or tokens would be signed by a key caches do not know yet",
    );
  }

  return {
    environment,
    publicUrl,
    clientUrl: readUrl(env, "CLIENT_URL") ?? null,
    allowedRedirectUrls: readList(env, "ALLOWED_REDIRECT_URLS", []),
    accessTokenTtlSeconds,
    refreshTokenTtlSeconds: readInteger(
      env,
      "REFRESH_TOKEN_TTL_SECONDS",
      REFRESH_TOKEN_TTL_SECONDS_DEFAULT,
      300,
      365 * 86_400,
    ),
    sessionMaxLifetimeSeconds: readInteger(env, "SESSION_MAX_LIFETIME_SECONDS", SESSION_MAX_LIFETIME_SECONDS_DEFAULT, 0, 5 * 365 * 86_400),
    refreshReuseGraceSeconds: readInteger(env, "REFRESH_REUSE_GRACE_SECONDS", REFRESH_REUSE_GRACE_SECONDS_DEFAULT, 0, 300),
    keyRotationPeriodSeconds,
    jwksMaxAgeSeconds,
    verifierCacheMaxAgeSeconds,
    signingKeyLeaseSeconds: readInteger(env, "SIGNING_KEY_LEASE_SECONDS", SIGNING_KEY_LEASE_SECONDS_DEFAULT, 1, 3600),
    passwordMinLength: readInteger(
      env,
      "PASSWORD_MIN_LENGTH",
      PASSWORD_MIN_LENGTH_DEFAULT,
      PASSWORD_MIN_LENGTH_FLOOR,
      PASSWORD_MIN_LENGTH_CEILING,
    ),
    passwordBlockCommon: readBoolean(env, "PASSWORD_BLOCK_COMMON", true),
    requireVerifiedEmail: readBoolean(env, "REQUIRE_VERIFIED_EMAIL", false),
    signupDisabled: readBoolean(env, "SIGNUP_DISABLED", false),
    disableAutoSignup: readBoolean(env, "DISABLE_AUTO_SIGNUP", false),
    defaultRole,
    allowedRoles,
    defaultLocale,
    allowedLocales,
    corsAllowedOrigins: readList(env, "CORS_ALLOWED_ORIGINS", ["*"]),
    emailVerificationTtlSeconds: readInteger(env, "EMAIL_VERIFICATION_TTL_SECONDS", EMAIL_VERIFICATION_TTL_SECONDS_DEFAULT, 60, 30 * 86_400),
    passwordResetTtlSeconds: readInteger(env, "PASSWORD_RESET_TTL_SECONDS", PASSWORD_RESET_TTL_SECONDS_DEFAULT, 60, 86_400),
    magicLinkTtlSeconds: readInteger(env, "MAGIC_LINK_TTL_SECONDS", MAGIC_LINK_TTL_SECONDS_DEFAULT, 60, 86_400),
    emailChangeTtlSeconds: readInteger(env, "EMAIL_CHANGE_TTL_SECONDS", EMAIL_CHANGE_TTL_SECONDS_DEFAULT, 60, 7 * 86_400),
    emailOtpTtlSeconds: readInteger(env, "EMAIL_OTP_TTL_SECONDS", EMAIL_OTP_TTL_SECONDS_DEFAULT, 60, 3600),
    emailOtpDigits: readInteger(env, "EMAIL_OTP_DIGITS", EMAIL_OTP_DIGITS_DEFAULT, 6, 10),
    otpMaxAttempts: readInteger(env, "OTP_MAX_ATTEMPTS", OTP_MAX_ATTEMPTS_DEFAULT, 1, 20),
    enumerationProtection: readBoolean(env, "ENUMERATION_PROTECTION", true),
    concealErrors: readBoolean(env, "CONCEAL_ERRORS", false),
    accessControl: readAccessControlSettings(env),
    disableNewUsers: readBoolean(env, "DISABLE_NEW_USERS", false),
    // Nhost's defaults: every passwordless method is off until turned on.
    emailPasswordlessEnabled: readBoolean(env, "EMAIL_PASSWORDLESS_ENABLED", false),
    otpEmailEnabled: readBoolean(env, "OTP_EMAIL_ENABLED", false),
    smsPasswordlessEnabled: readBoolean(env, "SMS_PASSWORDLESS_ENABLED", false),
    personalAccessTokensEnabled: readBoolean(env, "PERSONAL_ACCESS_TOKENS_ENABLED", true),
    gravatar: {
      enabled: readBoolean(env, "GRAVATAR_ENABLED", true),
      default: readChoice(env, "GRAVATAR_DEFAULT", GRAVATAR_DEFAULTS, "blank"),
      rating: readChoice(env, "GRAVATAR_RATING", GRAVATAR_RATINGS, "g"),
    },
    mail: readMailSettings(env, environment),
    sms: readSmsSettings(env, environment),
    smsOtpTtlSeconds: readInteger(env, "SMS_OTP_TTL_SECONDS", 600, 60, 3600),
    anonymousUsersEnabled: readBoolean(env, "ANONYMOUS_USERS_ENABLED", false),
    totpEncryptionKey: readSecret(env, "TOTP_ENCRYPTION_KEY", 32) ?? null,
    totpIssuer: readString(env, "TOTP_ISSUER") ?? "edgeauth",
    mfaTicketTtlSeconds: readInteger(env, "MFA_TICKET_TTL_SECONDS", 300, 30, 3600),
    totpMaxAttemptsPerTicket: readInteger(env, "TOTP_MAX_ATTEMPTS_PER_TICKET", 5, 1, 20),
    totpMaxAttemptsPerUser: readInteger(env, "TOTP_MAX_ATTEMPTS_PER_USER", 10, 1, 100),
    anonymousRole: readString(env, "ANONYMOUS_ROLE") ?? "anonymous",
    patMaxLifetimeSeconds: readInteger(env, "PAT_MAX_LIFETIME_SECONDS", 365 * 86_400, 60, 10 * 365 * 86_400),
    jwtAudience: readString(env, "JWT_AUDIENCE") ?? null,
    database: readDatabaseBinding(env),
    webauthn: readWebauthnSettings(env, publicUrl, readUrl(env, "CLIENT_URL")),
    elevationTtlSeconds: readInteger(env, "ELEVATION_TTL_SECONDS", ELEVATION_TTL_SECONDS_DEFAULT, 30, 86_400),
    elevationRequired: readBoolean(env, "ELEVATION_REQUIRED", false),
    rateLimits: readRateLimitSettings(env),
    auditRetentionDays: readInteger(env, "AUDIT_RETENTION_DAYS", AUDIT_RETENTION_DAYS_DEFAULT, 1, 3650),
    refreshTokenSecret,
    adminSecret: readSecret(env, "ADMIN_SECRET", 16) ?? null,
    adminImpersonationEnabled: readBoolean(env, "ADMIN_IMPERSONATION_ENABLED", false),
    passwordPepper: readSecret(env, "PASSWORD_PEPPER", 16) ?? null,
    providers: readProviderSettings(env),
  };
}

const configCache = new WeakMap<object, Config>();

/** `parseConfig`, memoised per bindings object so it runs once per isolate. */
export function configFor(env: object): Config {
  let config = configCache.get(env);
  if (config === undefined) {
    config = parseConfig(env as RawEnv);
    configCache.set(env, config);
  }
  return config;
}

/**
 * The settings a realm may override (README, "Realms"): what shapes its users'
 * experience and its tokens. Deployment settings and secrets are the operator's
 * alone (where mail and SMS go, the public URL, every secret, the deployment-wide
 * SMS cap, how long isolates lease keys) and are not in this list.
 */
export const REALM_SETTING_NAMES = [
  "CLIENT_URL",
  "ALLOWED_REDIRECT_URLS",
  "ACCESS_TOKEN_TTL_SECONDS",
  "REFRESH_TOKEN_TTL_SECONDS",
  "SESSION_MAX_LIFETIME_SECONDS",
  "REFRESH_REUSE_GRACE_SECONDS",
  "KEY_ROTATION_PERIOD_SECONDS",
  "JWKS_MAX_AGE_SECONDS",
  "VERIFIER_CACHE_MAX_AGE_SECONDS",
  "PASSWORD_MIN_LENGTH",
  "PASSWORD_BLOCK_COMMON",
  "REQUIRE_VERIFIED_EMAIL",
  "SIGNUP_DISABLED",
  "DISABLE_AUTO_SIGNUP",
  "DEFAULT_ROLE",
  "ALLOWED_ROLES",
  "DEFAULT_LOCALE",
  "ALLOWED_LOCALES",
  "JWT_AUDIENCE",
  "CORS_ALLOWED_ORIGINS",
  "EMAIL_VERIFICATION_TTL_SECONDS",
  "PASSWORD_RESET_TTL_SECONDS",
  "MAGIC_LINK_TTL_SECONDS",
  "EMAIL_CHANGE_TTL_SECONDS",
  "EMAIL_OTP_TTL_SECONDS",
  "EMAIL_OTP_DIGITS",
  "OTP_MAX_ATTEMPTS",
  "CONCEAL_ERRORS",
  "ENUMERATION_PROTECTION",
  "ACCESS_CONTROL_ALLOWED_EMAILS",
  "ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS",
  "ACCESS_CONTROL_BLOCKED_EMAILS",
  "ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS",
  "DISABLE_NEW_USERS",
  "EMAIL_PASSWORDLESS_ENABLED",
  "OTP_EMAIL_ENABLED",
  "SMS_PASSWORDLESS_ENABLED",
  "PERSONAL_ACCESS_TOKENS_ENABLED",
  "GRAVATAR_ENABLED",
  "GRAVATAR_DEFAULT",
  "GRAVATAR_RATING",
  "TOTP_ISSUER",
  "MFA_TICKET_TTL_SECONDS",
  "TOTP_MAX_ATTEMPTS_PER_TICKET",
  "TOTP_MAX_ATTEMPTS_PER_USER",
  "SMS_OTP_TTL_SECONDS",
  "ANONYMOUS_USERS_ENABLED",
  "ANONYMOUS_ROLE",
  "PAT_MAX_LIFETIME_SECONDS",
  "WEBAUTHN_ENABLED",
  "WEBAUTHN_RP_ID",
  "WEBAUTHN_RP_NAME",
  "WEBAUTHN_RP_ORIGINS",
  "WEBAUTHN_CHALLENGE_TTL_SECONDS",
  "ELEVATION_TTL_SECONDS",
  "ELEVATION_REQUIRED",
  "RATE_LIMIT_FAILURES_PER_ACCOUNT",
  "RATE_LIMIT_FAILURES_PER_IP",
  "RATE_LIMIT_FAILURE_WINDOW_SECONDS",
  "RATE_LIMIT_LOCKOUT_MAX_SECONDS",
  "RATE_LIMIT_EMAILS_PER_RECIPIENT",
  "RATE_LIMIT_EMAILS_PER_IP",
  "RATE_LIMIT_EMAIL_WINDOW_SECONDS",
  "RATE_LIMIT_SMS_PER_NUMBER",
  "RATE_LIMIT_SMS_PER_IP",
  "RATE_LIMIT_SMS_WINDOW_SECONDS",
  "RATE_LIMIT_SIGNUPS_PER_IP",
  "RATE_LIMIT_SIGNUP_WINDOW_SECONDS",
  "DATABASE",
  // Impersonation is allowed per realm (off unless the realm, or [vars], turns it on).
  "ADMIN_IMPERSONATION_ENABLED",
] as const;
export type RealmSettingName = (typeof REALM_SETTING_NAMES)[number];

/** A provider's settings, all realm-level so a realm can bring its own apps (README, "Social sign-in"). */
const PROVIDER_SETTING_NAME = /^PROVIDER_[A-Z0-9_]+_(ENABLED|CLIENT_ID|CLIENT_SECRET|SCOPES|ISSUER|AUTHORIZATION_URL|TOKEN_URL|USERINFO_URL|AUDIENCES)$/;

/** Whether a realm may override the setting `name`: a listed realm setting, or a provider's. */
export function isRealmSettingName(name: string): boolean {
  return (REALM_SETTING_NAMES as readonly string[]).includes(name) || name === "OIDC_PROVIDERS" || PROVIDER_SETTING_NAME.test(name);
}

/**
 * Whether `settings` (setting name → string value, as `[vars]` has them) may be a
 * realm's overrides on top of `env`: every name a realm setting, and the result
 * parsed by `parseConfig` itself, so a realm can never hold a value the
 * deployment would refuse at startup.
 *
 * @example
 * const checked = validateRealmSettings(env, { SIGNUP_DISABLED: "true" });
 * if (!checked.ok) throw new AuthError("invalid-realm-settings", checked.problem);
 */
export function validateRealmSettings(env: object, settings: Record<string, string>): { ok: true } | { ok: false; problem: string } {
  const refused = Object.keys(settings).filter((name) => !isRealmSettingName(name));
  if (refused.length > 0) {
    return { ok: false, problem: `${refused.join(", ")}: not a realm setting (deployment settings and secrets apply to every realm)` };
  }
  try {
    parseConfig({ ...(env as RawEnv), ...settings });
    return { ok: true };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, problem: error.message };
    throw error;
  }
}

/**
 * Secrets: set with `wrangler secret put` (`.dev.vars` locally), never in
 * `[vars]` or code. Library mode reads them from the Worker's bindings only.
 */
export const SECRET_SETTING_NAMES = [
  "REFRESH_TOKEN_SECRET",
  "ADMIN_SECRET",
  "PASSWORD_PEPPER",
  "TOTP_ENCRYPTION_KEY",
  "SMTP_PASSWORD",
  "MAIL_API_KEY",
  "SMS_AUTH_TOKEN",
] as const;
export type SecretSettingName = (typeof SECRET_SETTING_NAMES)[number];

/** The settings of the whole deployment that are not secrets (no realm overrides them). */
export const DEPLOYMENT_SETTING_NAMES = [
  "ENVIRONMENT",
  "PUBLIC_URL",
  "SIGNING_KEY_LEASE_SECONDS",
  "MAIL_TRANSPORT",
  "MAIL_FROM",
  "SMTP_HOST",
  "SMTP_PORT",
  "SMTP_SECURITY",
  "SMTP_USERNAME",
  "MAIL_API_URL",
  "MAIL_API_FORMAT",
  "SMS_TRANSPORT",
  "SMS_FROM",
  "SMS_API_URL",
  "SMS_ACCOUNT_SID",
  "RATE_LIMIT_SMS_PER_DEPLOYMENT",
  "AUDIT_RETENTION_DAYS",
] as const;

/** Every setting `parseConfig` reads: a new setting joins one of the three lists. */
export const SETTING_NAMES = [...DEPLOYMENT_SETTING_NAMES, ...REALM_SETTING_NAMES, ...SECRET_SETTING_NAMES] as const;
export type SettingName = (typeof SETTING_NAMES)[number];
