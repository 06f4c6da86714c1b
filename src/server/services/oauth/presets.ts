/**
 * The spec's 16 providers in one table: where each one's endpoints are, what it
 * is asked for, and how its profile reads as ours (id, email, whether the
 * provider asserts the email verified, name, picture). Pure data and pure
 * functions: the engine (services/oauth/engine.ts) does the fetching.
 *
 * An email counts as verified only where the provider says so in the profile
 * (`email_verified`, GitHub's and Bitbucket's `verified`/`is_confirmed`); where
 * a provider says nothing, it is taken as unverified, so it never links an
 * existing account by address alone (routes/provider.ts, "linking").
 */

/** What edgeauth reads from any provider. */
export interface ProviderProfile {
  /** The provider's stable subject for the user. */
  id: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  picture: string | null;
}

type Json = Record<string, unknown>;

/** The profile documents a preset reads: its profile API's answers, and the ID token's claims for OpenID providers. */
export interface ProfileSources {
  /** The profile endpoint's JSON (null for providers read from the ID token alone). */
  user: Json | null;
  /** Extra documents some providers need (GitHub's and Bitbucket's email lists). */
  emails: unknown;
  /** The validated ID token's claims (OpenID flows). */
  idToken: Json | null;
  /** The token endpoint's JSON (WorkOS puts the profile there, Strava the athlete). */
  tokenResponse: Json;
}

export interface ProviderPreset {
  /** `oidc`: an ID token is required and validated (nonce, signature against the JWKS). */
  kind: "oidc" | "oauth2";
  /** OpenID issuer: what its ID tokens' `iss` must be. */
  issuer?: string;
  /** Other `iss` spellings of the same issuer that its ID tokens may carry. */
  issuerAliases?: readonly string[];
  /** Where the issuer publishes its keys (known for the presets; discovery finds it otherwise). */
  jwksUrl?: string;
  authorizationUrl: string;
  tokenUrl: string;
  /** The profile API; null when the profile comes from the ID token or the token response. */
  userinfoUrl: string | null;
  /** A second profile document, fetched with the same token (relative to `userinfoUrl` when it starts with `/`). */
  emailsUrl?: string;
  scopes: string[];
  /** How the client authenticates at the token endpoint (RFC 6749 §2.3.1). */
  tokenAuth: "basic" | "post";
  /** Extra authorization parameters the provider needs. */
  authorizationParams?: Record<string, string>;
  /** Headers the profile API needs beyond the bearer token (`client-id` is replaced by the client id). */
  userinfoHeaders?: Record<string, string>;
  profile(sources: ProfileSources): ProviderProfile | null;
}

function text(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : typeof value === "number" ? String(value) : null;
}

/** OpenID's `email_verified`, which some providers (Apple) send as the string "true". */
function claimTrue(value: unknown): boolean {
  return value === true || value === "true";
}

/** The standard claims (OpenID Connect Core §5.1), from the ID token and the userinfo answer. */
function standardClaims({ user, idToken }: ProfileSources): ProviderProfile | null {
  const claims = { ...(user ?? {}), ...(idToken ?? {}) };
  const id = text(claims.sub);
  if (id === null) return null;
  const name = text(claims.name) ?? ([text(claims.given_name), text(claims.family_name)].filter(Boolean).join(" ") || null);
  return { id, email: text(claims.email), emailVerified: claimTrue(claims.email_verified), name, picture: text(claims.picture) };
}

/** The same claims, but the provider asserts nothing about the address. */
function standardClaimsUnverified(sources: ProfileSources): ProviderProfile | null {
  const profile = standardClaims(sources);
  return profile === null ? null : { ...profile, emailVerified: false };
}

function firstOf(value: unknown): Json | null {
  return Array.isArray(value) && typeof value[0] === "object" && value[0] !== null ? (value[0] as Json) : null;
}

