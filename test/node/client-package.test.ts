/**
 * `@edgeauth/client` as a consumer gets it: `npm pack` of packages/client, the
 * tarball installed into a fresh project outside this repository, and there
 * (a) imported from plain Node by a small HTTP backend, (b) type-checked with tsc
 * against the shipped .d.ts files, (c) bundled with esbuild into a Worker that runs
 * on workerd (Miniflare). Tokens are signed the way the service signs them: keys
 * from the service's own `generateSigningKey` (kid = RFC 7638 thumbprint), `iss`,
 * `sid`, `jti` and the Hasura claims; the JWKS is served on loopback.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SignJWT, base64url, importJWK } from "jose";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSigningKey, type GeneratedSigningKey } from "../../src/server/keys/jwk";
import { bundleWorker } from "./worker-bundle";

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TSC = join(REPO_ROOT, "node_modules/typescript/bin/tsc");
/** The service's default access-token lifetime (design §3). */
const ACCESS_TOKEN_TTL_SECONDS = 900;
const INSTALLED_SIZE_LIMIT_KIB = 1024;

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

/** What the consumers below answer for a request: the verify result and their JWKS fetch count. */
type ConsumerAnswer = ({ ok: true; claims: Record<string, unknown> } | { ok: false; code: string }) & { jwksFetches: number };
type Consumer = (token: string) => Promise<ConsumerAnswer>;

/** An edgeauth issuer in miniature: a key ring, a JWKS on loopback, and signing as the service does. */
async function startIssuer() {
  let current: GeneratedSigningKey = await generateSigningKey();
  let published = [current];
  const issuer = {
    url: "",
    jwksRequests: 0,
    /** A new key becomes current; the old one stays published, as a retired key does. */
    async rotate() {
      current = await generateSigningKey();
      published = [current, ...published];
    },
    /** An access token with the claims `issueAccessToken` puts in (src/server/tokens/access-token.ts). */
    async sign(userId: string) {
      const issuedAt = Math.floor(Date.now() / 1000);
      return new SignJWT({
        jti: crypto.randomUUID(),
        sid: crypto.randomUUID(),
        "https://hasura.io/jwt/claims": {
          "x-hasura-user-id": userId,
          "x-hasura-default-role": "user",
          "x-hasura-allowed-roles": ["user", "me"],
          "x-hasura-user-is-anonymous": "false",
        },
      })
        .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: current.kid })
        .setSubject(userId)
        .setIssuer(issuer.url)
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ACCESS_TOKEN_TTL_SECONDS)
        .sign(await importJWK(current.privateJwk, "ES256"));
    },
    server: createServer((request, response) => {
      if (request.url !== "/.well-known/jwks.json") {
        response.writeHead(404).end();
        return;
      }
      issuer.jwksRequests++;
      response.writeHead(200, { "content-type": "application/json", "cache-control": "public, max-age=300" });
      response.end(JSON.stringify({ keys: published.map((key) => key.publicJwk) }));
    }),
  };
  await new Promise<void>((resolve) => issuer.server.listen(0, "127.0.0.1", resolve));
  issuer.url = `http://127.0.0.1:${(issuer.server.address() as AddressInfo).port}`;
  return issuer;
}

type Issuer = Awaited<ReturnType<typeof startIssuer>>;

/** The same token with another `sub` in its payload and the original signature. */
function tampered(token: string): string {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
  return [header, base64url.encode(JSON.stringify({ ...claims, sub: "someone-else" })), signature].join(".");
}

/**
 * What a backend must see from a running issuer: a valid token accepted (the cold
 * start costs one JWKS fetch), a token from a key rotated in afterwards accepted
 * after exactly one refetch, and a tampered token refused without any fetch.
 */
async function expectVerifiesLikeTheService(consumer: Consumer, issuer: Issuer) {
  const valid = await issuer.sign("user-1");
  expect(await consumer(valid)).toMatchObject({
    ok: true,
    jwksFetches: 1,
    claims: { sub: "user-1", iss: issuer.url, "https://hasura.io/jwt/claims": { "x-hasura-user-id": "user-1" } },
  });
  expect(await consumer(await issuer.sign("user-2"))).toMatchObject({ ok: true, jwksFetches: 1, claims: { sub: "user-2" } });
  expect(issuer.jwksRequests).toBe(1);

  await issuer.rotate();
  const fromNewKey = await issuer.sign("user-3");
  expect(await consumer(fromNewKey)).toMatchObject({ ok: true, jwksFetches: 2, claims: { sub: "user-3" } });
  expect(await consumer(fromNewKey)).toMatchObject({ ok: true, jwksFetches: 2 });
  // The retired key is still published, so its tokens still pass.
  expect(await consumer(valid)).toMatchObject({ ok: true, jwksFetches: 2 });
  expect(issuer.jwksRequests).toBe(2);

  expect(await consumer(tampered(fromNewKey))).toEqual({ ok: false, code: "invalid-signature", jwksFetches: 2 });
  expect(await consumer("not-a-token")).toEqual({ ok: false, code: "malformed", jwksFetches: 2 });
  expect(issuer.jwksRequests).toBe(2);
}

