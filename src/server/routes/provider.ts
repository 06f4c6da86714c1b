/**
 * Social sign-in through a provider's authorization-code flow (README, "Social
 * sign-in"): `GET /signin/provider/{provider}` (and `/signup/...`) starts the
 * round trip, the provider sends the browser back to
 * `.../callback` (GET, or POST for Apple's form_post), and the browser lands on
 * the app's `redirectTo` with `refreshToken` (or, with `codeChallenge`, a `code`;
 * with TOTP active, an `mfaTicket`), or with `error` and `errorDescription`.
 *
 * The round trip is bound to the browser that started it: its `state` is
 * single-use, lives 10 minutes, is stored hashed, and only counts together with
 * the `__Host-` cookie set at the start, so a state planted in someone else's
 * browser (login CSRF) or replayed finds nothing. Once `redirectTo` is known,
 * every failure goes back to it as `error`/`errorDescription`: a browser in
 * the middle of a redirect has no use for JSON.
 */
import { Hono, type Context } from "hono";
import * as z from "zod/mini";
import type { AppEnv, RequestContext } from "../context";
import { consumeOAuthState, insertOAuthState, saveProviderSessionStatement, takeProviderSession } from "../db/provider-identities";
import { findUserById, runBatch, type Statement, type UserWithRoles } from "../db/users";
import { AuthError, errorRedirect, shownError } from "../errors";
import { readJsonBody } from "../lib/body";
import { boundedString } from "../lib/schema";
import { constantTimeEqualStrings, sha256Hex } from "../lib/crypto";
import { isRedirectAllowed } from "../lib/redirect";
import { allowedRedirectPrefixes, resolveSignUpOptions, signUpOptionsSchema, type ResolvedSignUpOptions, type SignUpOptions } from "../lib/sign-up-options";
import { authorizationUrl, exchangeCode, fetchProfile, pkcePair, refreshProviderTokens, resolveProvider, validateIdToken, type ResolvedProvider, type TokenResponse } from "../services/oauth/engine";
import { decryptProviderSession, encryptProviderSession } from "../services/oauth/provider-tokens";
import { userForIdentity } from "../services/oauth/social-accounts";
import type { ProviderSession } from "../../shared/api";
import { newAuthorizationCode } from "../tokens/authorization-code";
import { afterFirstFactor } from "../tokens/first-factor";
import { checkMaySignIn } from "../tokens/may-sign-in";
import { requireAccessToken, serverVerifier } from "../tokens/verify";
import { recordAudit } from "../services/audit";
import { requireElevation } from "../tokens/elevation";
import { findUserWithLiveSession } from "../db/refresh-tokens";
import { base64url } from "jose";

/**
 * What `GET /signin/provider/{provider}` and `/signup/...` read from the query (by
 * hand: every refusal after `redirectTo` goes back to it as a redirect), for the
 * OpenAPI document.
 */
export const providerStartQuery = z.object({
  redirectTo: z.optional(boundedString(0, 2048)),
  connect: z.optional(z.string()),
  state: z.optional(boundedString(0, 1024)),
  codeChallenge: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/))),
  upstreamParams: z.optional(z.string()),
  connection: z.optional(z.string()),
  organization: z.optional(z.string()),
  allowedRoles: z.optional(z.string()),
  defaultRole: z.optional(z.string()),
  displayName: z.optional(z.string()),
  locale: z.optional(z.string()),
  metadata: z.optional(z.string()),
});

/** What the callback reads (the query of GET; the form of POST). */
export const providerCallbackQuery = z.object({
  state: boundedString(1, 512),
  code: z.optional(z.string()),
  error: z.optional(z.string()),
  error_description: z.optional(z.string()),
});

/** ASVS 6.5.5-style bound on a round trip in flight. */
export const OAUTH_STATE_TTL_SECONDS = 600;
/**
 * Binds a round trip to the browser. `__Host-`: set by us only, Secure, on `/`,
 * no Domain. SameSite=None because Apple's form_post callback is a cross-site
 * POST, which a Lax cookie would miss; the cookie is a binding, not a credential,
 * so sending it cross-site gives nothing away.
 */
