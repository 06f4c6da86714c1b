import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { GITHUB_CLIENT, GOOGLE_MOBILE_CLIENT_ID, OIDC_CLIENTS } from "./test/global-setup/social-fixtures.ts";

/** Secrets for the test Worker only; production ones come from `wrangler secret put`. */
export const TEST_SECRETS = {
  REFRESH_TOKEN_SECRET: "test-refresh-token-secret-0123456789abcdef",
  ADMIN_SECRET: "test-admin-secret-0123456789",
};

/**
 * The providers the tests enable: a generic OpenID provider, the google and apple
 * presets pointed at the same loopback OpenID provider by issuer, and the github
 * preset pointed at a GitHub-shaped server by its endpoint settings.
 */
function socialProviderBindings(oidcPort: number, githubPort: number): Record<string, string> {
  const issuer = `http://127.0.0.1:${oidcPort}`;
  const github = `http://127.0.0.1:${githubPort}`;
  return {
    OIDC_PROVIDERS: "oidc-test",
    PROVIDER_OIDC_TEST_ENABLED: "true",
    PROVIDER_OIDC_TEST_CLIENT_ID: OIDC_CLIENTS.generic.id,
    PROVIDER_OIDC_TEST_CLIENT_SECRET: OIDC_CLIENTS.generic.secret,
    PROVIDER_OIDC_TEST_ISSUER: issuer,
    PROVIDER_GOOGLE_ENABLED: "true",
    PROVIDER_GOOGLE_CLIENT_ID: OIDC_CLIENTS.google.id,
    PROVIDER_GOOGLE_CLIENT_SECRET: OIDC_CLIENTS.google.secret,
    PROVIDER_GOOGLE_ISSUER: issuer,
    PROVIDER_GOOGLE_AUDIENCES: GOOGLE_MOBILE_CLIENT_ID,
    PROVIDER_APPLE_ENABLED: "true",
    PROVIDER_APPLE_CLIENT_ID: OIDC_CLIENTS.apple.id,
    PROVIDER_APPLE_CLIENT_SECRET: OIDC_CLIENTS.apple.secret,
    PROVIDER_APPLE_ISSUER: issuer,
    // Apple's own scopes are "name email"; an OpenID provider issues ID tokens for "openid".
    PROVIDER_APPLE_SCOPES: "openid email",
    PROVIDER_GITHUB_ENABLED: "true",
    PROVIDER_GITHUB_CLIENT_ID: GITHUB_CLIENT.id,
    PROVIDER_GITHUB_CLIENT_SECRET: GITHUB_CLIENT.secret,
    PROVIDER_GITHUB_AUTHORIZATION_URL: `${github}/login/oauth/authorize`,
    PROVIDER_GITHUB_TOKEN_URL: `${github}/login/oauth/access_token`,
    PROVIDER_GITHUB_USERINFO_URL: `${github}/user`,
  };
}

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  return {
    test: {
      projects: [
        {
          // Everything that runs inside workerd against real local D1 and Durable Objects.
          plugins: [
            // A function so it can read what test/global-setup/smtp-server.ts provides.
            cloudflareTest(({ inject }) => ({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                // The mail transport tests: loopback servers, a socket route that trusts
                // their self-signed certificate, and a local `send_email` binding.
                serviceBindings: {
                  SMTP_TLS_NETWORK: { network: { allow: ["private"], tlsOptions: { trustedCertificates: [inject("smtpCaCertificate")] } } },
                },
                email: { send_email: [{ name: "SEND_EMAIL" }] },
                // A second database, for the realm that keeps its rows apart (DATABASE = "DB_2").
                d1Databases: { DB: "edgeauth", DB_2: "edgeauth-second" },
                bindings: {
                  SMTP_TEST_PORTS: inject("smtpPorts"),
                  MAIL_TEST_HTTP_PORT: inject("mailHttpPort"),
                  ...TEST_SECRETS,
                  // wrangler.toml ships production settings; the tests read the dev outbox.
                  ENVIRONMENT: "development",
                  PUBLIC_URL: "http://localhost",
                  CLIENT_URL: "https://app.example.com",
                  ALLOWED_REDIRECT_URLS: "https://app.example.com/auth,http://localhost:3000",
                  ALLOWED_ROLES: "user,me,editor",
                  ALLOWED_LOCALES: "en,fr",
                  ANONYMOUS_USERS_ENABLED: "true",
                  // Off by default, as Nhost's; the tests drive every method.
                  EMAIL_PASSWORDLESS_ENABLED: "true",
                  OTP_EMAIL_ENABLED: "true",
                  SMS_PASSWORDLESS_ENABLED: "true",
                  WEBAUTHN_ENABLED: "true",
                  WEBAUTHN_RP_ID: "example.com",
                  WEBAUTHN_RP_ORIGINS: "https://app.example.com",
                  TEST_MIGRATIONS: migrations,
                  // Social sign-in against the loopback providers of test/global-setup/oidc-provider.ts.
                  ...socialProviderBindings(inject("oidcPort"), inject("githubPort")),
                },
              },
            })),
          ],
          test: {
            name: "workers",
            // Some tests send dozens of requests in parallel (the rate limits'):
            // on a loaded 2-core machine they can take longer than vitest's 5 s.
            testTimeout: 30_000,
            include: ["test/**/*.test.ts"],
            exclude: ["test/node/**"],
            setupFiles: ["./test/apply-migrations.ts"],
            globalSetup: ["./test/global-setup/smtp-server.ts", "./test/global-setup/oidc-provider.ts"],
          },
        },
        {
          // The client library under plain Node, as a backend service would run it.
          test: {
            name: "node",
            environment: "node",
            include: ["test/node/**/*.test.ts"],
          },
        },
      ],
    },
  };
});
