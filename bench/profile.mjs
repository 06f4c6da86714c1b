// `npm run bench:profile -- [signin|refresh|user] [requests]`: where the Worker's own
// isolate spends its CPU on one route. Builds the bundle unminified (readable
// names), runs it on workerd through Miniflare with the V8 inspector on, drives the
// route one request at a time over loopback, samples the edgeauth isolate with the
// CDP profiler, and prints the functions with the most samples (self time).
//
// Only our isolate is sampled: the local D1 simulator and Miniflare's entry worker
// run in other isolates of the same workerd, so their share of `npm run bench`'s
// CPU per request does not show here. That split is the point: what is ours.
import { execFileSync } from "node:child_process";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { applyMigrations, edgeauthWorkerOptions } from "./edgeauth-worker.mjs";

const ROOT = new URL("..", import.meta.url).pathname;
const BUILD_DIR = `${ROOT}bench/.build/unminified`;
const INSPECTOR_PORT = 9333;
const scenario = process.argv[2] ?? "signin";
const requests = Number(process.argv[3] ?? 300);
const OFFLINE_ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

execFileSync("npx", ["wrangler", "deploy", "--dry-run", "--minify", "false", "--outdir", BUILD_DIR], { cwd: ROOT, env: OFFLINE_ENV, stdio: "ignore" });
const mf = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    inspectorPort: INSPECTOR_PORT,
    workers: [edgeauthWorkerOptions(`${BUILD_DIR}/index.js`, "profile-db")],
  }),
);

try {
  const baseUrl = (await mf.ready).toString().replace(/\/$/, "");
  await applyMigrations(await mf.getD1Database("DB"));
  const post = (path, body) =>
    fetch(`${baseUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const credentials = { email: "profile@example.com", password: "correct horse battery staple" };
  await post("/signup/email-password", credentials);
  let session = (await (await post("/signin/email-password", credentials)).json()).session;

  const requestOnce = {
    signin: async () => (await post("/signin/email-password", credentials)).text(),
    refresh: async () => {
      session = await (await post("/token", { refreshToken: session.refreshToken })).json();
    },
    user: async () => (await fetch(`${baseUrl}/user`, { headers: { authorization: `Bearer ${session.accessToken}` } })).text(),
  }[scenario];
  if (requestOnce === undefined) throw new Error(`unknown scenario ${scenario}: signin, refresh or user`);
  for (let i = 0; i < 30; i++) await requestOnce();

  const targets = await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json`)).json();
  const target = targets.find((candidate) => candidate.title?.includes("core:user:edgeauth"));
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve) => socket.addEventListener("open", resolve));
  let lastId = 0;
  const waiting = new Map();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    waiting.get(message.id)?.(message.result);
    waiting.delete(message.id);
  });
  const send = (method, params = {}) =>
    new Promise((resolve) => {
      lastId += 1;
      waiting.set(lastId, resolve);
      socket.send(JSON.stringify({ id: lastId, method, params }));
    });

  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 100 });
  await send("Profiler.start");
  for (let i = 0; i < requests; i++) await requestOnce();
  const { profile } = await send("Profiler.stop");
  socket.close();

  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const samplesByFunction = new Map();
  for (const sample of profile.samples) {
    const { functionName, url, lineNumber } = nodes.get(sample).callFrame;
    const name = `${functionName || "(anonymous)"} ${url.split("/").pop()}${lineNumber >= 0 ? `:${lineNumber + 1}` : ""}`;
    samplesByFunction.set(name, (samplesByFunction.get(name) ?? 0) + 1);
  }
  console.log(`${requests} × ${scenario}: ${profile.samples.length} samples in the edgeauth isolate (self time, share of samples)\n`);
  for (const [name, count] of [...samplesByFunction].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`${((100 * count) / profile.samples.length).toFixed(1).padStart(5)}%  ${name}`);
  }
} finally {
  await mf.dispose();
}
