// `npm run bench`: builds the Worker as `wrangler deploy` would, runs the bundle on
// workerd through Miniflare's API (local D1 and Durable Objects, no `wrangler dev`
// proxy), drives it from a second process over loopback, and prints one table of
// ratios to a trivial route measured in the same run, interleaved A/B/A/B.
//
// Figures on a shared 2-core machine are noisy: read the ratios, not the absolutes.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { cpus } from "node:os";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { BENCH_ADMIN_SECRET, applyMigrations, edgeauthWorkerOptions } from "./edgeauth-worker.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const BUILD_DIR = `${ROOT}bench/.build`;
const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ENUMERATION_PAIRS = Number(process.env.BENCH_ENUMERATION_PAIRS ?? 100);
// BENCH_ONLY=load,enumeration,limits,realms,verifier picks parts of the run (all by default).
const PARTS = new Set((process.env.BENCH_ONLY ?? "load,enumeration,limits,realms,verifier").split(","));
const OFFLINE_ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

function log(message) {
  process.stderr.write(`bench: ${message}\n`);
}

// 1. The bundle `wrangler deploy` would upload.
log("building the Worker bundle");
execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--outdir", BUILD_DIR], { cwd: ROOT, env: OFFLINE_ENV, stdio: "ignore" });
const bundlePath = `${BUILD_DIR}/index.js`;
const bundle = readFileSync(bundlePath);
const bundleGzipKiB = gzipSync(bundle).length / 1024;

// 2. Startup time, as wrangler profiles it locally (Workers refuse scripts over 400 ms).
log("profiling startup");
const startup = spawnSync("npx", ["wrangler", "check", "startup", "--outfile", `${BUILD_DIR}/startup.cpuprofile`], {
  cwd: ROOT,
  env: OFFLINE_ENV,
  encoding: "utf8",
});
const startupActiveMs = /Active:\s*([\d.]+)\s*ms/.exec(startup.stdout + startup.stderr)?.[1] ?? "n/a";

// 3. The Worker on workerd, with a second tiny Worker that times PBKDF2 alone.
const hashWorkerScript = `
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const rounds = Number(url.searchParams.get("rounds"));
    if (url.pathname === "/d1") {
      for (let i = 0; i < rounds; i++) await env.DB.prepare("SELECT 1 AS one").first();
      return Response.json({ rounds });
    }
    const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("correct horse battery staple"), "PBKDF2", false, ["deriveBits"]);
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      const salt = crypto.getRandomValues(new Uint8Array(16));
      await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: 100000 }, key, 256);
    }
    // performance.now() only advances across I/O in workerd; Date.now() likewise, so time it outside.
    return Response.json({ rounds });
  },
};`;
// Miniflare 5 takes a new options shape; the converter accepts the long-documented one.
const mf = new Miniflare(convertV4MiniflareOptions({
  host: "127.0.0.1",
  port: 0,
  workers: [
    edgeauthWorkerOptions(bundlePath, "bench-db"),
    {
      name: "probe",
      modules: true,
      script: hashWorkerScript,
      compatibilityDate: "2026-11-01",
      d1Databases: { DB: "bench-probe-db" },
    },
  ],
}));
const baseUrl = (await mf.ready).toString().replace(/\/$/, "");
log(`workerd ready at ${baseUrl}`);