export const PROVIDER_PRESETS = {
  apple: {
    kind: "oidc",
    issuer: "https://appleid.apple.com",
    jwksUrl: "https://appleid.apple.com/auth/keys",
    authorizationUrl: "https://appleid.apple.com/auth/authorize",
    tokenUrl: "https://appleid.apple.com/auth/token",
    userinfoUrl: null,
    scopes: ["name", "email"],
    // Apple posts the callback when name or email is asked for (hence POST .../callback).
    authorizationParams: { response_mode: "form_post" },
    tokenAuth: "post",
    profile: standardClaims,
  },
  google: {
    kind: "oidc",
    issuer: "https://accounts.google.com",
    // Google: "The value of iss in the ID token is equal to accounts.google.com or https://accounts.google.com."
    issuerAliases: ["accounts.google.com"],
    jwksUrl: "https://www.googleapis.com/oauth2/v3/certs",
    authorizationUrl: "https://accounts.google.com/o/oauth2/v2/auth",
    tokenUrl: "https://oauth2.googleapis.com/token",
    userinfoUrl: null,
    scopes: ["openid", "email", "profile"],
    tokenAuth: "basic",
    profile: standardClaims,
  },
  github: {
    kind: "oauth2",
    authorizationUrl: "https://github.com/login/oauth/authorize",
    tokenUrl: "https://github.com/login/oauth/access_token",
    userinfoUrl: "https://api.github.com/user",
    emailsUrl: "/emails",
    scopes: ["read:user", "user:email"],
    tokenAuth: "post",
    profile: ({ user, emails }) => {
      const id = text(user?.id);
      if (user === null || id === null) return null;
      // /user shows the public address, if any; /user/emails says which one is primary and verified.
      const list = Array.isArray(emails) ? (emails as Json[]) : [];
      const primary = list.find((entry) => entry.primary === true) ?? null;
      const email = text(primary?.email) ?? text(user.email);
      const emailVerified = primary !== null && primary.verified === true && text(primary.email) === email;
      return { id, email, emailVerified, name: text(user.name) ?? text(user.login), picture: text(user.avatar_url) };
    },
  },
  linkedin: {
    kind: "oauth2",
    authorizationUrl: "https://www.linkedin.com/oauth/v2/authorization",
    tokenUrl: "https://www.linkedin.com/oauth/v2/accessToken",
    userinfoUrl: "https://api.linkedin.com/v2/userinfo",
    scopes: ["openid", "profile", "email"],
    tokenAuth: "post",
    profile: standardClaims,
  },
  discord: {
    kind: "oauth2",
    authorizationUrl: "https://discord.com/oauth2/authorize",
    tokenUrl: "https://discord.com/api/oauth2/token",
    userinfoUrl: "https://discord.com/api/users/@me",
    scopes: ["identify", "email"],
    tokenAuth: "post",
    profile: ({ user }) => {
      const id = text(user?.id);
      if (user === null || id === null) return null;
      const avatar = text(user.avatar);
      return {
        id,
        email: text(user.email),
        emailVerified: user.verified === true,
        name: text(user.global_name) ?? text(user.username),
        picture: avatar === null ? null : `https://cdn.discordapp.com/avatars/${id}/${avatar}.png`,
      };
    },
  },
  spotify: {
    kind: "oauth2",
    authorizationUrl: "https://accounts.spotify.com/authorize",
    tokenUrl: "https://accounts.spotify.com/api/token",
    userinfoUrl: "https://api.spotify.com/v1/me",
    scopes: ["user-read-email"],
    tokenAuth: "basic",
    profile: ({ user }) => {
      const id = text(user?.id);
      if (user === null || id === null) return null;
      return { id, email: text(user.email), emailVerified: false, name: text(user.display_name), picture: text(firstOf(user.images)?.url) };
    },
  },
  twitch: {
    kind: "oauth2",
    authorizationUrl: "https://id.twitch.tv/oauth2/authorize",
    tokenUrl: "https://id.twitch.tv/oauth2/token",
    userinfoUrl: "https://api.twitch.tv/helix/users",
    userinfoHeaders: { "client-id": "client-id" },
    scopes: ["user:read:email"],
    tokenAuth: "post",
    profile: ({ user }) => {
      const entry = firstOf(user?.data);
      const id = text(entry?.id);
      if (entry === null || id === null) return null;
      return { id, email: text(entry.email), emailVerified: false, name: text(entry.display_name) ?? text(entry.login), picture: text(entry.profile_image_url) };
    },
  },
  gitlab: {
    kind: "oauth2",
    authorizationUrl: "https://gitlab.com/oauth/authorize",
    tokenUrl: "https://gitlab.com/oauth/token",
    userinfoUrl: "https://gitlab.com/oauth/userinfo",
    scopes: ["openid", "email", "profile"],
    tokenAuth: "post",
    profile: standardClaims,
  },
  bitbucket: {
    kind: "oauth2",
    authorizationUrl: "https://bitbucket.org/site/oauth2/authorize",
    tokenUrl: "https://bitbucket.org/site/oauth2/access_token",
    userinfoUrl: "https://api.bitbucket.org/2.0/user",
    emailsUrl: "https://api.bitbucket.org/2.0/user/emails",
    scopes: ["account", "email"],
    tokenAuth: "basic",
    profile: ({ user, emails }) => {
      const id = text(user?.uuid) ?? text(user?.account_id);
      if (user === null || id === null) return null;
      const values = typeof emails === "object" && emails !== null && Array.isArray((emails as Json).values) ? ((emails as Json).values as Json[]) : [];
      const primary = values.find((entry) => entry.is_primary === true) ?? null;
      const links = (user.links ?? {}) as Json;
      return {
        id,
        email: text(primary?.email),
        emailVerified: primary?.is_confirmed === true,
        name: text(user.display_name),
        picture: text((links.avatar as Json | undefined)?.href),
      };
    },
  },
  workos: {
    kind: "oauth2",
    authorizationUrl: "https://api.workos.com/sso/authorize",
    tokenUrl: "https://api.workos.com/sso/token",
    userinfoUrl: null,
    scopes: [],
    tokenAuth: "post",
    profile: ({ tokenResponse }) => {
      const profile = tokenResponse.profile as Json | undefined;
      const id = text(profile?.id);
      if (profile === undefined || id === null) return null;
      const name = [text(profile.first_name), text(profile.last_name)].filter(Boolean).join(" ") || null;
      return { id, email: text(profile.email), emailVerified: false, name, picture: null };
    },
  },
  azuread: {
    kind: "oauth2",
    authorizationUrl: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    tokenUrl: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    userinfoUrl: "https://graph.microsoft.com/oidc/userinfo",
    scopes: ["openid", "email", "profile"],
    tokenAuth: "post",
    profile: standardClaimsUnverified,
  },
  entraid: {
    kind: "oauth2",
    authorizationUrl: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
    tokenUrl: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    userinfoUrl: "https://graph.microsoft.com/oidc/userinfo",
    scopes: ["openid", "email", "profile"],
    tokenAuth: "post",
    profile: standardClaimsUnverified,
  },
  strava: {
    kind: "oauth2",
    authorizationUrl: "https://www.strava.com/oauth/authorize",
    tokenUrl: "https://www.strava.com/oauth/token",
    userinfoUrl: "https://www.strava.com/api/v3/athlete",
    scopes: ["read"],
    tokenAuth: "post",
    profile: ({ user }) => {
      const id = text(user?.id);
      if (user === null || id === null) return null;
      const name = [text(user.firstname), text(user.lastname)].filter(Boolean).join(" ") || null;
      return { id, email: null, emailVerified: false, name, picture: text(user.profile) };
    },
  },
  facebook: {
    kind: "oauth2",
    authorizationUrl: "https://www.facebook.com/v19.0/dialog/oauth",
    tokenUrl: "https://graph.facebook.com/v19.0/oauth/access_token",
    userinfoUrl: "https://graph.facebook.com/me?fields=id,name,email,picture",
    scopes: ["email", "public_profile"],
    tokenAuth: "post",
    profile: ({ user }) => {
      const id = text(user?.id);
      if (user === null || id === null) return null;
      const picture = ((user.picture as Json | undefined)?.data as Json | undefined)?.url;
      return { id, email: text(user.email), emailVerified: false, name: text(user.name), picture: text(picture) };
    },
  },
  windowslive: {
    kind: "oauth2",
    authorizationUrl: "https://login.live.com/oauth20_authorize.srf",
    tokenUrl: "https://login.live.com/oauth20_token.srf",
    userinfoUrl: "https://apis.live.net/v5.0/me",
    scopes: ["wl.basic", "wl.emails"],
    tokenAuth: "post",
    profile: ({ user }) => {
      const id = text(user?.id);
      if (user === null || id === null) return null;
      const emails = (user.emails ?? {}) as Json;
      return { id, email: text(emails.preferred) ?? text(emails.account), emailVerified: false, name: text(user.name), picture: null };
    },
  },
  twitter: {
    kind: "oauth2",
    authorizationUrl: "https://twitter.com/i/oauth2/authorize",
    tokenUrl: "https://api.twitter.com/2/oauth2/token",
    userinfoUrl: "https://api.twitter.com/2/users/me?user.fields=profile_image_url",
    scopes: ["users.read", "tweet.read", "offline.access"],
    tokenAuth: "basic",
    profile: ({ user }) => {
      const data = (user?.data ?? null) as Json | null;
      const id = text(data?.id);
      if (data === null || id === null) return null;
      return { id, email: null, emailVerified: false, name: text(data.name) ?? text(data.username), picture: text(data.profile_image_url) };
    },
  },
} as const satisfies Record<string, ProviderPreset>;

export type PresetName = keyof typeof PROVIDER_PRESETS;
export const PRESET_NAMES = Object.keys(PROVIDER_PRESETS) as PresetName[];

/** Providers whose ID tokens `/signin/idtoken` and its siblings accept (the spec's `IdTokenProvider`). */
export const ID_TOKEN_PROVIDERS = ["apple", "google"] as const;

/** `oidc-<name>` providers: any OpenID provider, configured by issuer through discovery. */
export const OIDC_PROVIDER_NAME = /^oidc-[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** The generic preset of an `oidc-*` provider; its endpoints come from discovery. */
export const GENERIC_OIDC: Omit<ProviderPreset, "authorizationUrl" | "tokenUrl"> = {
  kind: "oidc",
  userinfoUrl: null,
  scopes: ["openid", "email", "profile"],
  tokenAuth: "basic",
  profile: standardClaims,
};
