// One bounded load run against a local URL, in its own process so that the load
// generator does not share an event loop with the server under test.
// Input (argv[2], JSON): { url, method, path, headers, body, connections, durationSeconds, refreshTokens?, varyClient?, varyEmail? }
// Output (stdout, JSON): { requests, requestsPerSecond, p50Ms, p99Ms, non2xx, errors }
import autocannon from "autocannon";

const spec = JSON.parse(process.argv[2]);
const target = new URL(spec.url);
if (!["127.0.0.1", "localhost", "[::1]"].includes(target.hostname)) {
  throw new Error("bench/load.mjs only sends traffic to loopback");
}

const request = { method: spec.method, path: spec.path, headers: spec.headers ?? {}, body: spec.body };

// Refresh rotates the token, so each connection walks its own chain: the token
// in each response is the one the connection presents next.
if (spec.refreshTokens) {
  let nextChain = 0;
  request.setupRequest = (req, context) => {
    context.token ??= spec.refreshTokens[nextChain++ % spec.refreshTokens.length];
    return { ...req, body: JSON.stringify({ refreshToken: context.token }) };
  };
  request.onResponse = (status, body, context) => {
    if (status === 200) context.token = JSON.parse(body).refreshToken;
  };
}

// Many clients rather than one: each request from its own address
// (`CF-Connecting-IP`), and with `varyEmail` about its own mail recipient, so that
// per-IP and per-address limits see realistic traffic, not one client flooding.
if (spec.varyClient || spec.varyEmail) {
  let sent = 0;
  const setupBefore = request.setupRequest ?? ((req) => req);
  request.setupRequest = (req, context) => {
    sent += 1;
    const prepared = setupBefore(req, context);
    const headers = { ...prepared.headers, "cf-connecting-ip": `10.${(sent >> 16) & 255}.${(sent >> 8) & 255}.${sent & 255}` };
    const body = spec.varyEmail ? JSON.stringify({ email: `bench-${process.pid}-${sent}@example.com` }) : prepared.body;
    return { ...prepared, headers, body };
  };
}

const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.durationSeconds,
  requests: [request],
});

process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    requestsPerSecond: result.requests.total / spec.durationSeconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }),
);
