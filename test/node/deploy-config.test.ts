/**
 * `wrangler deploy` of the repository's wrangler.toml is a production deployment:
 * no ENVIRONMENT=development, no `dev` mail or SMS transport (the browsable outbox),
 * no localhost URLs. Development values come only from `.dev.vars` (written by
 * scripts/dev-setup.mjs), which `wrangler deploy` never reads. Runs the project's
 * pinned wrangler with `--dry-run`: it bundles and prints the bindings, offline.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/server/config";

const ROOT = new URL("../../", import.meta.url).pathname;
const DRY_RUN_TIMEOUT_MS = 60_000;

interface PrintedBinding {
  name: string;
  /** What wrangler prints in parentheses: a var's JSON value, a class or database name. */
  detail: string;
  kind: string;
}

/** Rows of wrangler's binding table, e.g. `env.DB (edgeauth)   D1 Database`. */
function parseBindingTable(output: string): PrintedBinding[] {
  return [...output.matchAll(/^env\.([A-Z_][A-Z0-9_]*) \((.*)\)\s{2,}(\S.*?)\s*$/gm)].map((match) => ({
    name: match[1]!,
    detail: match[2]!,
    kind: match[3]!,
  }));
}

/**
 * The `[vars]` block of wrangler.toml: `NAME = "value"` lines, comments and blank
 * lines. Anything else fails the test rather than being skipped, so a var this
 * small reader cannot read is never silently left out of the checks below.
 */
function readShippedVars(toml: string): Record<string, string> {
  const block = /^\[vars\]\s*$([\s\S]*?)(?=^\[)/m.exec(toml);
  if (block === null) throw new Error("wrangler.toml has no [vars] block followed by another table");
  const vars: Record<string, string> = {};
  for (const line of block[1]!.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const entry = /^([A-Z_][A-Z0-9_]*) = "([^"\\]*)"$/.exec(trimmed);
    if (entry === null) throw new Error(`cannot read this [vars] line: ${trimmed}`);
    vars[entry[1]!] = entry[2]!;
  }
  return vars;
}

let bindings: PrintedBinding[];
let shippedVars: Record<string, string>;

beforeAll(async () => {
  const outdir = await mkdtemp(join(tmpdir(), "edgeauth-dry-run-"));
  try {
    // process.execPath: the Node running vitest (22+, as wrangler needs), whatever
    // `node` is first on PATH.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(ROOT, "node_modules/.bin/wrangler"), "deploy", "--dry-run", "--outdir", outdir],
      {
        cwd: ROOT,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1", FORCE_COLOR: "0" },
        timeout: DRY_RUN_TIMEOUT_MS,
        maxBuffer: 4 * 1024 * 1024,
      },
    );
    bindings = parseBindingTable(stdout);
    if (bindings.length === 0) throw new Error(`wrangler printed no bindings:\n${stdout}`);
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
  shippedVars = readShippedVars(await readFile(join(ROOT, "wrangler.toml"), "utf8"));
}, DRY_RUN_TIMEOUT_MS + 10_000);

describe("wrangler deploy --dry-run of the shipped wrangler.toml", () => {
  it("deploys no development value", () => {
    const vars = Object.fromEntries(bindings.filter((binding) => binding.kind === "Environment Variable").map((b) => [b.name, b.detail]));
    expect(vars.ENVIRONMENT).not.toBe('"development"');
    expect(vars.MAIL_TRANSPORT).not.toBe('"dev"');
    expect(vars.SMS_TRANSPORT).not.toBe('"dev"');
    for (const [name, value] of Object.entries(vars)) {
      expect(value, name).not.toMatch(/localhost|127\.0\.0\.1|\[::1\]/);
    }
    // The printed vars are the ones the [vars] reader below sees, so its checks cover them all.
    expect(Object.keys(vars).sort()).toEqual(Object.keys(shippedVars).sort());
  });

  it("binds the Durable Objects, the D1 database and the per-IP request limit", () => {
    const bound = bindings.map((binding) => `${binding.name} (${binding.detail}) ${binding.kind}`);
    expect(bound).toEqual(
      expect.arrayContaining([
        "KEY_STORE (KeyStore) Durable Object",
        "ONE_TIME_CODES (OneTimeCodes) Durable Object",
        "ATTEMPT_COUNTER (AttemptCounter) Durable Object",
        "RATE_LIMITER (RateLimiter) Durable Object",
        "DB (edgeauth) D1 Database",
        // Rate limits are on as shipped (README, "Rate limits").
        "REQUEST_RATE_LIMITER (100 requests/60s) Rate Limit",
      ]),
    );
  });

  it("parses, with secrets and an https PUBLIC_URL, as production sending no mail and no text", () => {
    const config = parseConfig({
      ...shippedVars,
      REFRESH_TOKEN_SECRET: "deploy-test-refresh-token-secret-0123456789",
      ADMIN_SECRET: "deploy-test-admin-secret-0123",
      PUBLIC_URL: "https://auth.example.com",
    });
    expect(config.environment).toBe("production");
    expect(config.mail.transport).toBe("none");
    expect(config.sms.transport).toBe("none");
    expect(config.publicUrl).toBe("https://auth.example.com");
  });

  it("does not start without PUBLIC_URL, the one setting an operator must add", () => {
    expect(shippedVars.PUBLIC_URL).toBeUndefined();
    expect(() => parseConfig({ ...shippedVars, REFRESH_TOKEN_SECRET: "deploy-test-refresh-token-secret-0123456789" })).toThrow(/PUBLIC_URL/);
  });
});
