/**
 * Social sign-in against real providers on loopback (test/global-setup/oidc-provider.ts):
 * the `oidc-provider` package as a generic `oidc-*` provider and as the `google`
 * and `apple` presets (pointed at it by PROVIDER_<NAME>_ISSUER), and a
 * GitHub-shaped OAuth 2.0 server. Every flow runs through the Worker the way a
 * browser would: redirects followed by hand, cookies carried per host.
 */
import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { emailOf } from "./global-setup/social-fixtures";
import { api } from "./helpers";
import { APP_URL, Browser, providerStart } from "./support/social-browser";

function uniqueLogin(prefix = "user"): string {
  return `${prefix}${crypto.randomUUID().slice(0, 8)}`;
}

/** A finished round trip's session: the refresh token from the app's URL, exchanged at `/token`. */
async function sessionFrom(landed: URL) {
  expect(landed.searchParams.get("error"), landed.searchParams.get("errorDescription") ?? "").toBeNull();
  const refreshToken = landed.searchParams.get("refreshToken");
  expect(refreshToken).toMatch(/^[0-9a-f-]{36}$/);
  const refreshed = await api("/token", { body: { refreshToken } });
  expect(refreshed.status, refreshed.text).toBe(200);
  return refreshed.json as { accessToken: string; refreshToken: string; user: { id: string; email?: string; emailVerified: boolean; displayName: string; avatarUrl: string } };
}

describe("generic OpenID provider (oidc-*)", () => {
  it("signs up a new user, then signs the same identity in again", async () => {
    const login = uniqueLogin("alice");
    const landed = await new Browser().navigate(providerStart("oidc-test", login));
    expect(landed.origin + landed.pathname).toBe(APP_URL);
    const first = await sessionFrom(landed);
    expect(first.user.email).toBe(emailOf(login));
    expect(first.user.emailVerified).toBe(true);
    expect(first.user.displayName).toBe(`Test ${login}`);
    expect(first.user.avatarUrl).toBe(`https://pictures.example.com/${login}.png`);

    const again = await sessionFrom(await new Browser().navigate(providerStart("oidc-test", login)));
    expect(again.user.id).toBe(first.user.id);
  });
});