try {
  const db = await mf.getD1Database("DB");
  await applyMigrations(db);

  const jsonAt = async (url, path, body, headers = {}) => {
    const send = () =>
      fetch(`${url}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: { "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    // A pooled keep-alive connection that workerd closed while a load run held the
    // server fails once with "other side closed"; a second attempt opens a new one.
    const response = await send().catch(send);
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
    return response.json();
  };
  const json = (path, body, headers = {}) => jsonAt(baseUrl, path, body, headers);

  const credentials = { email: "bench@example.com", password: "correct horse battery staple" };
  await json("/signup/email-password", credentials);
  // Every refresh run starts its chains from fresh sessions: a token a previous run
  // already rotated would (rightly) be taken for a stolen one and revoke its session.
  const freshRefreshChains = async () => {
    const chains = [];
    for (let i = 0; i < CONNECTIONS; i++) chains.push((await json("/signin/email-password", credentials)).session.refreshToken);
    return chains;
  };
  const accessToken = (await json("/signin/email-password", credentials)).session.accessToken;

  // PBKDF2 alone, inside workerd, timed from outside around a batch.
  const probe = await mf.getWorker("probe");
  await probe.fetch("http://probe/?rounds=5");
  const hashRounds = 60;
  const hashStarted = performance.now();
  await probe.fetch(`http://probe/?rounds=${hashRounds}`);
  const hashMs = (performance.now() - hashStarted) / hashRounds;

  // What one D1 round trip costs here: local D1 is a simulator running in the same
  // workerd process, so its CPU lands in our figures (in production it does not).
  const workerdPid = findWorkerdPid(process.pid);
  await probe.fetch("http://probe/d1?rounds=50");
  const d1Rounds = 500;
  const d1CpuBefore = cpuMs(workerdPid);
  await probe.fetch(`http://probe/d1?rounds=${d1Rounds}`);
  const d1CpuMs = (cpuMs(workerdPid) - d1CpuBefore) / d1Rounds;
  const keyStoreLeases = async () =>
    (await json("/admin/keys/stats", undefined, { "x-admin-secret": BENCH_ADMIN_SECRET })).leases;

  const trivial = { name: "trivial route (GET /healthz)", method: "GET", path: "/healthz" };
  const scenarios = [
    { name: "JWKS, cache hit", method: "GET", path: "/.well-known/jwks.json", target: "≥ 0.8x" },
    { name: "GET /user", method: "GET", path: "/user", headers: { authorization: `Bearer ${accessToken}` }, target: "≥ 0.3x" },
    {
      name: "POST /token/verify",
      method: "POST",
      path: "/token/verify",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: accessToken }),
      target: "≥ 0.35x",
    },
    {
      name: "POST /token (refresh)",
      method: "POST",
      path: "/token",
      headers: { "content-type": "application/json" },
      prepare: async () => ({ refreshTokens: await freshRefreshChains() }),
      countKeyStore: true,
      target: "≥ 0.25x",
    },
    {
      name: "POST /signin/email-password",
      method: "POST",
      path: "/signin/email-password",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(credentials),
      countKeyStore: true,
      signIn: true,
    },
  ];

  /** One load run; workerd CPU is measured only for the main instance (`baseUrl`). */
  const runLoad = async (scenario, url = baseUrl) => {
    if (scenario.prepare) scenario = { ...scenario, ...(await scenario.prepare()) };
    const cpuBefore = cpuMs(workerdPid);
    const child = spawnSync(
      process.execPath,
      [
        `${ROOT}bench/load.mjs`,
        JSON.stringify({ durationSeconds: DURATION_SECONDS, ...scenario, url, connections: CONNECTIONS }),
      ],
      { encoding: "utf8" },
    );
    if (child.status !== 0) throw new Error(`load run failed: ${child.stderr}`);
    const result = JSON.parse(child.stdout);
    result.cpuMsPerRequest = url === baseUrl && workerdPid && result.requests > 0 ? (cpuMs(workerdPid) - cpuBefore) / result.requests : null;
    return result;
  };

  // Warm every route once.
  if (PARTS.has("load")) for (const scenario of [trivial, ...scenarios]) await runLoad({ ...scenario, durationSeconds: 1 });

  const rows = [];
  const baselineRuns = [];
  // BENCH_SCENARIOS=refresh,sign picks load scenarios whose names contain a word (all by default).
  const picked = (process.env.BENCH_SCENARIOS ?? "").split(",").filter(Boolean);
  const wanted = (scenario) => picked.length === 0 || picked.some((word) => scenario.name.toLowerCase().includes(word.toLowerCase()));
  for (const scenario of PARTS.has("load") ? scenarios.filter(wanted) : []) {
    log(`measuring ${scenario.name}`);
    const leasesBefore = scenario.countKeyStore ? await keyStoreLeases() : 0;
    const runs = [];
    const baselines = [];
    for (let round = 0; round < 2; round++) {
      baselines.push(await runLoad(trivial));
      runs.push(await runLoad(scenario));
    }
    baselineRuns.push(...baselines);
    const leases = scenario.countKeyStore ? (await keyStoreLeases()) - leasesBefore : null;
    const rps = mean(runs.map((r) => r.requestsPerSecond));
    const baselineRps = mean(baselines.map((r) => r.requestsPerSecond));
    const requests = runs.reduce((sum, r) => sum + r.requests, 0);
    const failed = runs.reduce((sum, r) => sum + r.non2xx + r.errors, 0);
    const msPerRequest = 1000 / rps;
    rows.push({
      scenario: scenario.name,
      rps,
      p50: mean(runs.map((r) => r.p50Ms)),
      p99: mean(runs.map((r) => r.p99Ms)),
      ratio: scenario.signIn ? `${(msPerRequest / hashMs).toFixed(2)}x hash` : `${(rps / baselineRps).toFixed(2)}x`,
      target: scenario.signIn ? "≤ 1.25x hash" : scenario.target,
      cpu: mean(runs.map((r) => r.cpuMsPerRequest ?? Number.NaN)),
      note: [
        failed > 0 ? `${failed} non-2xx` : "",
        leases === null
          ? ""
          : leases < 0
            ? "KeyStore restarted during the run: lease count lost"
            : `${((leases / requests) * 1000).toFixed(2)} KeyStore leases per 1,000`,
      ]
        .filter(Boolean)
        .join("; "),
    });
  }
  const baselineRps = mean(baselineRuns.map((r) => r.requestsPerSecond));
  if (rows.length > 0) rows.unshift({
    scenario: trivial.name,
    rps: baselineRps,
    p50: mean(baselineRuns.map((r) => r.p50Ms)),
    p99: mean(baselineRuns.map((r) => r.p99Ms)),
    ratio: "1.00x",
    target: "baseline",
    cpu: mean(baselineRuns.map((r) => r.cpuMsPerRequest ?? Number.NaN)),
    note: "",
  });

  // Enumeration: with ENUMERATION_PROTECTION on (the default), the reset and passwordless
  // routes answer before looking the address up, so a known and an unknown address
  // should take the same time. Sequential requests, alternating known/unknown.
  const enumerationRows = [];
  const knownPhone = "+15550100001";
  await db.prepare("UPDATE users SET phone_number = ? WHERE email = ?").bind(knownPhone, credentials.email).run();
  const byEmail = (email) => ({ email });
  const unknownEmail = (i) => `nobody-${i}-${Date.now()}@example.com`;
  const enumerationRoutes = [
    { route: "POST /user/password/reset", known: byEmail(credentials.email), unknown: (i) => byEmail(unknownEmail(i)) },
    { route: "POST /signin/passwordless/email", known: byEmail(credentials.email), unknown: (i) => byEmail(unknownEmail(i)) },
    { route: "POST /signin/otp/email", known: byEmail(credentials.email), unknown: (i) => byEmail(unknownEmail(i)) },
    {
      route: "POST /signin/passwordless/sms",
      known: { phoneNumber: knownPhone },
      unknown: (i) => ({ phoneNumber: `+1555${String(2_000_000 + i).padStart(7, "0")}` }),
    },
  ];
  for (const { route, known, unknown } of PARTS.has("enumeration") ? enumerationRoutes : []) {
    log(`measuring known vs unknown addresses at ${route}`);
    const path = route.slice("POST ".length);
    const timings = { known: [], unknown: [] };
    for (let i = 0; i < ENUMERATION_PAIRS; i++) {
      for (const kind of i % 2 === 0 ? ["known", "unknown"] : ["unknown", "known"]) {
        const body = kind === "known" ? known : unknown(i);
        const started = performance.now();
        await json(path, body);
        timings[kind].push(performance.now() - started);
        // Long enough for the previous request's background work (started 50 ms after its
        // answer, see src/server/lib/after-response.ts) to have finished.
        await new Promise((resolve) => setTimeout(resolve, 80));
      }
    }
    enumerationRows.push({ route, known: summarize(timings.known), unknown: summarize(timings.unknown) });
  }

  // What the rate limits cost, interleaved runs (on, off, on, off) of one bundle:
  // - the Durable Object limits: this instance (on) against a second one with every
  //   such limit off, both behind the Rate Limiting binding. Sign-in and an email-code
  //   request make their calls; refresh, GET /user and the JWKS make none, so they
  //   should not move. Requests come from many addresses (and the code requests go
  //   to many recipients), as a deployment's traffic does;
  // - the binding itself: the second instance against a third without it, at the
  //   JWKS. Miniflare simulates the binding with a Durable Object and SQLite per
  //   call; on Cloudflare it is a counter cached at the location.
  // What resolving a realm costs: the hot routes of the default realm (served at the
  // root, no lookup) against the same routes of a realm under /realms/bench (its
  // row read once, then held by the isolate for 30 s), interleaved, same instance.
  const realmRows = [];
  if (PARTS.has("realms")) {
    await db.prepare("INSERT OR IGNORE INTO realms (id, created_at) VALUES ('bench', ?)").bind(Date.now()).run();
    const prefixes = { root: "", realm: "/realms/bench" };
    const sessions = {};
    for (const [name, prefix] of Object.entries(prefixes)) {
      await jsonAt(baseUrl, `${prefix}/signup/email-password`, credentials).catch(() => undefined);
      const token = (await jsonAt(baseUrl, `${prefix}/signin/email-password`, credentials)).session.accessToken;
      const chains = async () => {
        const tokens = [];
        for (let i = 0; i < CONNECTIONS; i++) tokens.push((await jsonAt(baseUrl, `${prefix}/signin/email-password`, credentials)).session.refreshToken);
        return tokens;
      };
      sessions[name] = { prefix, token, chains };
    }
    const realmScenarios = [
      { name: "JWKS, cache hit", method: "GET", path: "/.well-known/jwks.json" },
      { name: "GET /user", method: "GET", path: "/user", headers: (session) => ({ authorization: `Bearer ${session.token}` }) },
      { name: "POST /token (refresh)", method: "POST", path: "/token", chains: true },
    ];
    for (const scenario of realmScenarios) {
      log(`measuring realm resolution at ${scenario.name}`);
      const runs = { root: [], realm: [] };
      for (let round = 0; round < 2; round++) {
        for (const name of ["root", "realm"]) {
          const session = sessions[name];
          runs[name].push(
            await runLoad(
              {
                method: scenario.method,
                path: `${session.prefix}${scenario.path}`,
                headers: { "content-type": "application/json", ...(scenario.headers?.(session) ?? {}) },
                ...(scenario.chains ? { refreshTokens: await session.chains() } : {}),
                varyClient: true,
              },
              baseUrl,
            ),
          );
        }
      }
      const rps = (name) => mean(runs[name].map((r) => r.requestsPerSecond));
      const failed = [...runs.root, ...runs.realm].reduce((sum, r) => sum + r.non2xx + r.errors, 0);
      realmRows.push({ scenario: scenario.name, root: rps("root"), realm: rps("realm"), failed });
    }
  }

  const limitRows = [];
  if (PARTS.has("limits")) {
    log("starting two more instances of the bundle: limits off, and limits off without the binding");
    const startInstance = async (database, options) => {
      const instance = new Miniflare(convertV4MiniflareOptions({ host: "127.0.0.1", port: 0, workers: [edgeauthWorkerOptions(bundlePath, database, options)] }));
      const url = (await instance.ready).toString().replace(/\/$/, "");
      await applyMigrations(await instance.getD1Database("DB"));
      await jsonAt(url, "/signup/email-password", credentials);
      return { mf: instance, url };
    };
    const off = await startInstance("bench-db-no-limits", { limits: "off" });
    const bare = await startInstance("bench-db-no-binding", { limits: "off", requestLimiter: false });
    try {
      const instances = {};
      for (const [name, url] of [["on", baseUrl], ["off", off.url], ["bare", bare.url]]) {
        const chains = async () => {
          const tokens = [];
          for (let i = 0; i < CONNECTIONS; i++) tokens.push((await jsonAt(url, "/signin/email-password", credentials)).session.refreshToken);
          return tokens;
        };
        const token = (await jsonAt(url, "/signin/email-password", credentials)).session.accessToken;
        instances[name] = { url, chains, token };
      }
      const limitScenarios = [
        { name: "JWKS, cache hit", method: "GET", path: "/.well-known/jwks.json" },
        { name: "GET /user", method: "GET", path: "/user", headers: (instance) => ({ authorization: `Bearer ${instance.token}` }) },
        { name: "POST /token (refresh)", method: "POST", path: "/token", chains: true },
        { name: "POST /signin/email-password", method: "POST", path: "/signin/email-password", body: JSON.stringify(credentials) },
        { name: "POST /signin/otp/email (a code by mail)", method: "POST", path: "/signin/otp/email", body: "{}", varyEmail: true },
        { name: "JWKS: the binding (simulated) against none", method: "GET", path: "/.well-known/jwks.json", pair: ["off", "bare"] },
      ];
      for (const scenario of limitScenarios) {
        log(`measuring the limits' cost at ${scenario.name}`);
        const [first, second] = scenario.pair ?? ["on", "off"];
        const runs = { [first]: [], [second]: [] };
        for (let round = 0; round < 2; round++) {
          for (const name of [first, second]) {
            const instance = instances[name];
            const load = {
              method: scenario.method,
              path: scenario.path,
              headers: { "content-type": "application/json", ...(scenario.headers?.(instance) ?? {}) },
              ...(scenario.body === undefined ? {} : { body: scenario.body }),
              ...(scenario.chains ? { refreshTokens: await instance.chains() } : {}),
              varyClient: true,
              varyEmail: scenario.varyEmail === true,
            };
            runs[name].push(await runLoad(load, instance.url));
          }
        }
        const rps = (name) => mean(runs[name].map((r) => r.requestsPerSecond));
        const p50 = (name) => mean(runs[name].map((r) => r.p50Ms));
        const failed = Object.values(runs).flat().reduce((sum, r) => sum + r.non2xx + r.errors, 0);
        limitRows.push({ scenario: scenario.name, pair: `${first} / ${second}`, on: rps(first), off: rps(second), p50On: p50(first), p50Off: p50(second), failed });
      }
    } finally {
      await off.mf.dispose();
      await bare.mf.dispose();
    }
  }

  // The client verifier against jose, same tokens, same process (Node).
  let verifier = null;
  if (PARTS.has("verifier")) {
    log("measuring the client verifier");
    const verifierRun = spawnSync(process.execPath, [`${ROOT}bench/verifier.mjs`], { encoding: "utf8", cwd: ROOT, env: OFFLINE_ENV });
    if (verifierRun.status !== 0) throw new Error(`verifier bench failed: ${verifierRun.stderr}`);
    verifier = JSON.parse(verifierRun.stdout);
  }

  console.log(
    `\nedgeauth benchmark — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ` +
      `${CONNECTIONS} connections, ${DURATION_SECONDS}s per run, 2 interleaved runs per scenario\n`,
  );
  console.log("| scenario | req/s | p50 ms | p99 ms | ratio | target | workerd CPU ms/req | notes |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const row of rows) {
    console.log(
      `| ${row.scenario} | ${row.rps.toFixed(0)} | ${row.p50.toFixed(1)} | ${row.p99.toFixed(1)} | ${row.ratio} | ${row.target} | ${
        Number.isNaN(row.cpu) ? "n/a" : row.cpu.toFixed(2)
      } | ${row.note} |`,
    );
  }
  if (verifier !== null) console.log(
    `| client verifier (Node, in-process) | ${verifier.verifierPerSecond.toFixed(0)} verifies/s | | | ${verifier.ratioMedian.toFixed(2)}x jose jwtVerify, median of ${
      verifier.pairs
    } paired runs (p25 ${verifier.ratioP25.toFixed(2)}, p75 ${verifier.ratioP75.toFixed(2)}) | ≥ 0.95x, 0 fetches | | ${verifier.steadyStateFetches} JWKS fetches in steady state, ${
      verifier.floodFetches
    } under ${verifier.floodTokens} unknown kids |`,
  );
  if (enumerationRows.length > 0) {
    console.log(
      `\nKnown vs unknown address, ${ENUMERATION_PAIRS} of each, sequential, alternating (errors concealed, the default):\n`,
    );
    console.log("| route | known p50 ms | unknown p50 ms | known p90 ms | unknown p90 ms | p50 difference |");
    console.log("|---|---|---|---|---|---|");
  }
  for (const row of enumerationRows) {
    console.log(
      `| ${row.route} | ${row.known.p50.toFixed(2)} | ${row.unknown.p50.toFixed(2)} | ${row.known.p90.toFixed(2)} | ${row.unknown.p90.toFixed(2)} | ${(
        row.known.p50 - row.unknown.p50
      ).toFixed(2)} ms |`,
    );
  }
  if (realmRows.length > 0) {
    console.log("\nResolving the realm: the default realm at the root against realm `bench` under /realms/bench, same instance, interleaved:\n");
    console.log("| route | req/s root | req/s /realms/bench | ratio | notes |");
    console.log("|---|---|---|---|---|");
    for (const row of realmRows) {
      console.log(`| ${row.scenario} | ${row.root.toFixed(0)} | ${row.realm.toFixed(0)} | ${(row.realm / row.root).toFixed(2)}x | ${row.failed > 0 ? `${row.failed} non-2xx` : ""} |`);
    }
  }
  if (limitRows.length > 0) {
    console.log(
      `\nWhat the rate limits cost, same bundle, interleaved, requests from many addresses (on: every limit checked; off: the Durable Object limits off; bare: also no Rate Limiting binding):\n`,
    );
    console.log("| route | compared | req/s | req/s | ratio | p50 ms | p50 ms | notes |");
    console.log("|---|---|---|---|---|---|---|---|");
    for (const row of limitRows) {
      console.log(
        `| ${row.scenario} | ${row.pair} | ${row.on.toFixed(0)} | ${row.off.toFixed(0)} | ${(row.on / row.off).toFixed(2)}x | ${row.p50On.toFixed(1)} | ${row.p50Off.toFixed(1)} | ${
          row.failed > 0 ? `${row.failed} non-2xx` : ""
        } |`,
      );
    }
  }
  console.log(`\nPBKDF2-SHA256, 100,000 iterations, alone in workerd: ${hashMs.toFixed(1)} ms per hash`);
  console.log(`One D1 query (SELECT 1) through the local simulator: ${d1CpuMs.toFixed(2)} ms of workerd CPU`);
  console.log("D1 round trips per request: sign-in 2, refresh 1, GET /user 1, /token/verify 0, JWKS 0");
  console.log(`Bundle: ${(bundle.length / 1024).toFixed(1)} KiB, gzip ${bundleGzipKiB.toFixed(1)} KiB`);
  console.log(`Startup (wrangler check startup, local profile, active CPU): ${startupActiveMs} ms (Workers limit: 400 ms)`);
} finally {
  await mf.dispose();
}

function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (fraction) => sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
  return { p50: at(0.5), p90: at(0.9) };
}

function mean(values) {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** The workerd process Miniflare started, found among our descendants. */
function findWorkerdPid(rootPid) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push({ pid: Number(entry), comm });
    } catch {
      // The process ended while we looked.
    }
  }
  const queue = [rootPid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()) ?? []) {
      if (child.comm === "workerd") return child.pid;
      queue.push(child.pid);
    }
  }
  return null;
}

/** User + system CPU time of a process, in milliseconds (Linux /proc). */
function cpuMs(pid) {
  if (!pid || !statSync(`/proc/${pid}`, { throwIfNoEntry: false })) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}
