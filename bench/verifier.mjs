// The client verifier's verifications per second against jose's `jwtVerify` with
// a local key: same tokens, same process, interleaved A/B/A/B. Prints JSON.
// It measures the package as published: `@edgeauth/client` is the built
// packages/client/dist (`npm run bench` builds it first; alone, run
// `npm run build:client` before `node bench/verifier.mjs`).
import { createVerifier } from "@edgeauth/client";
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, jwtVerify } from "jose";

const ISSUER = "https://auth.example.com";
const TOKENS = 200;
const ROUNDS = Number(process.env.BENCH_VERIFY_ROUNDS ?? 25);

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
  for (let round = 0; round < ROUNDS; round++) {
    for (const token of tokens) {
      const result = await verifier.verify(token);
      if (!result.ok) throw new Error(`verifier refused a good token: ${result.code}`);
    }
  }
  return (ROUNDS * TOKENS) / ((performance.now() - started) / 1000);
}

async function timeJose() {
  const started = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    for (const token of tokens) await jwtVerify(token, publicKey, { issuer: ISSUER, algorithms: ["ES256"], typ: "JWT" });
  }
  return (ROUNDS * TOKENS) / ((performance.now() - started) / 1000);
}

// Warm up both, then count fetches only in steady state.
await timeVerifier();
await timeJose();
const fetchesAfterWarmUp = fetches;
const verifierRuns = [];
const joseRuns = [];
for (let i = 0; i < 2; i++) {
  verifierRuns.push(await timeVerifier());
  joseRuns.push(await timeJose());
}
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
process.stdout.write(
  JSON.stringify({
    verifierPerSecond: mean(verifierRuns),
    josePerSecond: mean(joseRuns),
    steadyStateFetches: fetches - fetchesAfterWarmUp,
  }),
);
