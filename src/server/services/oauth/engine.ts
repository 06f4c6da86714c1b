/**
 * The one OAuth 2.0 / OpenID Connect client every provider goes through:
 * authorization-code flow with PKCE (RFC 7636, S256), `state`, and for OpenID
 * providers `nonce` and ID-token validation with jose against the issuer's JWKS
 * (OpenID Connect Core §3.1.3.7). Presets (presets.ts) say where a provider's
 * endpoints are; `oidc-*` providers find them by discovery.
 *
 * Every failure is an AuthError with the spec's code (`oauth-token-echange-failed`,
 * `oauth-profile-fetch-failed`, `invalid-request`) and a logged reason; the
 * provider's own error text is never sent back.
 */
import { base64url, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from "jose";
import type { ProviderSettings } from "../../config";
import { AuthError } from "../../errors";
import { toHex } from "../../lib/encoding";
import { GENERIC_OIDC, PROVIDER_PRESETS, type PresetName, type ProviderPreset, type ProviderProfile } from "./presets";

/** How long an outbound call to a provider may take before the flow fails. */
export const PROVIDER_FETCH_TIMEOUT_MS = 10_000;
/** How long an isolate keeps an issuer's discovery document. */
export const DISCOVERY_CACHE_SECONDS = 3600;
/** Clock skew allowed on an ID token's `exp`, `iat` and `nbf`. */
export const ID_TOKEN_CLOCK_TOLERANCE_SECONDS = 60;
/** Provider answers larger than this are not read: a profile is a few kilobytes. */
const PROVIDER_RESPONSE_MAX_BYTES = 256 * 1024;
/** The signature algorithms an ID token may use (never `none`, never HMAC with the client secret). */
const ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/** A provider ready to use: its settings, its preset, and its endpoints (overrides, preset or discovery). */
export interface ResolvedProvider {
  name: string;
  settings: ProviderSettings;
  preset: ProviderPreset;
  authorizationUrl: string;
  tokenUrl: string;
  userinfoUrl: string | null;
  /** OpenID providers: the `iss` their ID tokens carry, and where their keys are. */
  issuer: string | null;
  /** Other `iss` values the same issuer uses (Google's `accounts.google.com`). */
  issuerAliases: readonly string[];
  jwksUrl: string | null;
  scopes: string[];
}

type Json = Record<string, unknown>;

interface DiscoveryDocument {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  userinfo_endpoint?: string;
  jwks_uri: string;
}

const discoveries = new Map<string, { document: Promise<DiscoveryDocument>; until: number }>();

async function readJson(response: Response): Promise<unknown> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > PROVIDER_RESPONSE_MAX_BYTES) throw new Error(`answer of ${declared} bytes`);
  const body = await response.text();
  if (body.length > PROVIDER_RESPONSE_MAX_BYTES) throw new Error(`answer of ${body.length} characters`);
  return JSON.parse(body);
}

function providerFetch(url: string, init: RequestInit = {}): Promise<Response> {
  // Never follow a provider's redirect with our credentials attached.
  return fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(PROVIDER_FETCH_TIMEOUT_MS) });
}

/** OpenID Connect Discovery 1.0 §4; the document's `issuer` must be the one asked for (§4.3). */
function discover(issuer: string, now = Date.now()): Promise<DiscoveryDocument> {
  const held = discoveries.get(issuer);
  if (held !== undefined && held.until > now) return held.document;
  const document = (async () => {
    const response = await providerFetch(`${issuer}/.well-known/openid-configuration`, { headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(`discovery answered ${response.status}`);
    const parsed = (await readJson(response)) as Partial<DiscoveryDocument>;
    if (parsed.issuer !== issuer) throw new Error(`discovery names issuer "${String(parsed.issuer)}", not "${issuer}"`);
    for (const field of ["authorization_endpoint", "token_endpoint", "jwks_uri"] as const) {
      if (typeof parsed[field] !== "string") throw new Error(`discovery has no ${field}`);
    }
    return parsed as DiscoveryDocument;
  })();
  discoveries.set(issuer, { document, until: now + DISCOVERY_CACHE_SECONDS * 1000 });
  // A failed discovery is not cached: the next request tries again.
  document.catch(() => discoveries.delete(issuer));
  return document;
}

/**
 * The provider `name` as configured for the request's realm, or null when it is
 * not enabled there. Discovery runs for `oidc-*` providers and for a preset whose
 * issuer is overridden (PROVIDER_<NAME>_ISSUER); explicit endpoint settings win.
 */
export async function resolveProvider(providers: Record<string, ProviderSettings>, name: string): Promise<ResolvedProvider | null> {
  const settings = Object.hasOwn(providers, name) ? providers[name]! : null;
  if (settings === null) return null;
  const preset: ProviderPreset = Object.hasOwn(PROVIDER_PRESETS, name)
    ? PROVIDER_PRESETS[name as PresetName]
    : { ...GENERIC_OIDC, authorizationUrl: "", tokenUrl: "" };
  let discovered: DiscoveryDocument | null = null;
  if (settings.issuer !== null && preset.kind === "oidc") {
    try {
      discovered = await discover(settings.issuer);
    } catch (error) {
      throw new AuthError("oauth-provider-error", undefined, { reason: `${name}: ${error instanceof Error ? error.message : "discovery failed"}` });
    }
  }
  return {
    name,
    settings,
    preset,
    authorizationUrl: settings.authorizationUrl ?? discovered?.authorization_endpoint ?? preset.authorizationUrl,
    tokenUrl: settings.tokenUrl ?? discovered?.token_endpoint ?? preset.tokenUrl,
    // OpenID providers may keep the profile claims out of the ID token (Core §5.4): ask userinfo too.
    userinfoUrl: settings.userinfoUrl ?? discovered?.userinfo_endpoint ?? preset.userinfoUrl ?? null,
    issuer: preset.kind === "oidc" ? (discovered?.issuer ?? preset.issuer ?? null) : null,
    // The preset's other spellings of its issuer hold only for the preset's own issuer.
    issuerAliases: discovered === null ? (preset.issuerAliases ?? []) : [],
    jwksUrl: preset.kind === "oidc" ? (discovered?.jwks_uri ?? preset.jwksUrl ?? null) : null,
    scopes: settings.scopes ?? preset.scopes,
  };
}

/** A fresh PKCE pair (RFC 7636 §4.1, §4.2): 32 random bytes as verifier, its SHA-256 as challenge. */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  return { verifier, challenge: await s256(verifier) };
}

/** BASE64URL(SHA-256(ASCII(value))): PKCE's S256 (RFC 7636 §4.2). */
export async function s256(value: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value))));
}

