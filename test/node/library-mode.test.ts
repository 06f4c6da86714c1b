/**
 * Library mode as an application gets it: `npm pack` of this repository, the
 * tarball unpacked into a fresh application's node_modules/edgeauth outside this
 * repository, its migrations applied with `wrangler d1 migrations apply` against
 * the `migrations_dir` the README names, the application's Worker
 * (test/fixtures/library-app: its own route, edgeauth mounted at /auth) bundled
 * with esbuild as wrangler does and run on workerd (Miniflare) with the bindings
 * of its wrangler.toml, then driven through `@nhost/nhost-js` with `authUrl`
 * ending in `/auth`. Also type-checks the application against the shipped .d.ts.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@nhost/nhost-js";
import { MemoryStorage } from "@nhost/nhost-js/session";
import { decodeJwt, importJWK, jwtVerify, type JWK } from "jose";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { unstable_getMiniflareWorkerOptions } from "wrangler";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleWorker } from "./worker-bundle";

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURE = join(REPO_ROOT, "test/fixtures/library-app");
const TSC = join(REPO_ROOT, "node_modules/typescript/bin/tsc");
const WRANGLER = join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js");
const OFFLINE = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1" };
const BASE = "http://localhost";
const AUTH_URL = `${BASE}/auth`;
const PASSWORD = "correct horse battery staple";
const ADMIN_SECRET = "library-app-admin-secret-0123456789";

interface PackResult {
  filename: string;
  files: { path: string }[];
}

let workDir = "";
let appDir = "";
let packed: PackResult;
let miniflare: Miniflare;

function dispatch(url: string, init?: RequestInit): Promise<Response> {
  return miniflare.dispatchFetch(url, init as never) as unknown as Promise<Response>;
}

function nhostClient(authUrl: string) {
  const nhost = createClient({ authUrl, storage: new MemoryStorage() });
  nhost.auth.pushChainFunction(() => (url, init) => dispatch(String(url), init));
  return nhost;
}

function uniqueEmail(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}@example.com`;
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "edgeauth-library-mode-"));
  // The tarball an application installs: the library built (prepack's work, done
  // here without rebuilding the client under the other test files' feet).
  await run(process.execPath, [join(REPO_ROOT, "scripts/build-library.mjs")], { cwd: REPO_ROOT });
  const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", workDir], { cwd: REPO_ROOT });
  [packed] = JSON.parse(stdout) as [PackResult];

  appDir = join(workDir, "app");
  const installed = join(appDir, "node_modules/edgeauth");
  mkdirSync(installed, { recursive: true });
  await run("tar", ["-xzf", join(workDir, packed.filename), "-C", installed, "--strip-components=1"]);
  // edgeauth's dependencies, and the application's own (hono, the Workers types), as
  // `npm install` would place them: linked from this repository's, offline.
  const { dependencies } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  for (const name of [...Object.keys(dependencies), "@cloudflare/workers-types"]) {
    mkdirSync(join(appDir, "node_modules", name, ".."), { recursive: true });
    symlinkSync(join(REPO_ROOT, "node_modules", name), join(appDir, "node_modules", name));
  }
  for (const file of ["worker.ts", "wrangler.toml"]) copyFileSync(join(FIXTURE, file), join(appDir, file));

  // The README's command, against the application's wrangler.toml.
  await run(process.execPath, [WRANGLER, "d1", "migrations", "apply", "DB", "--local", "--persist-to", ".state"], { cwd: appDir, env: OFFLINE });

  const script = await bundleWorker(appDir, "worker.ts", { nodejsCompat: true });
  // The bindings as wrangler reads them from the application's wrangler.toml.
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(appDir, "wrangler.toml"));
  const d1Databases = Object.fromEntries(
    Object.entries(workerOptions.d1Databases as Record<string, { id: string }>).map(([binding, { id }]) => [binding, id]),
  );
  miniflare = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script,
      compatibilityDate: workerOptions.compatibilityDate as string,
      compatibilityFlags: workerOptions.compatibilityFlags as string[],
      d1Databases,
      // Where `wrangler d1 migrations apply --persist-to .state` wrote the database.
      resourcePersistencePath: join(appDir, ".state/v3"),
      durableObjects: workerOptions.durableObjects as Record<string, { className: string; useSQLite: boolean }>,
      // The application's [vars], and edgeauth's secrets as `wrangler secret put` (or .dev.vars) gives them.
      bindings: {
        ...(workerOptions.bindings as Record<string, string>),
        REFRESH_TOKEN_SECRET: "library-app-refresh-token-secret-0123456789",
        ADMIN_SECRET,
      },
    }),
  );
}, 300_000);

afterAll(async () => {
  await miniflare?.dispose();
  if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
});

describe("edgeauth inside an existing Worker, mounted at /auth", () => {
  it("the package holds the bundle, its declarations, the migrations, README and LICENSE: no sources, no tests", () => {
    const paths = packed.files.map((file) => file.path);
    expect(paths).toContain("dist/library/edgeauth.js");
    expect(paths).toContain("dist/library/types/src/server/library.d.ts");
    const migrations = readdirSync(join(REPO_ROOT, "migrations")).filter((name) => name.endsWith(".sql"));
    expect(migrations.length).toBeGreaterThan(10);
    expect(paths).toEqual(expect.arrayContaining(migrations.map((name) => `migrations/${name}`)));
    expect(paths).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json"]));
    // drizzle-kit's snapshots (migrations/meta) are for generating migrations here, not applying them.
    const stray = paths.filter((path) => !/^(dist\/library\/|migrations\/\d{4}_[a-z0-9_]+\.sql$|LICENSE$|README\.md$|package\.json$)/.test(path));
    expect(stray).toEqual([]);
    console.log(`edgeauth tarball: ${packed.filename}, ${paths.length} files`);
  });

  it("the application's own route still answers, with its own ENVIRONMENT", async () => {
    const response = await dispatch(`${BASE}/`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ app: "library-app", environment: "staging" });
  });

  it("@nhost/nhost-js with authUrl ending in /auth: sign-up, sign-in, GET /user; tokens name the mount in iss and verify against /auth's JWKS", async () => {
    const nhost = nhostClient(AUTH_URL);
    const email = uniqueEmail("library");
    const signedUp = await nhost.auth.signUpEmailPassword({ email, password: PASSWORD });
    expect(signedUp.body.session?.user?.email).toBe(email);
    const signedIn = await nhost.auth.signInEmailPassword({ email, password: PASSWORD });
    const accessToken = signedIn.body.session!.accessToken;
    const user = await nhost.auth.getUser();
    expect(user.body.email).toBe(email);

    const claims = decodeJwt(accessToken);
    expect(claims.iss).toBe(AUTH_URL);
    // The option computed from the bindings took effect.
    expect(claims.exp! - claims.iat!).toBe(600);
    const jwks = (await (await dispatch(`${AUTH_URL}/.well-known/jwks.json`)).json()) as { keys: (JWK & { kid: string })[] };
    const { kid } = JSON.parse(Buffer.from(accessToken.split(".")[0]!, "base64url").toString()) as { kid: string };
    const key = await importJWK(jwks.keys.find((candidate) => candidate.kid === kid)!, "ES256");
    await expect(jwtVerify(accessToken, key, { issuer: AUTH_URL })).resolves.toBeDefined();
  }, 60_000);

  it("links in mails point under the mount, and following one redirects to the app with a session", async () => {
    const email = uniqueEmail("library-link");
    const nhost = nhostClient(AUTH_URL);
    await nhost.auth.signUpEmailPassword({ email, password: PASSWORD });
    const reset = await dispatch(`${AUTH_URL}/user/password/reset`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email }),
    });
    expect(reset.status).toBe(200);
    // Concealed requests do their work 50 ms after answering; the outbox is read until the mail is in.
    let link: string | undefined;
    for (let attempt = 0; attempt < 50 && link === undefined; attempt++) {
      const outbox = (await (await dispatch(`${AUTH_URL}/_dev/outbox`)).json()) as { mails: { to: string; links: string[] }[] };
      link = outbox.mails.find((mail) => mail.to === email)?.links[0];
      if (link === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(link).toMatch(/^http:\/\/localhost\/auth\/verify\?/);
    const followed = await dispatch(link!, { redirect: "manual" });
    expect(followed.status).toBe(302);
    const target = new URL(followed.headers.get("location")!);
    expect(target.origin).toBe("http://localhost:3000");
    expect(target.searchParams.get("type")).toBe("passwordReset");
    expect(target.searchParams.get("refreshToken")).toMatch(/^[0-9a-f-]{36}$/);
  }, 60_000);

  it("realms live under the mount too: created through /auth/admin, served at /auth/realms/{realm}", async () => {
    const realm = `lib-${crypto.randomUUID().slice(0, 8)}`;
    const created = await dispatch(`${AUTH_URL}/admin/realms`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-admin-secret": ADMIN_SECRET },
      body: JSON.stringify({ id: realm }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const nhost = nhostClient(`${AUTH_URL}/realms/${realm}`);
    const signedUp = await nhost.auth.signUpEmailPassword({ email: uniqueEmail("library-realm"), password: PASSWORD });
    expect(decodeJwt(signedUp.body.session!.accessToken).iss).toBe(`${AUTH_URL}/realms/${realm}`);
    const document = (await (await dispatch(`${AUTH_URL}/realms/${realm}/openapi.json`)).json()) as { servers: { url: string }[] };
    expect(document.servers).toEqual([{ url: `${AUTH_URL}/realms/${realm}` }]);
  }, 60_000);

  it("errors under the mount keep their surface's shape; an unknown path is edgeauth's 404", async () => {
    const admin = await dispatch(`${AUTH_URL}/admin/realms`);
    expect(admin.status).toBe(401);
    expect(Object.keys((await admin.json()) as object)).toEqual(["error"]);
    const missing = await dispatch(`${AUTH_URL}/no-such-route`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ status: 404, error: "not-found" });
  });

  it("type-checks the application against the shipped .d.ts", async () => {
    const tsconfig = {
      compilerOptions: {
        target: "ES2022",
        module: "ESNext",
        moduleResolution: "Bundler",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ["@cloudflare/workers-types"],
      },
      files: ["worker.ts"],
    };
    writeFileSync(join(appDir, "tsconfig.json"), JSON.stringify(tsconfig));
    const check = run(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: appDir });
    await expect(check.then(({ stdout }) => stdout)).resolves.toBe("");
  }, 120_000);
});
