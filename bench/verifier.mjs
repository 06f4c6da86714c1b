// The client verifier's verifications per second against jose's `jwtVerify` with
// a local key: same tokens, same process, in interleaved pairs (the median ratio of
// the pairs is the figure), then a flood of unknown kids. Prints JSON.
// It measures the package as published: `@edgeauth/client` is the built
// packages/client/dist (`npm run bench` builds it first; alone, run
// `npm run build:client` before `node bench/verifier.mjs`).
import { createVerifier } from "@edgeauth/client";
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, jwtVerify } from "jose";

const ISSUER = "https://auth.example.com";
const TOKENS = 200;
/** Pairs of passes over the tokens, one by each side. */
const BLOCKS = Number(process.env.BENCH_VERIFY_PAIRS ?? 60);
/** Tokens with unknown kids verified after the steady state. */
const FLOOD = Number(process.env.BENCH_VERIFY_FLOOD ?? 1000);

const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
const publicJwk = await exportJWK(publicKey);
const kid = await calculateJwkThumbprint(publicJwk, "sha256");
const jwks = { keys: [{ ...publicJwk, kid, alg: "ES256", use: "sig" }] };

const now = Math.floor(Date.now() / 1000);
const tokens = await Promise.all(
  Array.from({ length: TOKENS }, (_, i) =>
    new SignJWT({ n: i })
      .setProtectedHeader({ alg: "ES256", typ: "JWT", kid })
      .setSubject(crypto.randomUUID())
      .setIssuer(ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(now + 900)
      .sign(privateKey),
  ),
);

let fetches = 0;
const verifier = createVerifier({
  issuer: ISSUER,
  fetch: async () => {
    fetches++;
    return Response.json(jwks);
  },
});

async function timeVerifier() {
  const started = performance.now();
  for (const token of tokens) {
    const result = await verifier.verify(token);
    if (!result.ok) throw new Error(`verifier refused a good token: ${result.code}`);
  }
  return performance.now() - started;
}

async function timeJose() {
  const started = performance.now();
  for (const token of tokens) await jwtVerify(token, publicKey, { issuer: ISSUER, algorithms: ["ES256"], typ: "JWT" });
  return performance.now() - started;
}

// Warm up both (JIT, the verifier's one JWKS fetch), then count fetches only in steady state.
for (let i = 0; i < 5; i++) {
  await timeVerifier();
  await timeJose();
}
const fetchesAfterWarmUp = fetches;

// Paired and interleaved: each block times one pass of the verifier and one of jose
// over the same tokens, back to back, in alternating order (ABBA...), so that load
// from other processes hits both sides of a pair alike. The ratio is taken per
// pair; the median of the pairs is the figure.
const ratios = [];
let verifierMs = 0;
let joseMs = 0;
for (let block = 0; block < BLOCKS; block++) {
  let v;
  let j;
  if (block % 2 === 0) {
    v = await timeVerifier();
    j = await timeJose();
  } else {
    j = await timeJose();
    v = await timeVerifier();
  }
  verifierMs += v;
  joseMs += j;
  ratios.push(j / v);
}
const steadyStateFetches = fetches - fetchesAfterWarmUp;

// A flood of tokens whose kids the JWKS does not have (a rotation look-alike, or an
// attack): within the cooldown after the last fetch they must cost no fetch at all.
const beforeFlood = fetches;
let floodRefused = 0;
for (let i = 0; i < FLOOD; i++) {
  const forged = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: crypto.randomUUID() })
    .setSubject("flood")
    .setIssuer(ISSUER)
    .setIssuedAt(now)
    .setExpirationTime(now + 900)
    .sign(privateKey);
  const result = await verifier.verify(forged);
  if (!result.ok && result.code === "unknown-key") floodRefused++;
}

ratios.sort((a, b) => a - b);
const quantile = (q) => ratios[Math.min(ratios.length - 1, Math.floor(q * ratios.length))];
process.stdout.write(
  JSON.stringify({
    verifierPerSecond: (BLOCKS * TOKENS) / (verifierMs / 1000),
    josePerSecond: (BLOCKS * TOKENS) / (joseMs / 1000),
    pairs: BLOCKS,
    ratioMedian: quantile(0.5),
    ratioP25: quantile(0.25),
    ratioP75: quantile(0.75),
    steadyStateFetches,
    floodTokens: FLOOD,
    floodRefused,
    floodFetches: fetches - beforeFlood,
  }),
);
