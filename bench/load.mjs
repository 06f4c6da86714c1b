// One bounded load run against a local URL, in its own process so that the load
// generator does not share an event loop with the server under test.
// Input (argv[2], JSON): { url, method, path, headers, body, connections, durationSeconds, refreshTokens? }
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