/** The provider's authorization URL for one round trip. */
export function authorizationUrl(
  provider: ResolvedProvider,
  request: { redirectUri: string; state: string; codeChallenge: string; nonce: string | null; extra: Record<string, string> },
): string {
  const url = new URL(provider.authorizationUrl);
  const params: Record<string, string> = {
    ...request.extra,
    ...(provider.preset.authorizationParams ?? {}),
    response_type: "code",
    client_id: provider.settings.clientId,
    redirect_uri: request.redirectUri,
    state: request.state,
    code_challenge: request.codeChallenge,
    code_challenge_method: "S256",
    ...(provider.scopes.length > 0 ? { scope: provider.scopes.join(" ") } : {}),
    ...(request.nonce === null ? {} : { nonce: request.nonce }),
  };
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}

/** The token endpoint's answer (RFC 6749 §5.1). */
export interface TokenResponse {
  accessToken: string;
  refreshToken: string | null;
  expiresIn: number | null;
  idToken: string | null;
  raw: Json;
}

async function tokenRequest(provider: ResolvedProvider, grant: Record<string, string>): Promise<TokenResponse> {
  const { clientId, clientSecret } = provider.settings;
  if (clientSecret === null) throw new AuthError("disabled-endpoint", undefined, { reason: `${provider.name}: no client secret set` });
  const body = new URLSearchParams(grant);
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded", accept: "application/json" };
  if (provider.preset.tokenAuth === "basic") {
    // RFC 6749 §2.3.1: the id and secret are form-encoded before the Basic encoding.
    const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
    headers.authorization = `Basic ${btoa(`${encode(clientId)}:${encode(clientSecret)}`)}`;
  } else {
    body.set("client_id", clientId);
    body.set("client_secret", clientSecret);
  }
  let raw: Json;
  try {
    const response = await providerFetch(provider.tokenUrl, { method: "POST", headers, body });
    const parsed = await readJson(response);
    if (typeof parsed !== "object" || parsed === null) throw new Error("not a JSON object");
    raw = parsed as Json;
    if (!response.ok || typeof raw.error === "string") throw new Error(`answered ${response.status} ${typeof raw.error === "string" ? raw.error : ""}`);
  } catch (error) {
    throw new AuthError(grant.grant_type === "refresh_token" ? "oauth-provider-error" : "oauth-token-echange-failed", undefined, {
      reason: `${provider.name} token endpoint: ${error instanceof Error ? error.message : "failed"}`,
    });
  }
  if (typeof raw.access_token !== "string" || raw.access_token.length === 0) {
    throw new AuthError("oauth-token-echange-failed", undefined, { reason: `${provider.name}: no access_token in the token answer` });
  }
  return {
    accessToken: raw.access_token,
    refreshToken: typeof raw.refresh_token === "string" ? raw.refresh_token : null,
    expiresIn: typeof raw.expires_in === "number" ? raw.expires_in : typeof raw.expires_in === "string" && /^\d+$/.test(raw.expires_in) ? Number(raw.expires_in) : null,
    idToken: typeof raw.id_token === "string" ? raw.id_token : null,
    raw,
  };
}

/** Redeems the authorization code (RFC 6749 §4.1.3) with the PKCE verifier. */
export function exchangeCode(provider: ResolvedProvider, code: string, redirectUri: string, codeVerifier: string): Promise<TokenResponse> {
  return tokenRequest(provider, { grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: codeVerifier });
}

