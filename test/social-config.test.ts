/**
 * Social sign-in settings (README, "Social sign-in"): PROVIDER_<NAME>_* per
 * provider and OIDC_PROVIDERS, parsed once with errors that name the setting, and
 * all of them realm settings, so a realm can bring its own provider apps.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, isRealmSettingName, parseConfig, validateRealmSettings } from "../src/server/config";
import { authorizationUrl, resolveProvider } from "../src/server/services/oauth/engine";
import { PRESET_NAMES, PROVIDER_PRESETS } from "../src/server/services/oauth/presets";

const BASE = { REFRESH_TOKEN_SECRET: "x".repeat(32), PUBLIC_URL: "https://auth.example.com" };

function providersOf(settings: Record<string, string>) {
  return parseConfig({ ...BASE, ...settings }).providers;
}

function refusal(settings: Record<string, string>): string {
  try {
    parseConfig({ ...BASE, ...settings });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("provider settings", () => {
  it("enables nothing by default, and only what PROVIDER_<NAME>_ENABLED turns on", () => {
    expect(providersOf({})).toEqual({});
    const providers = providersOf({
      PROVIDER_GITHUB_ENABLED: "true",
      PROVIDER_GITHUB_CLIENT_ID: "gh-id",
      PROVIDER_GITHUB_CLIENT_SECRET: "gh-secret",
      PROVIDER_GOOGLE_CLIENT_ID: "not-enabled",
    });
    expect(Object.keys(providers)).toEqual(["github"]);
    expect(providers.github).toEqual({
      name: "github",
      clientId: "gh-id",
      clientSecret: "gh-secret",
      scopes: null,
      issuer: null,
      authorizationUrl: null,
      tokenUrl: null,
      userinfoUrl: null,
      audiences: ["gh-id"],
    });
  });

  it("reads scopes, endpoint overrides and extra ID-token audiences", () => {
    const { google } = providersOf({
      PROVIDER_GOOGLE_ENABLED: "true",
      PROVIDER_GOOGLE_CLIENT_ID: "web",
      PROVIDER_GOOGLE_SCOPES: "openid email",
      PROVIDER_GOOGLE_AUDIENCES: "ios,android",
      PROVIDER_GOOGLE_TOKEN_URL: "https://staging.example.com/token",
    });
    expect(google).toMatchObject({ scopes: ["openid", "email"], audiences: ["web", "ios", "android"], tokenUrl: "https://staging.example.com/token" });
  });

  it("names the setting that is wrong", () => {
    expect(refusal({ PROVIDER_GITHUB_ENABLED: "true" })).toMatch(/PROVIDER_GITHUB_CLIENT_ID: is required/);
    expect(refusal({ PROVIDER_GITHUB_ENABLED: "yes" })).toMatch(/PROVIDER_GITHUB_ENABLED/);
    expect(refusal({ OIDC_PROVIDERS: "okta" })).toMatch(/OIDC_PROVIDERS: "okta" must be "oidc-"/);
    expect(refusal({ OIDC_PROVIDERS: "oidc-okta", PROVIDER_OIDC_OKTA_ENABLED: "true", PROVIDER_OIDC_OKTA_CLIENT_ID: "c" })).toMatch(/PROVIDER_OIDC_OKTA_ISSUER: is required/);
    expect(refusal({ PROVIDER_GITHUB_ENABLED: "true", PROVIDER_GITHUB_CLIENT_ID: "c", PROVIDER_GITHUB_TOKEN_URL: "not a url" })).toMatch(/PROVIDER_GITHUB_TOKEN_URL: must be an absolute URL/);
  });

  it("wants https endpoints; plain http only to a loopback host", () => {
    const github = { PROVIDER_GITHUB_ENABLED: "true", PROVIDER_GITHUB_CLIENT_ID: "c" };
    expect(refusal({ ...github, PROVIDER_GITHUB_TOKEN_URL: "http://github.example.com/token" })).toMatch(/PROVIDER_GITHUB_TOKEN_URL: must be an https URL/);
    expect(refusal({ ...github, PROVIDER_GITHUB_TOKEN_URL: "http://10.0.0.1/token" })).toMatch(/must be an https URL/);
    expect(providersOf({ ...github, PROVIDER_GITHUB_TOKEN_URL: "http://127.0.0.1:9000/token" }).github!.tokenUrl).toBe("http://127.0.0.1:9000/token");
  });

  it("configures oidc-* providers by issuer", () => {
    const providers = providersOf({
      OIDC_PROVIDERS: "oidc-okta, oidc-keycloak",
      PROVIDER_OIDC_OKTA_ENABLED: "true",
      PROVIDER_OIDC_OKTA_CLIENT_ID: "okta-client",
      PROVIDER_OIDC_OKTA_ISSUER: "https://example.okta.com",
    });
    expect(Object.keys(providers)).toEqual(["oidc-okta"]);
    expect(providers["oidc-okta"]!.issuer).toBe("https://example.okta.com");
  });

  it("are realm settings: a realm may override them, and the parser checks its values", () => {
    expect(isRealmSettingName("PROVIDER_GOOGLE_CLIENT_ID")).toBe(true);
    expect(isRealmSettingName("PROVIDER_OIDC_OKTA_ISSUER")).toBe(true);
    expect(isRealmSettingName("OIDC_PROVIDERS")).toBe(true);
    expect(isRealmSettingName("PROVIDER_GOOGLE_SOMETHING")).toBe(false);
    expect(validateRealmSettings(BASE, { PROVIDER_GITHUB_ENABLED: "true", PROVIDER_GITHUB_CLIENT_ID: "realm-app" })).toEqual({ ok: true });
    const refused = validateRealmSettings(BASE, { PROVIDER_GITHUB_ENABLED: "true" });
    expect(refused.ok).toBe(false);
  });
});

describe("the presets table", () => {
  it("has the spec's 16 providers, each with https endpoints", () => {
    expect([...PRESET_NAMES].sort()).toEqual(
      ["apple", "azuread", "bitbucket", "discord", "entraid", "facebook", "github", "gitlab", "google", "linkedin", "spotify", "strava", "twitch", "twitter", "windowslive", "workos"].sort(),
    );
    for (const name of PRESET_NAMES) {
      const preset = PROVIDER_PRESETS[name];
      for (const url of [preset.authorizationUrl, preset.tokenUrl, preset.userinfoUrl]) if (url !== null) expect(new URL(url).protocol, name).toBe("https:");
    }
  });

  it("reads each provider's profile shape, and never calls an address verified unless the provider says so", () => {
    const none = { emails: null, idToken: null, tokenResponse: {} };
    expect(PROVIDER_PRESETS.discord.profile({ ...none, user: { id: "1", email: "d@example.com", verified: true, username: "dd", avatar: "abc" } })).toEqual({
      id: "1",
      email: "d@example.com",
      emailVerified: true,
      name: "dd",
      picture: "https://cdn.discordapp.com/avatars/1/abc.png",
    });
    expect(PROVIDER_PRESETS.facebook.profile({ ...none, user: { id: "2", email: "f@example.com", name: "F" } })).toMatchObject({ emailVerified: false });
    expect(PROVIDER_PRESETS.twitch.profile({ ...none, user: { data: [{ id: "3", email: "t@example.com", display_name: "T" }] } })).toMatchObject({ id: "3", name: "T" });
    expect(PROVIDER_PRESETS.workos.profile({ ...none, user: null, tokenResponse: { profile: { id: "w", email: "w@example.com", first_name: "A", last_name: "B" } } })).toMatchObject({ id: "w", name: "A B" });
    expect(
      PROVIDER_PRESETS.bitbucket.profile({ ...none, user: { uuid: "{u}", display_name: "BB" }, emails: { values: [{ email: "b@example.com", is_primary: true, is_confirmed: true }] } }),
    ).toMatchObject({ id: "{u}", email: "b@example.com", emailVerified: true });
    expect(PROVIDER_PRESETS.apple.profile({ ...none, user: null, idToken: { sub: "a", email: "a@example.com", email_verified: "true" } })).toMatchObject({ emailVerified: true });
    expect(PROVIDER_PRESETS.azuread.profile({ ...none, user: { sub: "z", email: "z@example.com", email_verified: true } })).toMatchObject({ emailVerified: false });
    // No id, no profile: the flow fails with oauth-profile-fetch-failed.
    expect(PROVIDER_PRESETS.github.profile({ ...none, user: { login: "x" } })).toBeNull();
  });
});

describe("resolving a preset", () => {
  it("uses the preset's endpoints and issuer unless settings override them; Google's bare issuer only for Google itself", async () => {
    const google = await resolveProvider(providersOf({ PROVIDER_GOOGLE_ENABLED: "true", PROVIDER_GOOGLE_CLIENT_ID: "web" }), "google");
    expect(google).toMatchObject({
      issuer: "https://accounts.google.com",
      issuerAliases: ["accounts.google.com"],
      jwksUrl: "https://www.googleapis.com/oauth2/v3/certs",
      tokenUrl: "https://oauth2.googleapis.com/token",
      scopes: ["openid", "email", "profile"],
    });
    expect(await resolveProvider(providersOf({}), "google")).toBeNull();

    const github = await resolveProvider(
      providersOf({ PROVIDER_GITHUB_ENABLED: "true", PROVIDER_GITHUB_CLIENT_ID: "gh", PROVIDER_GITHUB_AUTHORIZATION_URL: "https://ghe.example.com/login/oauth/authorize" }),
      "github",
    );
    const url = new URL(authorizationUrl(github!, { redirectUri: "https://auth.example.com/cb", state: "s", codeChallenge: "c", nonce: null, extra: { login: "octo" } }));
    expect(url.origin + url.pathname).toBe("https://ghe.example.com/login/oauth/authorize");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      login: "octo",
      response_type: "code",
      client_id: "gh",
      redirect_uri: "https://auth.example.com/cb",
      state: "s",
      code_challenge: "c",
      code_challenge_method: "S256",
      scope: "read:user user:email",
    });
    expect(github!.issuer).toBeNull();
  });
});