export const BROWSER_BINDING_COOKIE = "__Host-edgeauth-oauth";
const BROWSER_BINDING_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** What the app may pass through the round trip in `state`. */
const APP_STATE_MAX_LENGTH = 1024;
/** The spec's `codeChallenge`: an S256 challenge, 43 base64url characters. */
const CODE_CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Authorization parameters the app may not set through `upstreamParams`: the flow's own. */
const RESERVED_UPSTREAM_PARAMS = new Set([
  "response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method",
  "response_mode", "request", "request_uri", "client_secret", "claims", "registration",
]);
const UPSTREAM_PARAMS_MAX = 20;
/** Callback bodies (Apple's form_post) are small; anything bigger is not a provider's. */
const CALLBACK_BODY_MAX_BYTES = 64 * 1024;

interface RoundTrip {
  flow: "signin" | "signup" | "link";
  redirectTo: string;
  options: ResolvedSignUpOptions;
  codeVerifier: string;
  nonce: string | null;
  /** The app's own `state`, handed back on its redirect. */
  appState: string | null;
  /** The app's PKCE challenge: the callback answers with a code instead of a refresh token. */
  codeChallenge: string | null;
  /** `connect`: the signed-in user the identity is to be linked to. */
  linkUserId: string | null;
}

function randomToken(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
}

function callbackUrl(context: RequestContext, provider: string): string {
  return `${context.realm.issuer}/signin/provider/${provider}/callback`;
}

function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return null;
}

/** Where the app's browser goes, with our answer in the query. */
function appRedirect(target: string, params: Record<string, string | null>): string {
  const url = new URL(target);
  for (const [key, value] of Object.entries(params)) if (value !== null) url.searchParams.set(key, value);
  return url.toString();
}

/** The app's `redirectTo` when allowed, else its client URL; a disallowed one is a JSON error (there is nowhere safe to send it). */
function redirectTarget(context: RequestContext, redirectTo: string | undefined): string {
  const { config } = context;
  if (redirectTo !== undefined && redirectTo !== "") {
    if (!isRedirectAllowed(redirectTo, allowedRedirectPrefixes(config))) throw new AuthError("redirectTo-not-allowed");
    return redirectTo;
  }
  if (config.clientUrl === null) throw new AuthError("redirectTo-not-allowed", undefined, { reason: "no redirectTo and no CLIENT_URL" });
  return config.clientUrl;
}

/** The spec's sign-up options, as query parameters (`allowedRoles` comma-separated, `metadata` JSON). */
function signUpOptionsOf(query: URLSearchParams, redirectTo: string | undefined): SignUpOptions {
  const roles = query.get("allowedRoles");
  let metadata: unknown;
  const metadataText = query.get("metadata");
  if (metadataText !== null) {
    try {
      metadata = JSON.parse(metadataText);
    } catch {
      throw new AuthError("invalid-request", "metadata must be a JSON object");
    }
  }
  const raw = {
    ...(roles === null ? {} : { allowedRoles: roles.split(",").map((role) => role.trim()).filter(Boolean) }),
    ...(query.get("defaultRole") === null ? {} : { defaultRole: query.get("defaultRole")! }),
    ...(query.get("displayName") === null ? {} : { displayName: query.get("displayName")! }),
    ...(query.get("locale") === null ? {} : { locale: query.get("locale")! }),
    ...(metadata === undefined ? {} : { metadata }),
    ...(redirectTo === undefined ? {} : { redirectTo }),
  };
  const parsed = signUpOptionsSchema.safeParse(raw);
  if (!parsed.success) throw new AuthError("invalid-request", "invalid sign-up options");
  return parsed.data;
}

/** `upstreamParams` as nhost-js sends it (one JSON object) or as the spec's deepObject (`upstreamParams[prompt]=...`). */
function upstreamParamsOf(query: URLSearchParams): Record<string, string> {
  const params: Record<string, string> = {};
  const json = query.get("upstreamParams");
  if (json !== null) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      throw new AuthError("invalid-request", "upstreamParams must be a JSON object");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new AuthError("invalid-request", "upstreamParams must be a JSON object");
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== "string") throw new AuthError("invalid-request", "upstreamParams values must be strings");
      params[key] = value;
    }
  }
  for (const [key, value] of query) {
    const match = /^upstreamParams\[([^\]]+)\]$/.exec(key);
    if (match !== null) params[match[1]!] = value;
  }
  const keys = Object.keys(params);
  if (keys.length > UPSTREAM_PARAMS_MAX) throw new AuthError("invalid-request", "too many upstreamParams");
  const reserved = keys.find((key) => RESERVED_UPSTREAM_PARAMS.has(key.toLowerCase()));
  if (reserved !== undefined) throw new AuthError("invalid-request", `upstreamParams may not set ${reserved}`);
  return params;
}