/** A new access token for a provider refresh token (RFC 6749 §6). */
export function refreshProviderTokens(provider: ResolvedProvider, refreshToken: string): Promise<TokenResponse> {
  return tokenRequest(provider, { grant_type: "refresh_token", refresh_token: refreshToken });
}

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

/** One remote key set per JWKS URL and isolate: jose caches the keys and refetches on an unknown `kid`, with a cooldown. */
function keySetOf(jwksUrl: string) {
  let keySet = keySets.get(jwksUrl);
  if (keySet === undefined) {
    keySet = createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: PROVIDER_FETCH_TIMEOUT_MS });
    keySets.set(jwksUrl, keySet);
  }
  return keySet;
}

/**
 * Whether the token's `nonce` is the one this flow sent. Apple's native sign-in
 * sends SHA-256(nonce) in hex to Apple, so its ID tokens carry the hash while the
 * app holds the raw value: for Apple both forms count.
 */
async function idTokenNonceMatches(provider: string, claimed: unknown, expected: string): Promise<boolean> {
  if (typeof claimed !== "string") return false;
  if (claimed === expected) return true;
  if (provider !== "apple") return false;
  return claimed === toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(expected)));
}

/**
 * An ID token's claims once its signature (against the issuer's JWKS), issuer,
 * audience (the provider's client ids), expiry and, when given, nonce check out;
 * `invalid-request` otherwise (the reason says which check failed).
 */
export async function validateIdToken(provider: ResolvedProvider, idToken: string, nonce: string | null, now = Date.now()): Promise<JWTPayload> {
  if (provider.issuer === null || provider.jwksUrl === null) {
    throw new AuthError("invalid-request", undefined, { reason: `${provider.name} issues no ID tokens` });
  }
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, keySetOf(provider.jwksUrl), {
      issuer: [provider.issuer, ...provider.issuerAliases],
      audience: provider.settings.audiences,
      algorithms: ID_TOKEN_ALGORITHMS,
      requiredClaims: ["sub", "exp", "iat"],
      clockTolerance: ID_TOKEN_CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(now),
    }));
  } catch (error) {
    const why = error instanceof joseErrors.JOSEError ? error.code : error instanceof Error ? error.message : "unreadable";
    throw new AuthError("invalid-request", "invalid ID token", { reason: `${provider.name} ID token: ${why}` });
  }
  // OpenID Connect Core §3.1.3.7 (3): with several audiences, `azp` must be ours.
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && !provider.settings.audiences.includes(String(payload.azp))) {
    throw new AuthError("invalid-request", "invalid ID token", { reason: `${provider.name} ID token: azp is not a client id of ours` });
  }
  if (nonce !== null && !(await idTokenNonceMatches(provider.name, payload.nonce, nonce))) {
    throw new AuthError("invalid-request", "invalid ID token", { reason: `${provider.name} ID token: nonce does not match` });
  }
  return payload;
}

/** The user's profile: from the validated ID token, the profile API, or both, read by the preset. */
export async function fetchProfile(provider: ResolvedProvider, tokens: TokenResponse, idTokenClaims: JWTPayload | null): Promise<ProviderProfile> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${tokens.accessToken}`,
    accept: "application/json",
    // GitHub refuses API calls without one.
    "user-agent": "edgeauth",
  };
  for (const [header, value] of Object.entries(provider.preset.userinfoHeaders ?? {})) {
    headers[header] = value === "client-id" ? provider.settings.clientId : value;
  }
  const get = async (url: string): Promise<unknown> => {
    const response = await providerFetch(url, { headers });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return readJson(response);
  };
  let user: Json | null = null;
  let emails: unknown = null;
  try {
    if (provider.userinfoUrl !== null) user = (await get(provider.userinfoUrl)) as Json;
    const emailsUrl = provider.preset.emailsUrl;
    if (emailsUrl !== undefined && provider.userinfoUrl !== null) {
      emails = await get(emailsUrl.startsWith("/") ? `${new URL(provider.userinfoUrl).origin}${new URL(provider.userinfoUrl).pathname}${emailsUrl}` : emailsUrl);
    }
  } catch (error) {
    throw new AuthError("oauth-profile-fetch-failed", undefined, { reason: `${provider.name}: ${error instanceof Error ? error.message : "failed"}` });
  }
  // An OpenID userinfo answer about someone else than the ID token is refused (Core §5.3.2).
  if (idTokenClaims !== null && user !== null && user.sub !== undefined && user.sub !== idTokenClaims.sub) {
    throw new AuthError("oauth-profile-fetch-failed", undefined, { reason: `${provider.name}: userinfo sub differs from the ID token's` });
  }
  const profile = provider.preset.profile({ user, emails, idToken: idTokenClaims as Json | null, tokenResponse: tokens.raw });
  if (profile === null) throw new AuthError("oauth-profile-fetch-failed", undefined, { reason: `${provider.name}: the profile has no user id` });
  return profile;
}
