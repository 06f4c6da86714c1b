/**
 * The only storage schema. drizzle-kit generates `migrations/` from this file
 * (`npm run db:generate`); wrangler applies them.
 *
 * Every table carries `realm` (design §7). Times are epoch milliseconds.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const realms = sqliteTable("realms", {
  id: text("id").primaryKey(),
  createdAt: integer("created_at").notNull(),
  displayName: text("display_name").notNull().default(""),
  /**
   * JSON object: the realm's overrides of the deployment's settings, by setting
   * name (`SIGNUP_DISABLED`, ...) with string values, as `[vars]` has them; checked
   * by the same parser. `{}` for the default realm, whose settings are `[vars]`.
   */
  settings: text("settings").notNull().default("{}"),
  /** Set when an operator deleted the realm: its routes answer 404 while its rows are removed in the background. */
  deletedAt: integer("deleted_at"),
});

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    realm: text("realm").notNull().references(() => realms.id),
    /**
     * As the user entered it (Nhost keeps the case); null for anonymous and
     * phone-only users. Every lookup and the unique index compare `lower(email)`,
     * so case never makes two accounts.
     */
    email: text("email"),
    emailVerified: integer("email_verified", { mode: "boolean" }).notNull().default(false),
    phoneNumber: text("phone_number"),
    phoneNumberVerified: integer("phone_number_verified", { mode: "boolean" }).notNull().default(false),
    /** Self-describing hash (see services/password.ts); null when the user has no password. */
    passwordHash: text("password_hash"),
    /**
     * When the password was last set after the account's sign-up; null while it is
     * the one the sign-up set (or there is none). A verification link keeps only
     * what the sign-up set (see db/address-proof.ts).
     */
    passwordChangedAt: integer("password_changed_at"),
    displayName: text("display_name").notNull().default(""),
    avatarUrl: text("avatar_url").notNull().default(""),
    locale: text("locale").notNull(),
    defaultRole: text("default_role").notNull(),
    /** JSON object text. */
    metadata: text("metadata").notNull().default("{}"),
    isAnonymous: integer("is_anonymous", { mode: "boolean" }).notNull().default(false),
    disabled: integer("disabled", { mode: "boolean" }).notNull().default(false),
    activeMfaType: text("active_mfa_type"),
    /** TOTP secret, AES-GCM encrypted under a server secret (see services/totp-secrets.ts); never in clear. */
    totpSecretEncrypted: text("totp_secret_encrypted"),
    /** The last TOTP time step accepted: a code is accepted once (RFC 6238 §5.2). */
    totpLastStep: integer("totp_last_step"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (table) => [
    uniqueIndex("users_realm_email_lower_unique").on(table.realm, sql`lower(${table.email})`),
    uniqueIndex("users_realm_phone_unique").on(table.realm, table.phoneNumber),
    // The daily purge looks for anonymous users left without a session.
    index("users_anonymous_created_idx").on(table.createdAt).where(sql`${table.isAnonymous} = 1`),
  ],
);

export const userRoles = sqliteTable(
  "user_roles",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role").notNull(),
    realm: text("realm").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.role] })],
);

/**
 * One row per refresh token ever issued. A sign-in starts a family (`familyId`,
 * also the `sid` claim of its access tokens); every refresh rotates to a child in
 * the same family. Rows are kept after rotation so that a reuse can be detected.
 */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    id: text("id").primaryKey(),
    realm: text("realm").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    familyId: text("family_id").notNull(),
    /** SHA-256 of the token, hex. The token itself is never stored. */
    tokenHash: text("token_hash").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    /** Set once, when this token was exchanged for its child. */
    rotatedAt: integer("rotated_at"),
    revokedAt: integer("revoked_at"),
    /**
     * The session's absolute end (SESSION_MAX_LIFETIME_SECONDS after sign-in),
     * copied from parent to child: no rotation outlives it. Null: no limit.
     */
    sessionExpiresAt: integer("session_expires_at"),
    /** The client's address and user agent at sign-in, copied to every rotation (the admin API lists sessions with them). */
    clientIp: text("client_ip"),
    userAgent: text("user_agent"),
  },
  (table) => [
    uniqueIndex("refresh_tokens_token_hash_unique").on(table.tokenHash),
    index("refresh_tokens_family_idx").on(table.familyId),
    index("refresh_tokens_user_idx").on(table.userId),
    // The daily purge deletes by expiry.
    index("refresh_tokens_expires_idx").on(table.expiresAt),
  ],
);