/**
 * The consumer project's files. Both backends pass `cooldownSeconds: 0` so that the
 * rotation needs no 30 s wait; the cooldown itself is pinned by verifier.test.ts
 * with an injected clock.
 */
const CONSUMER_FILES = {
  "package.json": JSON.stringify({ name: "edgeauth-consumer", version: "1.0.0", private: true, type: "module" }),
  "node-backend.mjs": `
import { createServer } from "node:http";
import { bearerToken, createVerifier } from "@edgeauth/client";

const verifier = createVerifier({ issuer: process.env.EDGEAUTH_ISSUER, cooldownSeconds: 0 });
const server = createServer(async (request, response) => {
  const token = bearerToken(request.headers.authorization);
  const result = token === null ? { ok: false, code: "missing-token" } : await verifier.verify(token);
  response.setHeader("content-type", "application/json");
  response.end(JSON.stringify({ ...result, jwksFetches: verifier.stats().jwksFetches }));
});
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: server.address().port })));
`,
  "worker.mjs": `
import { bearerToken, createVerifier } from "@edgeauth/client";

let verifier;
export default {
  async fetch(request, env) {
    verifier ??= createVerifier({ issuer: env.EDGEAUTH_ISSUER, cooldownSeconds: 0 });
    const token = bearerToken(request.headers.get("authorization"));
    const result = token === null ? { ok: false, code: "missing-token" } : await verifier.verify(token);
    return Response.json({ ...result, jwksFetches: verifier.stats().jwksFetches });
  },
};
`,
  // Fails to compile if the declarations lose a type: the exhaustive switch needs the
  // closed union of codes, and each @ts-expect-error needs a real error under it.
  "consumer.ts": `
import {
  HASURA_CLAIMS_NAMESPACE,
  bearerToken,
  createVerifier,
  type AccessTokenClaims,
  type JsonWebKeySet,
  type Verifier,
  type VerifyErrorCode,
  type VerifyResult,
} from "@edgeauth/client";

const verifier: Verifier = createVerifier({ issuer: "https://auth.example.com", audience: "api", cooldownSeconds: 10 });

export async function userOf(header: string | undefined): Promise<{ id: string; roles: string[] } | VerifyErrorCode | null> {
  const token: string | null = bearerToken(header);
  if (token === null) return null;
  const result: VerifyResult = await verifier.verify(token);
  if (!result.ok) return result.code;
  const claims: AccessTokenClaims = result.claims;
  return { id: claims.sub, roles: claims[HASURA_CLAIMS_NAMESPACE]["x-hasura-allowed-roles"] };
}

export function statusFor(code: VerifyErrorCode): 401 | 503 {
  switch (code) {
    case "malformed":
    case "unsupported-algorithm":
    case "unsupported-header":
    case "invalid-type":
    case "unknown-key":
    case "invalid-signature":
    case "expired":
    case "not-yet-valid":
    case "invalid-issuer":
    case "invalid-audience":
    case "invalid-claims":
      return 401;
    case "jwks-unavailable":
      return 503;
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

export const kids = (jwks: JsonWebKeySet): string[] => jwks.keys.map((key) => key.kid);
export const stats: { jwksFetches: number; cachedKeys: number } = verifier.stats();

// @ts-expect-error: the issuer is required
createVerifier({});
// @ts-expect-error: not one of the codes
export const unknownCode: VerifyErrorCode = "no-such-code";
`,
  // A Node backend: node16 resolution follows the export map and the .js specifiers
  // inside the .d.ts files; skipLibCheck off, so the shipped declarations are checked too.
  "tsconfig.node16.json": JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: "es2022",
      module: "node16",
      moduleResolution: "node16",
      lib: ["es2022"],
      types: ["node"],
      typeRoots: [join(REPO_ROOT, "node_modules/@types")],
    },
    files: ["consumer.ts"],
  }),
  // A bundled app (Workers, browsers, Vite): bundler resolution, DOM types, no Node types.
  "tsconfig.bundler.json": JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: "es2022",
      module: "esnext",
      moduleResolution: "bundler",
      lib: ["es2022", "dom"],
      types: [],
    },
    files: ["consumer.ts"],
  }),
};

/** Runs the Node backend and resolves to a consumer that sends it bearer tokens. */
async function startNodeBackend(project: string, issuer: Issuer): Promise<{ child: ChildProcess; consumer: Consumer }> {
  const child = spawn(process.execPath, ["node-backend.mjs"], {
    cwd: project,
    env: { ...process.env, EDGEAUTH_ISSUER: issuer.url },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`node-backend.mjs exited with ${code}`)));
    createInterface({ input: child.stdout! }).once("line", resolve);
  });
  const { port } = JSON.parse(firstLine) as { port: number };
  const consumer: Consumer = async (token) => {
    const response = await fetch(`http://127.0.0.1:${port}/`, { headers: { authorization: `Bearer ${token}` } });
    return (await response.json()) as ConsumerAnswer;
  };
  return { child, consumer };
}