async function enabledProvider(context: RequestContext, name: string): Promise<ResolvedProvider> {
  const provider = await resolveProvider(context.config.providers, name);
  if (provider === null) throw new AuthError("disabled-endpoint", undefined, { reason: `provider ${name} is not enabled` });
  return provider;
}

/**
 * The user `connect` names (its access token): as for every route that changes
 * the account, only while the token's session lives, never for an
 * impersonation token or an anonymous user, and elevated when the user has a
 * second factor (as `/link/idtoken`).
 */
async function connectingUser(context: RequestContext, accessToken: string): Promise<string> {
  const verified = await serverVerifier(context).verify(accessToken);
  if (!verified.ok || "act" in verified.claims) throw new AuthError("unauthenticated-user");
  const { claims } = verified;
  const user = await findUserWithLiveSession(context.db, context.realm.id, claims.sub, claims.sid, Date.now());
  if (user === null) throw new AuthError("unauthenticated-user");
  if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
  await requireElevation(context, claims, user);
  return user.id;
}

/** Starts a round trip: stores its state, sets the browser binding and sends the browser to the provider. */
async function startRoundTrip(c: Context<AppEnv>, flow: "signin" | "signup"): Promise<Response> {
  const context = c.var.context;
  const query = new URL(c.req.url).searchParams;
  const redirectTo = query.get("redirectTo") ?? undefined;
  const target = redirectTarget(context, redirectTo);
  try {
    const provider = await enabledProvider(context, c.req.param("provider")!);
    const optionsInput = signUpOptionsOf(query, redirectTo);
    const resolved = resolveSignUpOptions(optionsInput, context.config);
    if (!resolved.ok) throw new AuthError(resolved.code);
    const appState = query.get("state");
    if (appState !== null && appState.length > APP_STATE_MAX_LENGTH) throw new AuthError("invalid-request", "state is too long");
    const codeChallenge = query.get("codeChallenge");
    if (codeChallenge !== null && !CODE_CHALLENGE_PATTERN.test(codeChallenge)) throw new AuthError("invalid-request", "codeChallenge must be an S256 challenge");
    const extra = upstreamParamsOf(query);
    // WorkOS's own selectors (the spec's providerSpecificParams), sent flat by nhost-js.
    if (provider.name === "workos") {
      for (const key of ["connection", "organization"]) {
        const value = query.get(key) ?? query.get(`providerSpecificParams[${key}]`);
        if (value !== null) extra[key] = value;
      }
    }
    const connect = query.get("connect");
    const linkUserId = connect === null ? null : await connectingUser(context, connect);

    const state = randomToken();
    const pkce = await pkcePair();
    const nonce = provider.preset.kind === "oidc" ? randomToken() : null;
    const presented = readCookie(c.req.header("cookie"), BROWSER_BINDING_COOKIE);
    // One binding per browser, reused, so two tabs signing in at once both finish.
    const binding = presented !== null && BROWSER_BINDING_PATTERN.test(presented) ? presented : randomToken();
    const now = Date.now();
    const roundTrip: RoundTrip = {
      flow: linkUserId !== null ? "link" : flow,
      redirectTo: target,
      options: resolved.value,
      codeVerifier: pkce.verifier,
      nonce,
      appState,
      codeChallenge,
      linkUserId,
    };
    await insertOAuthState(context.db, {
      stateHash: await sha256Hex(state),
      realm: context.realm.id,
      provider: provider.name,
      browserHash: await sha256Hex(binding),
      payload: JSON.stringify(roundTrip),
      createdAt: now,
      expiresAt: now + OAUTH_STATE_TTL_SECONDS * 1000,
    });
    c.header("set-cookie", `${BROWSER_BINDING_COOKIE}=${binding}; Path=/; Max-Age=${OAUTH_STATE_TTL_SECONDS}; Secure; HttpOnly; SameSite=None`);
    c.header("cache-control", "no-store");
    return c.redirect(authorizationUrl(provider, { redirectUri: callbackUrl(context, provider.name), state, codeChallenge: pkce.challenge, nonce, extra }), 302);
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    logRefusal(c, error);
    return c.redirect(errorRedirect(target, shownError(error, context.config.concealErrors)), 302);
  }
}

function logRefusal(c: Context<AppEnv>, error: AuthError): void {
  console.warn(`${c.req.method} ${c.req.path}: ${error.code}${error.reason === null ? "" : `: ${error.reason}`}`);
}

