/** Bindings of the Worker (wrangler.toml) and its secrets. */
interface Env {
  DB: D1Database;
  KEY_STORE: DurableObjectNamespace<import("./keys/key-store").KeyStore>;
  ONE_TIME_CODES: DurableObjectNamespace<import("./otp/one-time-codes").OneTimeCodes>;
  ATTEMPT_COUNTER: DurableObjectNamespace<import("./otp/attempt-counter").AttemptCounter>;
  RATE_LIMITER: DurableObjectNamespace<import("./limits/rate-limiter").RateLimiter>;
  /** The Workers Rate Limiting binding: the coarse per-IP request limit (wrangler.toml `[[ratelimits]]`). */
  REQUEST_RATE_LIMITER?: RateLimit;
  /** Cloudflare Email Routing binding, for MAIL_TRANSPORT=binding. */
  SEND_EMAIL?: SendEmail;
  ENVIRONMENT?: string;
  PUBLIC_URL?: string;
  CLIENT_URL?: string;
  ALLOWED_REDIRECT_URLS?: string;
  ACCESS_TOKEN_TTL_SECONDS?: string;
  REFRESH_TOKEN_TTL_SECONDS?: string;
  SESSION_MAX_LIFETIME_SECONDS?: string;
  REFRESH_REUSE_GRACE_SECONDS?: string;
  KEY_ROTATION_PERIOD_SECONDS?: string;
  JWKS_MAX_AGE_SECONDS?: string;
  VERIFIER_CACHE_MAX_AGE_SECONDS?: string;
  SIGNING_KEY_LEASE_SECONDS?: string;
  PASSWORD_MIN_LENGTH?: string;
  PASSWORD_BLOCK_COMMON?: string;
  REQUIRE_VERIFIED_EMAIL?: string;
  SIGNUP_DISABLED?: string;
  DISABLE_AUTO_SIGNUP?: string;
  DEFAULT_ROLE?: string;
  ALLOWED_ROLES?: string;
  DEFAULT_LOCALE?: string;
  ALLOWED_LOCALES?: string;
  JWT_AUDIENCE?: string;
  DATABASE?: string;
  CORS_ALLOWED_ORIGINS?: string;
  EMAIL_VERIFICATION_TTL_SECONDS?: string;
  PASSWORD_RESET_TTL_SECONDS?: string;
  MAGIC_LINK_TTL_SECONDS?: string;
  EMAIL_CHANGE_TTL_SECONDS?: string;
  EMAIL_OTP_TTL_SECONDS?: string;
  EMAIL_OTP_DIGITS?: string;
  OTP_MAX_ATTEMPTS?: string;
  CONCEAL_ERRORS?: string;
  ENUMERATION_PROTECTION?: string;
  ACCESS_CONTROL_ALLOWED_EMAILS?: string;
  ACCESS_CONTROL_ALLOWED_EMAIL_DOMAINS?: string;
  ACCESS_CONTROL_BLOCKED_EMAILS?: string;
  ACCESS_CONTROL_BLOCKED_EMAIL_DOMAINS?: string;
  DISABLE_NEW_USERS?: string;
  EMAIL_PASSWORDLESS_ENABLED?: string;
  OTP_EMAIL_ENABLED?: string;
  SMS_PASSWORDLESS_ENABLED?: string;
  PERSONAL_ACCESS_TOKENS_ENABLED?: string;
  GRAVATAR_ENABLED?: string;
  GRAVATAR_DEFAULT?: string;
  GRAVATAR_RATING?: string;
  TOTP_ENCRYPTION_KEY?: string;
  TOTP_ISSUER?: string;
  MFA_TICKET_TTL_SECONDS?: string;
  TOTP_MAX_ATTEMPTS_PER_TICKET?: string;
  TOTP_MAX_ATTEMPTS_PER_USER?: string;
  SMS_TRANSPORT?: string;
  SMS_FROM?: string;
  SMS_API_URL?: string;
  SMS_ACCOUNT_SID?: string;
  SMS_AUTH_TOKEN?: string;
  SMS_OTP_TTL_SECONDS?: string;
  ANONYMOUS_USERS_ENABLED?: string;
  ANONYMOUS_ROLE?: string;
  PAT_MAX_LIFETIME_SECONDS?: string;
  WEBAUTHN_ENABLED?: string;
  WEBAUTHN_RP_ID?: string;
  WEBAUTHN_RP_NAME?: string;
  WEBAUTHN_RP_ORIGINS?: string;
  WEBAUTHN_CHALLENGE_TTL_SECONDS?: string;
  ELEVATION_TTL_SECONDS?: string;
  ELEVATION_REQUIRED?: string;
  MAIL_TRANSPORT?: string;
  MAIL_FROM?: string;
  SMTP_HOST?: string;
  SMTP_PORT?: string;
  SMTP_SECURITY?: string;
  SMTP_USERNAME?: string;
  SMTP_PASSWORD?: string;
  MAIL_API_URL?: string;
  MAIL_API_KEY?: string;
  MAIL_API_FORMAT?: string;
  REFRESH_TOKEN_SECRET?: string;
  ADMIN_SECRET?: string;
  ADMIN_IMPERSONATION_ENABLED?: string;
  PASSWORD_PEPPER?: string;
  RATE_LIMIT_FAILURES_PER_ACCOUNT?: string;
  RATE_LIMIT_FAILURES_PER_IP?: string;
  RATE_LIMIT_FAILURE_WINDOW_SECONDS?: string;
  RATE_LIMIT_LOCKOUT_MAX_SECONDS?: string;
  RATE_LIMIT_EMAILS_PER_RECIPIENT?: string;
  RATE_LIMIT_EMAILS_PER_IP?: string;
  RATE_LIMIT_EMAIL_WINDOW_SECONDS?: string;
  RATE_LIMIT_SMS_PER_NUMBER?: string;
  RATE_LIMIT_SMS_PER_IP?: string;
  RATE_LIMIT_SMS_PER_DEPLOYMENT?: string;
  RATE_LIMIT_SMS_WINDOW_SECONDS?: string;
  RATE_LIMIT_SIGNUPS_PER_IP?: string;
  RATE_LIMIT_SIGNUP_WINDOW_SECONDS?: string;
  AUDIT_RETENTION_DAYS?: string;
}

declare namespace Cloudflare {
  interface Env extends globalThis.Env {}
}

declare namespace Cloudflare {
  interface GlobalProps {
    mainModule: typeof import("./index");
    durableNamespaces: "KeyStore" | "OneTimeCodes" | "AttemptCounter" | "RateLimiter";
  }
}