describe("@edgeauth/client installed from its tarball into a fresh project", () => {
  let workDir = "";
  let project = "";
  let packed: PackResult;
  const issuers: Issuer[] = [];
  let nodeBackend: ChildProcess | undefined;
  let miniflare: Miniflare | undefined;

  beforeAll(async () => {
    // Under the system's temporary directory, so that nothing resolves from this
    // repository's node_modules.
    workDir = mkdtempSync(join(tmpdir(), "edgeauth-client-package-"));
    // `npm test` has just built dist/; packing without lifecycle scripts keeps the
    // prepack build from rewriting it under the other test files' feet.
    const { stdout } = await run(
      "npm",
      ["pack", "--workspace", "packages/client", "--json", "--ignore-scripts", "--pack-destination", workDir],
      { cwd: REPO_ROOT },
    );
    [packed] = JSON.parse(stdout) as [PackResult];
    project = join(workDir, "consumer");
    mkdirSync(project);
    for (const [name, text] of Object.entries(CONSUMER_FILES)) writeFileSync(join(project, name), text);
    await run("npm", ["install", join(workDir, packed.filename), "--no-audit", "--no-fund"], { cwd: project });
  }, 120_000);

  afterAll(async () => {
    nodeBackend?.kill();
    await miniflare?.dispose();
    await Promise.all(issuers.map((issuer) => new Promise((resolve) => issuer.server.close(resolve))));
    if (workDir !== "") rmSync(workDir, { recursive: true, force: true });
  });

  it("the tarball holds the built modules, their declarations, the README, the LICENSE and package.json, nothing else", () => {
    const paths = packed.files.map((file) => file.path).sort();
    console.log(
      `@edgeauth/client tarball: ${packed.filename}, ${packed.size} bytes packed, ${packed.unpackedSize} bytes unpacked, ${paths.length} files`,
    );
    const modules = ["bearer-token", "capped-body", "claims", "hono", "index", "jwks", "verifier"];
    expect(paths).toEqual(["LICENSE", "README.md", "package.json", ...modules.flatMap((name) => [`dist/${name}.d.ts`, `dist/${name}.js`])].sort());
  });

  it(`installs with jose as its only dependency, in under ${INSTALLED_SIZE_LIMIT_KIB} KiB`, async () => {
    const installed = readdirSync(join(project, "node_modules"), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && entry.name === "package.json")
      .map((entry) => join(entry.parentPath, entry.name));
    const packageRoots = installed
      .map((path) => path.slice(join(project, "node_modules").length + 1, -"/package.json".length))
      // Nested package.json files inside a package (jose marks its dist folders) are not packages.
      .filter((root) => /^(@[^/]+\/)?[^/@]+$/.test(root));
    expect(packageRoots.sort()).toEqual(["@edgeauth/client", "jose"]);

    const { stdout: diskUsage } = await run("du", ["-sk", "node_modules"], { cwd: project });
    const { stdout: apparent } = await run("du", ["-sk", "--apparent-size", "node_modules"], { cwd: project });
    const installedKib = Number.parseInt(diskUsage, 10);
    console.log(
      `@edgeauth/client installed: node_modules ${installedKib} KiB on disk (du -sk), ${Number.parseInt(apparent, 10)} KiB apparent, jose included`,
    );
    expect(installedKib).toBeLessThan(INSTALLED_SIZE_LIMIT_KIB);
  });

  it("from plain Node: a valid token passes, a rotated-in key after one refetch, a tampered token is refused", async () => {
    const issuer = await startIssuer();
    issuers.push(issuer);
    const backend = await startNodeBackend(project, issuer);
    nodeBackend = backend.child;
    await expectVerifiesLikeTheService(backend.consumer, issuer);
  }, 30_000);

  it("in a Worker on workerd, bundled with esbuild: the same three cases", async () => {
    const issuer = await startIssuer();
    issuers.push(issuer);
    // As wrangler bundles a Worker: the workerd/worker/browser export conditions.
    const script = await bundleWorker(project, "worker.mjs");
    // Miniflare 5 takes a new options shape; the converter accepts the long-documented one.
    miniflare = new Miniflare(
      convertV4MiniflareOptions({
        modules: true,
        script,
        // No nodejs_compat flag: the verifier needs only fetch and WebCrypto.
        compatibilityDate: "2026-11-01",
        bindings: { EDGEAUTH_ISSUER: issuer.url },
      }),
    );
    const worker = miniflare;
    await expectVerifiesLikeTheService(async (token) => {
      const response = await worker.dispatchFetch("http://backend.example/", { headers: { authorization: `Bearer ${token}` } });
      return (await response.json()) as ConsumerAnswer;
    }, issuer);
  }, 30_000);

  it.each(["node16", "bundler"])("type-checks a consumer's TypeScript against the shipped .d.ts (moduleResolution %s)", async (resolution) => {
    const check = run(process.execPath, [TSC, "-p", `tsconfig.${resolution}.json`], { cwd: project });
    await expect(check.then(({ stdout }) => stdout)).resolves.toBe("");
  }, 60_000);
});