/** The callback's parameters: the query (GET), or the form body (POST, Apple's form_post). */
async function callbackParams(c: Context<AppEnv>): Promise<URLSearchParams> {
  if (c.req.method !== "POST") return new URL(c.req.url).searchParams;
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded")) throw new AuthError("invalid-request", "expected a form body");
  const body = await c.req.raw.text();
  if (body.length > CALLBACK_BODY_MAX_BYTES) throw new AuthError("request-too-large");
  return new URLSearchParams(body);
}

/** The provider tokens as the spec's `ProviderSession`. */
function providerSessionOf(tokens: TokenResponse, previousRefreshToken: string | null, now: number): ProviderSession {
  const expiresIn = tokens.expiresIn ?? 0;
  return {
    accessToken: tokens.accessToken,
    expiresIn,
    expiresAt: new Date(now + expiresIn * 1000).toISOString(),
    // A provider that does not rotate its refresh token keeps the one the app holds.
    refreshToken: tokens.refreshToken ?? previousRefreshToken,
  };
}

/** Apple sends the name once, on the first sign-in, as a `user` form field (JSON). */
function appleName(params: URLSearchParams): string | null {
  const user = params.get("user");
  if (user === null) return null;
  try {
    const parsed = JSON.parse(user) as { name?: { firstName?: unknown; lastName?: unknown } };
    const parts = [parsed.name?.firstName, parsed.name?.lastName].filter((part): part is string => typeof part === "string" && part.length > 0);
    return parts.length > 0 ? parts.join(" ") : null;
  } catch {
    return null;
  }
}

async function finishRoundTrip(c: Context<AppEnv>): Promise<Response> {
  const context = c.var.context;
  const { config, db, realm } = context;
  const providerName = c.req.param("provider")!;
  // The answer's Location may carry a refresh token or a code.
  c.header("cache-control", "no-store");
  const params = await callbackParams(c);
  const state = params.get("state");
  const now = Date.now();
  const stored = state === null || state.length > 512 ? null : await consumeOAuthState(db, realm.id, await sha256Hex(state), now);
  if (stored === null) {
    // Unknown, used or expired: nothing says where the app is but its client URL.
    const error = new AuthError("invalid-state", undefined, { reason: "no live round trip for this state" });
    if (config.clientUrl === null) throw error;
    logRefusal(c, error);
    return c.redirect(errorRedirect(config.clientUrl, shownError(error, config.concealErrors)), 302);
  }
  const roundTrip = JSON.parse(stored.payload) as RoundTrip;
  let signedInUser: string | null = null;
  try {
    const presented = readCookie(c.req.header("cookie"), BROWSER_BINDING_COOKIE);
    if (stored.provider !== providerName) throw new AuthError("invalid-state", undefined, { reason: "state of another provider" });
    if (presented === null || !(await constantTimeEqualStrings(await sha256Hex(presented), stored.browserHash))) {
      throw new AuthError("invalid-state", undefined, { reason: "the browser that started the round trip is not the one that finished it" });
    }
    const providerError = params.get("error");
    if (providerError !== null) throw new AuthError("oauth-provider-error", undefined, { reason: `${providerName} answered ${providerError.slice(0, 100)}` });
    const code = params.get("code");
    if (code === null || code === "") throw new AuthError("oauth-provider-error", undefined, { reason: "no code in the callback" });

    const provider = await enabledProvider(context, providerName);
    const tokens = await exchangeCode(provider, code, callbackUrl(context, providerName), roundTrip.codeVerifier);
    let idClaims = null;
    if (provider.preset.kind === "oidc") {
      if (tokens.idToken === null) throw new AuthError("oauth-token-echange-failed", undefined, { reason: `${providerName}: no id_token` });
      idClaims = await validateIdToken(provider, tokens.idToken, roundTrip.nonce);
    }
    const profile = await fetchProfile(provider, tokens, idClaims);
    // Apple's ID token has no name: the form's `user` field is the only place it comes, once.
    if (providerName === "apple") profile.name = appleName(params) ?? profile.name;

    const intent =
      roundTrip.flow === "link"
        ? { flow: "link" as const, userId: roundTrip.linkUserId! }
        : { flow: roundTrip.flow, options: roundTrip.options, method: "provider" as const };
    const { user } = await userForIdentity(context, providerName, profile, intent);
    signedInUser = user.id;
    const providerSession = providerSessionOf(tokens, null, now);
    const keepTokens = saveProviderSessionStatement(db, {
      realm: realm.id,
      userId: user.id,
      provider: providerName,
      tokensEncrypted: await encryptProviderSession(config, providerSession, { realm: realm.id, userId: user.id, provider: providerName }),
      now,
    });
    if (roundTrip.flow === "link") {
      await runBatch(db, [keepTokens]);
      recordAudit(context, { type: "factor-change", outcome: "success", userId: user.id, detail: { factor: "provider", change: "linked", provider: providerName } });
      return c.redirect(appRedirect(roundTrip.redirectTo, { state: roundTrip.appState }), 302);
    }
    const { location, secondFactorDue } = await signInRedirect(context, user, roundTrip, [keepTokens]);
    const detail = { method: "provider", provider: providerName, ...(secondFactorDue ? { secondFactor: "due" } : {}) };
    recordAudit(context, { type: "signin", outcome: "success", userId: user.id, detail });
    return c.redirect(location, 302);
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    logRefusal(c, error);
    // The redirect carries the refusal, so the audit entry is written here rather than by auditSignIn.
    recordAudit(context, {
      type: roundTrip.flow === "link" ? "factor-change" : "signin",
      outcome: "failure",
      userId: signedInUser,
      actor: { type: "anonymous", id: null },
      detail: { method: "provider", provider: providerName, error: error.code },
    });
    return c.redirect(errorRedirect(roundTrip.redirectTo, shownError(error, config.concealErrors)), 302);
  }
}