/**
 * Single-use tickets (email verification, password reset, magic link, MFA
 * challenge). `ticketHash` is the SHA-256 of the whole `<purpose>:<secret>` string.
 */
export const tickets = sqliteTable(
  "tickets",
  {
    ticketHash: text("ticket_hash").primaryKey(),
    realm: text("realm").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: text("purpose").notNull(),
    /** Purpose-specific data, e.g. the new address of an email change. */
    payload: text("payload"),
    /** Where `/verify` sends the browser afterwards (checked again there). */
    redirectTo: text("redirect_to"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
    /**
     * A nonce of the request that redeemed the ticket: later statements of the same
     * batch check it, so a session is created only by the request that redeemed it.
     */
    redeemedBy: text("redeemed_by"),
    /**
     * A PKCE challenge (S256) the request that made the ticket sent: `/verify` then
     * answers an authorization code for `/token/exchange` instead of a refresh
     * token. Kept with the ticket so that editing the link cannot drop it.
     */
    codeChallenge: text("code_challenge"),
  },
  (table) => [index("tickets_user_idx").on(table.userId), index("tickets_expires_idx").on(table.expiresAt)],
);

/** Personal access tokens: long-lived, exchanged for a session at `/signin/pat`. */
export const personalAccessTokens = sqliteTable(
  "personal_access_tokens",
  {
    id: text("id").primaryKey(),
    realm: text("realm").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** SHA-256 of the token, hex; the token is shown once, at creation. */
    tokenHash: text("token_hash").notNull(),
    /** JSON object text. */
    metadata: text("metadata").notNull().default("{}"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (table) => [
    uniqueIndex("pat_token_hash_unique").on(table.tokenHash),
    index("pat_user_idx").on(table.userId),
    index("pat_expires_idx").on(table.expiresAt),
  ],
);

/** Passkeys (WebAuthn credentials) registered to users. */
export const webauthnCredentials = sqliteTable(
  "webauthn_credentials",
  {
    /** The credential ID, base64url. */
    id: text("id").primaryKey(),
    realm: text("realm").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** COSE public key, base64url. */
    publicKey: text("public_key").notNull(),
    counter: integer("counter").notNull().default(0),
    /** JSON array of transports the authenticator reported. */
    transports: text("transports").notNull().default("[]"),
    nickname: text("nickname"),
    aaguid: text("aaguid"),
    deviceType: text("device_type"),
    backedUp: integer("backed_up", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    lastUsedAt: integer("last_used_at"),
    /** Nonce of the request that last recorded an assertion: its session insert checks it in the same batch. */
    lastAssertion: text("last_assertion"),
  },
  (table) => [index("webauthn_credentials_user_idx").on(table.userId)],
);

/**
 * WebAuthn challenges: single-use, expiring, bound to a ceremony and (when
 * known) a user. Stored as the SHA-256 of the challenge.
 */
export const webauthnChallenges = sqliteTable(
  "webauthn_challenges",
  {
    challengeHash: text("challenge_hash").primaryKey(),
    realm: text("realm").notNull(),
    /** `signup`, `signin`, `add` or `elevate`. */
    ceremony: text("ceremony").notNull(),
    userId: text("user_id"),
    /** JSON: what the ceremony needs afterwards (e.g. the sign-up email and options). */
    payload: text("payload"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (table) => [index("webauthn_challenges_expires_idx").on(table.expiresAt)],
);

/**
 * Mails kept by the `dev` transport (ENVIRONMENT=development only), read back
 * at `/_dev/outbox` and `/_dev/mail`.
 */
export const devOutbox = sqliteTable(
  "dev_outbox",
  {
    id: text("id").primaryKey(),
    realm: text("realm").notNull(),
    /** `email` or `sms`. */
    channel: text("channel").notNull().default("email"),
    recipient: text("recipient").notNull(),
    subject: text("subject").notNull(),
    text: text("text").notNull(),
    html: text("html").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [index("dev_outbox_created_idx").on(table.createdAt)],
);

/**
 * Operator overrides of the built-in mail templates, per realm, kind and locale.
 * Rows here win over the templates shipped in src/server/services/mail/templates.ts.
 */
export const emailTemplates = sqliteTable(
  "email_templates",
  {
    realm: text("realm").notNull(),
    kind: text("kind").notNull(),
    locale: text("locale").notNull(),
    subject: text("subject").notNull(),
    text: text("text").notNull(),
    html: text("html").notNull(),
  },
  (table) => [primaryKey({ columns: [table.realm, table.kind, table.locale] })],
);

/**
 * Admin API keys: bound to one realm, with scopes; the secret is shown once and
 * only its SHA-256 is kept. `prefix` is the start of the secret, to recognise a
 * key in a list (the full secret carries a fixed prefix too, for leak scanners).
 */
export const adminApiKeys = sqliteTable(
  "admin_api_keys",
  {
    id: text("id").primaryKey(),
    realm: text("realm").notNull(),
    name: text("name").notNull(),
    keyHash: text("key_hash").notNull(),
    prefix: text("prefix").notNull(),
    /** JSON array of scopes (`users:read`, `users:write`, ...). */
    scopes: text("scopes").notNull().default("[]"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at"),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (table) => [uniqueIndex("admin_api_keys_hash_unique").on(table.keyHash), index("admin_api_keys_realm_idx").on(table.realm)],
);

/**
 * The audit log: sign-ins (success and failure, with the method), sign-ups,
 * sign-outs, refresh-reuse revocations, factor and password changes, admin actions
 * and rate-limit hits. Kept for AUDIT_RETENTION_DAYS by the daily purge.
 */
export const auditEvents = sqliteTable(
  "audit_events",
  {
    id: text("id").primaryKey(),
    realm: text("realm").notNull(),
    type: text("type").notNull(),
    userId: text("user_id"),
    /** `user`, `admin-key`, `admin-secret` or `anonymous` (no credential yet, e.g. a failed sign-in). */
    actorType: text("actor_type").notNull(),
    actorId: text("actor_id"),
    clientIp: text("client_ip"),
    userAgent: text("user_agent"),
    /** `success` or `failure`. */
    outcome: text("outcome").notNull(),
    /** JSON object: what else the event carries (the sign-in method, the error code...). */
    detail: text("detail").notNull().default("{}"),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [
    index("audit_events_realm_time_idx").on(table.realm, table.createdAt, table.id),
    index("audit_events_realm_user_idx").on(table.realm, table.userId, table.createdAt),
    index("audit_events_realm_type_idx").on(table.realm, table.type, table.createdAt),
    index("audit_events_created_idx").on(table.createdAt),
  ],
);

/**
 * Social sign-in: an identity at a provider (provider + its subject), linked to one
 * user. Unique per realm, so one provider account never signs in two users.
 */
export const providerIdentities = sqliteTable(
  "provider_identities",
  {
    id: text("id").primaryKey(),
    realm: text("realm").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** `google`, `github`, `oidc-okta`, ... */
    provider: text("provider").notNull(),
    /** The provider's stable subject (`sub`, GitHub's numeric id). */
    providerUserId: text("provider_user_id").notNull(),
    /** The address the provider gave when linked, for the operator; never used to sign in. */
    email: text("email"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (table) => [
    uniqueIndex("provider_identities_subject_unique").on(table.realm, table.provider, table.providerUserId),
    index("provider_identities_user_idx").on(table.userId),
  ],
);

/**
 * A provider round trip in flight (`GET /signin/provider/{provider}` to its
 * callback): single-use, short-lived, found by the hash of its `state`, and bound
 * to the browser that started it by the hash of a `__Host-` cookie.
 */
export const oauthStates = sqliteTable(
  "oauth_states",
  {
    /** SHA-256 of the `state` sent to the provider, hex. */
    stateHash: text("state_hash").primaryKey(),
    realm: text("realm").notNull(),
    provider: text("provider").notNull(),
    /** SHA-256 of the browser-binding cookie, hex. */
    browserHash: text("browser_hash").notNull(),
    /** JSON: flow, redirectTo, sign-up options, PKCE verifier, nonce, the app's state and code challenge, connect user. */
    payload: text("payload").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
  },
  (table) => [index("oauth_states_expires_idx").on(table.expiresAt)],
);

/**
 * A provider's tokens from the last sign-in, AES-GCM encrypted (services/oauth/provider-tokens.ts),
 * kept until `/signin/provider/{provider}/callback/tokens` hands them out once.
 */
export const providerSessions = sqliteTable(
  "provider_sessions",
  {
    realm: text("realm").notNull(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    provider: text("provider").notNull(),
    tokensEncrypted: text("tokens_encrypted").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (table) => [primaryKey({ columns: [table.userId, table.provider] }), index("provider_sessions_created_idx").on(table.createdAt)],
);

export type UserRow = typeof users.$inferSelect;
export type RefreshTokenRow = typeof refreshTokens.$inferSelect;

/** The realm served at the root paths; seeded by the first migration. */
export const DEFAULT_REALM = "default";
