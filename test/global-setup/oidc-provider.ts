/**
 * Real social providers on loopback for the social sign-in tests (runs in Node,
 * once per run):
 *
 * - the `oidc-provider` package, a certified OpenID provider, with clients for
 *   the generic `oidc-test` provider, the `google` and `apple` presets (pointed
 *   at it by PROVIDER_<NAME>_ISSUER) and a realm's own app. Logins are decided
 *   by the `login_hint` the test sends (through `upstreamParams`): the
 *   interaction finishes at once as that account, consent is granted.
 * - a GitHub-shaped OAuth 2.0 server: `/login/oauth/authorize`,
 *   `/login/oauth/access_token` (which checks PKCE), `/user`, `/user/emails`.
 *
 * Ports and the provider's signing key (so tests can forge ID tokens it would
 * have signed, with claims of their choosing) reach the tests through `provide`.
 */
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import Provider from "oidc-provider";
import type { TestProject } from "vitest/node";
import { emailOf, GITHUB_CLIENT, OIDC_CLIENTS, SOCIAL_REALM, UNVERIFIED_PREFIX } from "./social-fixtures";

declare module "vitest" {
  export interface ProvidedContext {
    oidcPort: number;
    /** The private signing key of the OpenID provider (test-only, made fresh for each run). */
    oidcSigningKey: JWK;
    githubPort: number;
  }
}

/** The Worker's public URL in the tests (vitest.config.ts PUBLIC_URL). */
const WORKER_URL = "http://localhost";

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

function callbacks(provider: string): string[] {
  return [`${WORKER_URL}/signin/provider/${provider}/callback`];
}

async function startOidcProvider(): Promise<{ server: Server; port: number; signingKey: JWK }> {
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => handler(req, res));
  const port = await listen(server);
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: "test-provider-key", alg: "RS256", use: "sig" };
  const client = (id: string, secret: string, redirectUris: string[], auth = "client_secret_basic") => ({
    client_id: id,
    client_secret: secret,
    redirect_uris: redirectUris,
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: auth,
  });
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      client(OIDC_CLIENTS.generic.id, OIDC_CLIENTS.generic.secret, callbacks("oidc-test")),
      client(OIDC_CLIENTS.google.id, OIDC_CLIENTS.google.secret, callbacks("google")),
      // Apple authenticates clients with the secret in the body.
      client(OIDC_CLIENTS.apple.id, OIDC_CLIENTS.apple.secret, callbacks("apple"), "client_secret_post"),
      client(OIDC_CLIENTS.realm.id, OIDC_CLIENTS.realm.secret, [`${WORKER_URL}/realms/${SOCIAL_REALM}/signin/provider/oidc-test/callback`]),
    ],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomUUID()] },
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "picture"] },
    features: { devInteractions: { enabled: false } },
    // Refresh tokens for every grant, so `/token/provider/{provider}` has one to refresh.
    issueRefreshToken: async () => true,
    async findAccount(_ctx: unknown, id: string) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: emailOf(id), email_verified: !id.startsWith(UNVERIFIED_PREFIX), name: `Test ${id}`, picture: `https://pictures.example.com/${id}.png` };
        },
      };
    },
    // Consent is not what these tests are about: every client gets what it asks.
    async loadExistingGrant(ctx: { oidc: { client: { clientId: string }; session: { accountId: string }; params: { scope?: string } } }) {
      const grant = new provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(ctx.oidc.params.scope ?? "openid");
      await grant.save();
      return grant;
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, RefreshToken: 86_400, Interaction: 600, Session: 600, Grant: 600 },
  });
  const oidc = provider.callback();
  handler = (req, res) => {
    const interaction = /^\/interaction\/([^/?]+)/.exec(req.url ?? "");
    if (interaction === null) return oidc(req, res);
    // The login page: signs in as the account the authorization request hinted at.
    (async () => {
      const details = await provider.interactionDetails(req, res);
      const login = typeof details.params.login_hint === "string" ? details.params.login_hint : "alice";
      await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    })().catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  };
  return { server, port, signingKey };
}

/** GitHub's OAuth app endpoints and the two API calls a sign-in makes, as GitHub answers them. */
async function startGithub(): Promise<{ server: Server; port: number }> {
  const codes = new Map<string, { login: string; challenge: string | null; redirectUri: string }>();
  const tokens = new Map<string, string>();
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method === "GET" && url.pathname === "/login/oauth/authorize") {
      const redirectUri = url.searchParams.get("redirect_uri") ?? "";
      const target = new URL(redirectUri);
      if (url.searchParams.get("client_id") !== GITHUB_CLIENT.id) {
        target.searchParams.set("error", "invalid_client");
      } else {
        const code = randomUUID();
        codes.set(code, { login: url.searchParams.get("login") ?? "octocat", challenge: url.searchParams.get("code_challenge"), redirectUri });
        target.searchParams.set("code", code);
      }
      target.searchParams.set("state", url.searchParams.get("state") ?? "");
      res.writeHead(302, { location: target.toString() });
      return res.end();
    }
    if (req.method === "POST" && url.pathname === "/login/oauth/access_token") {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
      req.on("end", () => {
        const form = new URLSearchParams(body);
        const grant = codes.get(form.get("code") ?? "");
        codes.delete(form.get("code") ?? "");
        const verifier = form.get("code_verifier") ?? "";
        const pkceOk = grant?.challenge == null || createHash("sha256").update(verifier).digest("base64url") === grant.challenge;
        // GitHub answers a bad code with 200 and an `error` field.
        if (form.get("client_id") !== GITHUB_CLIENT.id || form.get("client_secret") !== GITHUB_CLIENT.secret || grant === undefined || !pkceOk || form.get("redirect_uri") !== grant.redirectUri) {
          return json(res, 200, { error: "bad_verification_code", error_description: "The code passed is incorrect or expired." });
        }
        const token = `gho_${randomUUID().replace(/-/g, "")}`;
        tokens.set(token, grant.login);
        json(res, 200, { access_token: token, token_type: "bearer", scope: "read:user,user:email" });
      });
      return;
    }
    const login = tokens.get((req.headers.authorization ?? "").replace(/^Bearer /, ""));
    if (login === undefined || req.headers["user-agent"] === undefined) return json(res, 401, { message: "Bad credentials" });
    const id = Number.parseInt(createHash("sha256").update(login).digest("hex").slice(0, 8), 16);
    if (url.pathname === "/user") return json(res, 200, { id, login, name: null, email: null, avatar_url: `https://avatars.example.com/u/${id}` });
    if (url.pathname === "/user/emails") {
      return json(res, 200, [
        { email: `${login}@users.noreply.example.com`, primary: false, verified: true, visibility: null },
        { email: emailOf(login), primary: true, verified: !login.startsWith(UNVERIFIED_PREFIX), visibility: "private" },
      ]);
    }
    json(res, 404, { message: "Not Found" });
  });
  return { server, port: await listen(server) };
}

export default async function setup(project: TestProject) {
  const [oidc, github] = await Promise.all([startOidcProvider(), startGithub()]);
  project.provide("oidcPort", oidc.port);
  project.provide("oidcSigningKey", oidc.signingKey);
  project.provide("githubPort", github.port);
  return async () => {
    for (const server of [oidc.server, github.server]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  };
}