/** The first-factor outcome (TOTP users get only a ticket), written with `alsoWrite`, as the app's redirect. */
async function signInRedirect(
  context: RequestContext,
  user: UserWithRoles,
  roundTrip: RoundTrip,
  alsoWrite: Statement[],
): Promise<{ location: string; secondFactorDue: boolean }> {
  checkMaySignIn(context.config, user);
  const outcome = await afterFirstFactor(context, user);
  if (outcome.kind === "mfa") {
    await runBatch(context.db, [outcome.statement, ...alsoWrite]);
    return { location: appRedirect(roundTrip.redirectTo, { mfaTicket: outcome.ticket, state: roundTrip.appState }), secondFactorDue: true };
  }
  if (roundTrip.codeChallenge !== null) {
    // PKCE: no session yet; the verifier's holder exchanges the code for one.
    const { code, statement } = await newAuthorizationCode(context, user.id, roundTrip.codeChallenge);
    await runBatch(context.db, [statement, ...alsoWrite]);
    return { location: appRedirect(roundTrip.redirectTo, { code, state: roundTrip.appState }), secondFactorDue: false };
  }
  await runBatch(context.db, [outcome.statement, ...alsoWrite]);
  return { location: appRedirect(roundTrip.redirectTo, { refreshToken: outcome.issued.refreshToken, state: roundTrip.appState }), secondFactorDue: false };
}

export const refreshProviderTokenBody = z.strictObject({ refreshToken: z.string().check(z.minLength(1), z.maxLength(4096)) });

export const providerRoutes = new Hono<AppEnv>()
  .get("/signin/provider/:provider", (c) => startRoundTrip(c, "signin"))
  .get("/signup/provider/:provider", (c) => startRoundTrip(c, "signup"))
  .get("/signin/provider/:provider/callback", (c) => finishRoundTrip(c))
  .post("/signin/provider/:provider/callback", (c) => finishRoundTrip(c))

  // The provider's tokens from the caller's last sign-in with it, handed out once.
  .get("/signin/provider/:provider/callback/tokens", async (c) => {
    const context = c.var.context;
    const claims = await requireAccessToken(context, c.req.raw);
    const provider = c.req.param("provider");
    const owner = { realm: context.realm.id, userId: claims.sub, provider };
    const stored = await takeProviderSession(context.db, context.realm.id, claims.sub, provider);
    const session = stored === null ? null : await decryptProviderSession(context.config, stored, owner);
    if (session === null) throw new AuthError("invalid-request", "no provider session: sign in with the provider first");
    c.header("cache-control", "no-store");
    return c.json(session);
  })

  // A new provider access token for the app's provider refresh token.
  .post("/token/provider/:provider", async (c) => {
    const context = c.var.context;
    const claims = await requireAccessToken(context, c.req.raw);
    const body = await readJsonBody(c.req.raw, refreshProviderTokenBody);
    const user = await findUserById(context.db, context.realm.id, claims.sub);
    if (user === null || user.disabled) throw new AuthError("unauthenticated-user");
    const provider = await enabledProvider(context, c.req.param("provider"));
    const tokens = await refreshProviderTokens(provider, body.refreshToken);
    c.header("cache-control", "no-store");
    return c.json(providerSessionOf(tokens, body.refreshToken, Date.now()));
  });
