/**
 * The verifier's JWKS cache under plain Node (design §4–§5, checklist J14, M6):
 * rotation, retirement and removal of keys, refetch cooldowns, cold start, JWKS
 * outages and JWKS validation. The JWKS endpoint is a fake `fetch` we control and
 * the clock is injected, so nothing waits for time to pass.
 */
import { Hono } from "hono";
import { SignJWT, base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";
import { describe, expect, it, vi } from "vitest";
import { createVerifier, type VerifierOptions } from "@edgeauth/client";
import { requireAccessToken, type EdgeauthVariables } from "@edgeauth/client/hono";

const ISSUER = "https://auth.example.com";
const JWKS_URL = `${ISSUER}/.well-known/jwks.json`;
const START_MS = Date.UTC(2026, 10, 22, 12, 0, 0);
/** The verifier's defaults, which these tests pin. */
const COOLDOWN_SECONDS = 30;
const CACHE_MAX_AGE_SECONDS = 600;

type SigningKey = Awaited<ReturnType<typeof makeKey>>;

async function makeKey(extra: JWK = {}) {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, kid, jwk: { ...jwk, kid, alg: "ES256", use: "sig", ...extra } as JWK };
}

function clock(start = START_MS) {
  let nowMs = start;
  return {
    now: () => nowMs,
    advanceSeconds(seconds: number) {
      nowMs += seconds * 1000;
    },
  };
}

type Clock = ReturnType<typeof clock>;

/** A JWKS endpoint we control: what it serves, how it fails, and how often it is asked. */
function jwksEndpoint(keys: JWK[]) {
  const endpoint = {
    keys,
    fetches: 0,
    urls: [] as string[],
    signals: [] as (AbortSignal | null | undefined)[],
    /** Replaces the normal answer while set. */
    failure: null as null | ((init?: RequestInit) => Promise<Response>),
    fetch: async (url: string, init?: RequestInit): Promise<Response> => {
      endpoint.fetches++;
      endpoint.urls.push(url);
      endpoint.signals.push(init?.signal);
      if (endpoint.failure !== null) return endpoint.failure(init);
      return Response.json({ keys: endpoint.keys }, { headers: { "cache-control": "public, max-age=300" } });
    },
  };
  return endpoint;
}

type Endpoint = ReturnType<typeof jwksEndpoint>;

function verifierFor(endpoint: Endpoint, time: Clock, options: Partial<VerifierOptions> = {}) {
  return createVerifier({ issuer: ISSUER, fetch: endpoint.fetch, now: time.now, ...options });
}

/** A token issued at the injected clock's time, valid for 900 s. */
function sign(key: Pick<SigningKey, "privateKey" | "kid">, time: Clock, header: Record<string, unknown> = {}) {
  const iat = Math.floor(time.now() / 1000);
  return new SignJWT({ sid: "session-1" })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: key.kid, ...header })
    .setSubject("user-1")
    .setIssuer(ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 900)
    .sign(key.privateKey);
}

/** A well-formed token under a random kid; an attacker needs no key to send one. */
function randomKidToken(template: string): string {
  const [, payload, signature] = template.split(".");
  const header = base64url.encode(JSON.stringify({ alg: "ES256", typ: "JWT", kid: crypto.randomUUID() }));
  return `${header}.${payload}.${signature}`;
}

describe("key rotation", () => {
  it("a verifier holding the old JWKS verifies a token from a new key after exactly one refetch", async () => {
    const time = clock();
    const [oldKey, newKey] = [await makeKey(), await makeKey()];
    const endpoint = jwksEndpoint([oldKey.jwk]);
    const verifier = verifierFor(endpoint, time);
    expect((await verifier.verify(await sign(oldKey, time))).ok).toBe(true);
    expect(endpoint.fetches).toBe(1);

    endpoint.keys = [newKey.jwk, oldKey.jwk];
    time.advanceSeconds(COOLDOWN_SECONDS);
    const result = await verifier.verify(await sign(newKey, time));
    expect(result.ok && result.claims.sub).toBe("user-1");
    expect(endpoint.fetches).toBe(2);
    // Both keys are now cached: no further fetches.
    expect((await verifier.verify(await sign(newKey, time))).ok).toBe(true);
    expect((await verifier.verify(await sign(oldKey, time))).ok).toBe(true);
    expect(endpoint.fetches).toBe(2);
    expect(endpoint.urls).toEqual([JWKS_URL, JWKS_URL]);
  });

  it("a retired key that is still published keeps verifying, without refetches", async () => {
    const time = clock();
    const [retired, current] = [await makeKey(), await makeKey()];
    const endpoint = jwksEndpoint([current.jwk, retired.jwk]);
    const verifier = verifierFor(endpoint, time);
    const issuedBeforeRotation = await sign(retired, time);
    time.advanceSeconds(300);
    expect((await verifier.verify(issuedBeforeRotation)).ok).toBe(true);
    expect((await verifier.verify(await sign(current, time))).ok).toBe(true);
    expect(endpoint.fetches).toBe(1);
  });

  it("a key removed from the JWKS stops verifying once the cache max-age has passed", async () => {
    const time = clock();
    const [removed, kept] = [await makeKey(), await makeKey()];
    const endpoint = jwksEndpoint([kept.jwk, removed.jwk]);
    const verifier = verifierFor(endpoint, time);
    const token = await sign(removed, time);
    expect((await verifier.verify(token)).ok).toBe(true);

    endpoint.keys = [kept.jwk];
    time.advanceSeconds(CACHE_MAX_AGE_SECONDS);
    // Still inside the max-age: the cached copy answers.
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(endpoint.fetches).toBe(1);

    time.advanceSeconds(1);
    expect(await verifier.verify(token)).toEqual({ ok: false, code: "unknown-key" });
    expect(endpoint.fetches).toBe(2);
    expect((await verifier.verify(await sign(kept, time))).ok).toBe(true);
    expect(endpoint.fetches).toBe(2);
    expect(verifier.stats().cachedKeys).toBe(1);
  });

  it("a short cacheMaxAgeSeconds is honoured", async () => {
    const time = clock();
    const key = await makeKey();
    const endpoint = jwksEndpoint([key.jwk]);
    const verifier = verifierFor(endpoint, time, { cacheMaxAgeSeconds: 60, cooldownSeconds: 10 });
    const token = await sign(key, time);
    expect((await verifier.verify(token)).ok).toBe(true);
    time.advanceSeconds(61);
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(endpoint.fetches).toBe(2);
  });
});

describe("unknown kids", () => {
  it("a flood of 1,000 tokens with random kids causes at most one fetch per cooldown", async () => {
    const time = clock();
    const key = await makeKey();
    const endpoint = jwksEndpoint([key.jwk]);
    const verifier = verifierFor(endpoint, time);
    const template = await sign(key, time);
    const elapsedSeconds = 100;
    for (let i = 0; i < 1000; i++) {
      const result = await verifier.verify(randomKidToken(template));
      expect(result).toEqual({ ok: false, code: "unknown-key" });
      time.advanceSeconds(elapsedSeconds / 1000);
    }
    // The cold-start fetch, then one at each 30 s boundary: t = 30, 60, 90.
    expect(endpoint.fetches).toBe(1 + Math.floor(elapsedSeconds / COOLDOWN_SECONDS));
    // The genuine key still verifies (the token's 900 s lifetime covers the 100 s).
    expect((await verifier.verify(template)).ok).toBe(true);
  });

  it("1,000 concurrent random kids cost a single refetch once the cooldown has passed", async () => {
    const time = clock();
    const key = await makeKey();
    const endpoint = jwksEndpoint([key.jwk]);
    const verifier = verifierFor(endpoint, time);
    const template = await sign(key, time);
    expect((await verifier.verify(template)).ok).toBe(true);
    time.advanceSeconds(COOLDOWN_SECONDS);
    const results = await Promise.all(Array.from({ length: 1000 }, () => verifier.verify(randomKidToken(template))));
    expect(results.every((result) => !result.ok && result.code === "unknown-key")).toBe(true);
    expect(endpoint.fetches).toBe(2);
  });

  it("within the cooldown an unknown kid is refused without a fetch", async () => {
    const time = clock();
    const [known, unpublished] = [await makeKey(), await makeKey()];
    const endpoint = jwksEndpoint([known.jwk]);
    const verifier = verifierFor(endpoint, time);
    expect((await verifier.verify(await sign(known, time))).ok).toBe(true);
    time.advanceSeconds(COOLDOWN_SECONDS - 1);
    expect(await verifier.verify(await sign(unpublished, time))).toEqual({ ok: false, code: "unknown-key" });
    expect(endpoint.fetches).toBe(1);
  });

  it("a signature failure under a known kid causes no refetch (the kid is the key's thumbprint)", async () => {
    const time = clock();
    const [known, attacker] = [await makeKey(), await makeKey()];
    const endpoint = jwksEndpoint([known.jwk]);
    const verifier = verifierFor(endpoint, time);
    expect((await verifier.verify(await sign(known, time))).ok).toBe(true);
    time.advanceSeconds(COOLDOWN_SECONDS * 10);
    for (let i = 0; i < 20; i++) {
      const forged = await sign({ privateKey: attacker.privateKey, kid: known.kid }, time);
      expect(await verifier.verify(forged)).toEqual({ ok: false, code: "invalid-signature" });
    }
    expect(endpoint.fetches).toBe(1);
  });
});

describe("cold start", () => {
  it("50 verifies arriving while the first JWKS fetch is in flight all succeed, with exactly 1 fetch", async () => {
    const time = clock();
    const key = await makeKey();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let fetches = 0;
    const verifier = createVerifier({
      issuer: ISSUER,
      now: time.now,
      fetch: async () => {
        fetches++;
        await released;
        return Response.json({ keys: [key.jwk] });
      },
    });
    const tokens = await Promise.all(Array.from({ length: 50 }, () => sign(key, time)));
    const pending = Promise.all(tokens.map((token) => verifier.verify(token)));
    expect(fetches).toBe(1);
    release();
    const results = await pending;
    expect(results.filter((result) => result.ok)).toHaveLength(50);
    expect(fetches).toBe(1);
    expect(verifier.stats()).toEqual({ jwksFetches: 1, cachedKeys: 1 });
  });
});

describe("JWKS endpoint failures", () => {
  const failures: [string, (init?: RequestInit) => Promise<Response>][] = [
    ["500", async () => new Response("oops", { status: 500 })],
    ["404", async () => new Response("not found", { status: 404 })],
    ["an HTML page", async () => new Response("<!doctype html><title>Login</title>", { headers: { "content-type": "text/html" } })],
    ["JSON without keys", async () => Response.json({ error: "nope" })],
    ["JSON keys that is not an array", async () => Response.json({ keys: { a: 1 } })],
    ["a body over 64 KiB", async () => Response.json({ keys: [], padding: "x".repeat(100_000) })],
    ["a network error", async () => Promise.reject(new TypeError("fetch failed"))],
    [
      "a timeout",
      (init) =>
        new Promise<Response>((_resolve, reject) => {
          const signal = init?.signal;
          if (!signal) return reject(new Error("the verifier passed no abort signal"));
          signal.addEventListener("abort", () => reject(signal.reason));
        }),
    ],
  ];

  it.each(failures)("%s with no cached keys → jwks-unavailable, then no fetch again until the cooldown", async (_name, failure) => {
    const time = clock();
    const key = await makeKey();
    const endpoint = jwksEndpoint([key.jwk]);
    endpoint.failure = failure;
    const verifier = verifierFor(endpoint, time, { fetchTimeoutMs: 5 });
    const token = await sign(key, time);
    expect(await verifier.verify(token)).toEqual({ ok: false, code: "jwks-unavailable" });
    expect(endpoint.signals[0]).toBeInstanceOf(AbortSignal);

    for (let i = 0; i < 50; i++) expect(await verifier.verify(token)).toEqual({ ok: false, code: "jwks-unavailable" });
    expect(endpoint.fetches).toBe(1);

    // The endpoint recovers: the next request after the cooldown fetches again and succeeds.
    endpoint.failure = null;
    time.advanceSeconds(COOLDOWN_SECONDS);
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(endpoint.fetches).toBe(2);
  });

  it.each(failures)("%s on refresh: the stale keys keep working", async (_name, failure) => {
    const time = clock();
    const key = await makeKey();
    const endpoint = jwksEndpoint([key.jwk]);
    const verifier = verifierFor(endpoint, time, { fetchTimeoutMs: 5 });
    expect((await verifier.verify(await sign(key, time))).ok).toBe(true);

    endpoint.failure = failure;
    time.advanceSeconds(CACHE_MAX_AGE_SECONDS + 1);
    const token = await sign(key, time);
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(endpoint.fetches).toBe(2);
    // While the endpoint is down, refresh attempts are spaced by the cooldown.
    for (let i = 0; i < 20; i++) expect((await verifier.verify(token)).ok).toBe(true);
    expect(endpoint.fetches).toBe(2);
    time.advanceSeconds(COOLDOWN_SECONDS);
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(endpoint.fetches).toBe(3);
    expect(verifier.stats().cachedKeys).toBe(1);
  });
});

describe("a key set too old to trust fails closed (maxStaleSeconds)", () => {
  /** The default: 24 hours after the last successful fetch. */
  const MAX_STALE_SECONDS = 86_400;
  const down = async () => new Response("unavailable", { status: 503 });

  it("blocking the JWKS keeps the keys for 24 h, then every verify answers jwks-unavailable until a fetch succeeds", async () => {
    const time = clock();
    const key = await makeKey();
    const endpoint = jwksEndpoint([key.jwk]);
    const verifier = verifierFor(endpoint, time);
    expect((await verifier.verify(await sign(key, time))).ok).toBe(true);
    expect(endpoint.fetches).toBe(1);

    // From now on every fetch fails (an attacker blocking the endpoint, or an outage).
    endpoint.failure = down;
    time.advanceSeconds(MAX_STALE_SECONDS);
    // Exactly maxStale after the last success: still served, after one failed refetch.
    expect((await verifier.verify(await sign(key, time))).ok).toBe(true);
    expect(endpoint.fetches).toBe(2);

    time.advanceSeconds(1);
    const token = await sign(key, time);
    // Inside the cooldown of the failed refetch: refused without a fetch.
    expect(await verifier.verify(token)).toEqual({ ok: false, code: "jwks-unavailable" });
    expect(endpoint.fetches).toBe(2);

    // A flood of 1,000 verifies over 100 s costs one fetch per 30 s cooldown. The last
    // fetch started at maxStale, 1 s before the flood: fetches at +30, +60 and +90 s.
    for (let i = 0; i < 1000; i++) {
      expect(await verifier.verify(token)).toEqual({ ok: false, code: "jwks-unavailable" });
      time.advanceSeconds(100 / 1000);
    }
    expect(endpoint.fetches).toBe(2 + 3);

    // The endpoint recovers: the first verify after the cooldown refetches and passes.
    endpoint.failure = null;
    time.advanceSeconds(COOLDOWN_SECONDS);
    expect((await verifier.verify(token)).ok).toBe(true);
    expect(endpoint.fetches).toBe(6);
    for (let i = 0; i < 20; i++) expect((await verifier.verify(token)).ok).toBe(true);
    expect(endpoint.fetches).toBe(6);
  });

  it("1,000 concurrent verifies on a too-old key set share a single refetch per cooldown", async () => {
    const time = clock();
    const key = await makeKey();
    const endpoint = jwksEndpoint([key.jwk]);
    const verifier = verifierFor(endpoint, time);
    expect((await verifier.verify(await sign(key, time))).ok).toBe(true);

    endpoint.failure = down;
    time.advanceSeconds(MAX_STALE_SECONDS + 1);
    const token = await sign(key, time);
    const refused = await Promise.all(Array.from({ length: 1000 }, () => verifier.verify(token)));
    expect(refused.every((result) => !result.ok && result.code === "jwks-unavailable")).toBe(true);
    expect(endpoint.fetches).toBe(2);

    // Recovered: those arriving while the refetch is in flight wait for it and pass.
    endpoint.failure = null;
    time.advanceSeconds(COOLDOWN_SECONDS);
    const passed = await Promise.all(Array.from({ length: 1000 }, () => verifier.verify(token)));
    expect(passed.every((result) => result.ok)).toBe(true);
    expect(endpoint.fetches).toBe(3);
  });

  it("a key revoked while the JWKS was blocked stops verifying after maxStaleSeconds, not never", async () => {
    const time = clock();
    const [revoked, kept] = [await makeKey(), await makeKey()];
    const endpoint = jwksEndpoint([kept.jwk, revoked.jwk]);
    const verifier = verifierFor(endpoint, time, { cacheMaxAgeSeconds: 60, maxStaleSeconds: 300, cooldownSeconds: 10 });
    expect((await verifier.verify(await sign(revoked, time))).ok).toBe(true);

    // The issuer drops the key, but the verifier cannot see it: its fetches fail.
    endpoint.keys = [kept.jwk];
    endpoint.failure = down;
    time.advanceSeconds(300);
    expect((await verifier.verify(await sign(revoked, time))).ok).toBe(true);
    time.advanceSeconds(1);
    expect(await verifier.verify(await sign(revoked, time))).toEqual({ ok: false, code: "jwks-unavailable" });
    expect(await verifier.verify(await sign(kept, time))).toEqual({ ok: false, code: "jwks-unavailable" });

    // Once the fetch goes through, the revocation is seen and the kept key works again.
    endpoint.failure = null;
    time.advanceSeconds(10);
    expect((await verifier.verify(await sign(kept, time))).ok).toBe(true);
    expect(await verifier.verify(await sign(revoked, time))).toEqual({ ok: false, code: "unknown-key" });
  });

  it("a frozen global clock (vi.setSystemTime) is honoured when no clock is injected", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(START_MS);
      const key = await makeKey();
      const endpoint = jwksEndpoint([key.jwk]);
      const verifier = createVerifier({ issuer: ISSUER, fetch: endpoint.fetch });
      const signAtNow = () => sign(key, { now: () => Date.now(), advanceSeconds: () => {} });
      expect((await verifier.verify(await signAtNow())).ok).toBe(true);
      endpoint.failure = down;
      vi.setSystemTime(START_MS + MAX_STALE_SECONDS * 1000);
      expect((await verifier.verify(await signAtNow())).ok).toBe(true);
      vi.setSystemTime(START_MS + (MAX_STALE_SECONDS + 1) * 1000);
      expect(await verifier.verify(await signAtNow())).toEqual({ ok: false, code: "jwks-unavailable" });
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([
    ["maxStaleSeconds below cacheMaxAgeSeconds", { cacheMaxAgeSeconds: 600, maxStaleSeconds: 599 }],
    ["a cacheMaxAgeSeconds above the 24 h default of maxStaleSeconds", { cacheMaxAgeSeconds: 86_401 }],
    ["maxStaleSeconds NaN", { maxStaleSeconds: Number.NaN }],
  ])("%s is misuse: createVerifier throws a RangeError", (_name, options) => {
    expect(() => createVerifier({ issuer: ISSUER, ...options })).toThrow(RangeError);
  });
});

describe("the JWKS body is read with a 64 KiB cap while it streams", () => {
  const MAX_JWKS_BYTES = 64 * 1024;
  const CHUNK_BYTES = 4096;
  const encoder = new TextEncoder();

  /**
   * A 16 MiB JSON-looking body (or one that stalls after its opening); counts the bytes
   * the verifier pulls and whether it cancels. Finite, so that a verifier that buffers
   * everything fails the byte count instead of hanging the suite.
   */
  function hugeBody(stall = false) {
    const totalBytes = 16 * 1024 * 1024;
    const counter = { pulled: 0, cancelled: false };
    let first = true;
    const chunk = encoder.encode("x".repeat(CHUNK_BYTES));
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (first) {
          first = false;
          const opening = encoder.encode('{"keys":[],"padding":"');
          counter.pulled += opening.byteLength;
          controller.enqueue(opening);
          return;
        }
        if (stall) return new Promise<void>(() => {});
        if (counter.pulled >= totalBytes) return controller.close();
        counter.pulled += chunk.byteLength;
        controller.enqueue(chunk.slice());
      },
      cancel() {
        counter.cancelled = true;
      },
    });
    return { stream, counter };
  }

  /** Verifies a fresh token with a verifier whose JWKS endpoint answers `stream`. */
  async function verifyWithJwksBody(
    stream: ReadableStream<Uint8Array>,
    headers: Record<string, string> = {},
    options: Partial<Parameters<typeof createVerifier>[0]> = {},
  ) {
    const time = clock();
    const key = await makeKey();
    const verifier = createVerifier({
      issuer: ISSUER,
      now: time.now,
      ...options,
      fetch: async () => new Response(stream, { headers: { "content-type": "application/json", ...headers } }),
    });
    return verifier.verify(await sign(key, time));
  }

  it("a 16 MiB body is refused after reading just past the cap, and cancelled", async () => {
    const { stream, counter } = hugeBody();
    expect(await verifyWithJwksBody(stream)).toEqual({ ok: false, code: "jwks-unavailable" });
    expect(counter.cancelled).toBe(true);
    expect(counter.pulled).toBeGreaterThan(MAX_JWKS_BYTES);
    // The cap plus what the stream's queue had buffered ahead: a few chunks, not all of it.
    expect(counter.pulled).toBeLessThanOrEqual(MAX_JWKS_BYTES + 4 * CHUNK_BYTES);
  });

  it("a body declaring a Content-Length over the cap is refused before reading it", async () => {
    const { stream, counter } = hugeBody();
    const result = await verifyWithJwksBody(stream, { "content-length": String(10 * 1024 * 1024) });
    expect(result).toEqual({ ok: false, code: "jwks-unavailable" });
    expect(counter.cancelled).toBe(true);
    // At most what the stream pulls by itself to fill its queue; none of it is read.
    expect(counter.pulled).toBeLessThanOrEqual(CHUNK_BYTES);
  });

  it("a body that stalls mid-stream is abandoned at the fetch timeout", async () => {
    const { stream, counter } = hugeBody(true);
    expect(await verifyWithJwksBody(stream, {}, { fetchTimeoutMs: 20 })).toEqual({ ok: false, code: "jwks-unavailable" });
    expect(counter.cancelled).toBe(true);
  });

  it("a JWKS of exactly 64 KiB is accepted and one byte more is refused", async () => {
    const time = clock();
    const key = await makeKey();
    const documentOf = (bytes: number) => {
      const bare = JSON.stringify({ keys: [key.jwk], padding: "" });
      return JSON.stringify({ keys: [key.jwk], padding: "x".repeat(bytes - bare.length) });
    };
    for (const [bytes, ok] of [
      [MAX_JWKS_BYTES, true],
      [MAX_JWKS_BYTES + 1, false],
    ] as const) {
      const body = documentOf(bytes);
      expect(encoder.encode(body).byteLength).toBe(bytes);
      // Streamed in small chunks and without a Content-Length, so only the streaming cap decides.
      const chunks = Array.from({ length: Math.ceil(bytes / 1000) }, (_, i) => encoder.encode(body.slice(i * 1000, (i + 1) * 1000)));
      const verifier = createVerifier({
        issuer: ISSUER,
        now: time.now,
        fetch: async () => {
          const queue = [...chunks];
          return new Response(
            new ReadableStream<Uint8Array>({
              pull(controller) {
                const next = queue.shift();
                if (next === undefined) controller.close();
                else controller.enqueue(next);
              },
            }),
          );
        },
      });
      const result = await verifier.verify(await sign(key, time));
      expect(result.ok ? true : result.code).toBe(ok ? true : "jwks-unavailable");
    }
  });
});

describe("JWKS validation: only EC P-256 keys meant for ES256 signatures are used", () => {
  async function rsaJwk(kid: string): Promise<JWK> {
    const { publicKey } = await generateKeyPair("RS256", { extractable: true });
    return { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  }

  async function refusedWhenPublishedAs(publish: (key: SigningKey) => JWK | Promise<JWK> | JWK[] | Promise<JWK[]>) {
    const time = clock();
    const [good, key] = [await makeKey(), await makeKey()];
    const published = await publish(key);
    const endpoint = jwksEndpoint([good.jwk, ...(Array.isArray(published) ? published : [published])]);
    const verifier = verifierFor(endpoint, time);
    // The well-formed key in the same set is used, the other is not.
    expect((await verifier.verify(await sign(good, time))).ok).toBe(true);
    expect(await verifier.verify(await sign(key, time))).toEqual({ ok: false, code: "unknown-key" });
    expect(verifier.stats().cachedKeys).toBe(1);
  }

  it.each([
    ['use "enc"', (key: SigningKey) => ({ ...key.jwk, use: "enc" })],
    ['key_ops ["encrypt"]', (key: SigningKey) => ({ ...key.jwk, use: undefined, key_ops: ["encrypt"] })],
    ['key_ops ["sign"]', (key: SigningKey) => ({ ...key.jwk, key_ops: ["sign"] })],
    ["key_ops empty", (key: SigningKey) => ({ ...key.jwk, key_ops: [] })],
    ['key_ops "verify" as a string', (key: SigningKey) => ({ ...key.jwk, key_ops: "verify" }) as unknown as JWK],
    ['alg "RS256" on an EC key', (key: SigningKey) => ({ ...key.jwk, alg: "RS256" })],
    ['alg "ES384" on a P-256 key', (key: SigningKey) => ({ ...key.jwk, alg: "ES384" })],
    ['crv "P-384" label on a P-256 point', (key: SigningKey) => ({ ...key.jwk, crv: "P-384" })],
    ["kty missing", (key: SigningKey) => ({ ...key.jwk, kty: undefined })],
    ["a private member d", async (key: SigningKey) => ({ ...(await exportJWK(key.privateKey)), kid: key.kid, alg: "ES256", use: "sig" })],
    ["kid missing", (key: SigningKey) => ({ ...key.jwk, kid: undefined })],
    ["a point not on the curve", (key: SigningKey) => ({ ...key.jwk, y: key.jwk.x })],
    ['kty "oct" under the kid', (key: SigningKey) => ({ kty: "oct", k: base64url.encode(new Uint8Array(32)), kid: key.kid, alg: "HS256" })],
    ["RSA under the kid", (key: SigningKey) => rsaJwk(key.kid)],
    ["the kid listed twice, once with another key", async (key: SigningKey) => [key.jwk, { ...(await makeKey()).jwk, kid: key.kid }]],
    ["the kid listed twice, identically", (key: SigningKey) => [key.jwk, key.jwk]],
  ])("a key with %s is not used", async (_name, publish) => {
    await refusedWhenPublishedAs(publish as (key: SigningKey) => JWK | Promise<JWK> | JWK[] | Promise<JWK[]>);
  });

  it('a key without use and alg, or with key_ops ["verify"], is used', async () => {
    const time = clock();
    const [bare, withOps] = [await makeKey(), await makeKey()];
    const endpoint = jwksEndpoint([
      { kty: "EC", crv: "P-256", x: bare.jwk.x, y: bare.jwk.y, kid: bare.kid },
      { ...withOps.jwk, key_ops: ["verify"] },
    ]);
    const verifier = verifierFor(endpoint, time);
    expect((await verifier.verify(await sign(bare, time))).ok).toBe(true);
    expect((await verifier.verify(await sign(withOps, time))).ok).toBe(true);
  });

  it("an HS256 token under the kid of an oct key in the JWKS is refused for its algorithm", async () => {
    const time = clock();
    const secret = new Uint8Array(32);
    const endpoint = jwksEndpoint([{ kty: "oct", k: base64url.encode(secret), kid: "shared", alg: "HS256" }]);
    const verifier = verifierFor(endpoint, time);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: "shared" })
      .setSubject("user-1")
      .setIssuer(ISSUER)
      .setIssuedAt(Math.floor(time.now() / 1000))
      .setExpirationTime(Math.floor(time.now() / 1000) + 900)
      .sign(secret);
    expect(await verifier.verify(token)).toEqual({ ok: false, code: "unsupported-algorithm" });
  });
});

describe("Hono middleware requireAccessToken", () => {
  async function appFixture(options: { onUnauthorized?: (code: string) => Response } = {}) {
    const time = clock();
    const key = await makeKey();
    const endpoint = jwksEndpoint([key.jwk]);
    const verifier = verifierFor(endpoint, time);
    let handled = 0;
    const app = new Hono<{ Variables: EdgeauthVariables }>();
    app.use("/api/*", requireAccessToken(options.onUnauthorized ? { verifier, onUnauthorized: options.onUnauthorized } : { verifier }));
    app.get("/api/me", (c) => {
      handled++;
      return c.json({ sub: c.var.claims.sub, sid: c.var.claims.sid });
    });
    app.get("/public", (c) => c.text("hello"));
    return { app, key, time, handled: () => handled };
  }

  it("passes a valid bearer token and exposes its claims", async () => {
    const { app, key, time } = await appFixture();
    const response = await app.request("/api/me", { headers: { authorization: `Bearer ${await sign(key, time)}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ sub: "user-1", sid: "session-1" });
  });

  it("accepts the scheme in any case (RFC 6750 §2.1, RFC 9110 §11.1)", async () => {
    const { app, key, time } = await appFixture();
    const response = await app.request("/api/me", { headers: { authorization: `bearer ${await sign(key, time)}` } });
    expect(response.status).toBe(200);
  });

  it.each([
    ["no Authorization header", undefined],
    ["a Basic credential", "Basic dXNlcjpwYXNz"],
    ["an empty bearer", "Bearer "],
    ["two tokens", "Bearer a.b.c d.e.f"],
    ["a token without the scheme", "a.b.c"],
  ])("refuses %s with 401 missing-token and never runs the handler", async (_name, authorization) => {
    const { app, handled } = await appFixture();
    const response = await app.request("/api/me", authorization === undefined ? {} : { headers: { authorization } });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect(await response.json()).toEqual({
      status: 401,
      error: "unauthenticated-user",
      message: "Access token refused: missing-token",
    });
    expect(handled()).toBe(0);
  });

  it("refuses a forged, an expired and a malformed token with the verifier's code", async () => {
    const { app, key, time, handled } = await appFixture();
    const attacker = await makeKey();
    const forged = await sign({ privateKey: attacker.privateKey, kid: key.kid }, time);
    const valid = await sign(key, time);
    const cases: [string, string][] = [
      [forged, "invalid-signature"],
      ["not.a.token", "malformed"],
    ];
    for (const [token, code] of cases) {
      const response = await app.request("/api/me", { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ message: `Access token refused: ${code}` });
    }
    time.advanceSeconds(900 + 31);
    const expired = await app.request("/api/me", { headers: { authorization: `Bearer ${valid}` } });
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ message: "Access token refused: expired" });
    expect(handled()).toBe(0);
  });

  it("builds the refusal with onUnauthorized when given", async () => {
    const codes: string[] = [];
    const { app } = await appFixture({
      onUnauthorized: (code) => {
        codes.push(code);
        return new Response("go away", { status: 401 });
      },
    });
    expect((await app.request("/api/me")).status).toBe(401);
    expect((await app.request("/api/me", { headers: { authorization: "Bearer x.y.z" } })).status).toBe(401);
    expect(codes).toEqual(["missing-token", "malformed"]);
  });

  it("leaves routes outside its path alone", async () => {
    const { app } = await appFixture();
    const response = await app.request("/public");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("hello");
  });
});

describe("header checks, kept per distinct header (the steady-state fast path)", () => {
  it("a header seen before is judged as it was, and the checks that do not depend on it still run", async () => {
    const key = await makeKey();
    const endpoint = jwksEndpoint([key.jwk]);
    const time = clock();
    const verifier = verifierFor(endpoint, time);
    const token = await sign(key, time);
    expect((await verifier.verify(token)).ok).toBe(true);
    // Same header (cached), signature cut short: refused as malformed, not by the header's verdict.
    expect(await verifier.verify(token.slice(0, -2))).toEqual({ ok: false, code: "malformed" });
    // Same header, another payload: the signature still fails.
    const [header, , signature] = token.split(".");
    const otherPayload = base64url.encode(JSON.stringify({ sub: "someone-else", iss: ISSUER, iat: 1, exp: 2 ** 31 }));
    expect(await verifier.verify(`${header}.${otherPayload}.${signature}`)).toEqual({ ok: false, code: "invalid-signature" });
    // A refused header answers the same code the second time.
    const noneHeader = base64url.encode(JSON.stringify({ alg: "none", typ: "JWT", kid: key.kid }));
    const forged = `${noneHeader}.${token.split(".")[1]}.${signature}`;
    expect(await verifier.verify(forged)).toEqual({ ok: false, code: "unsupported-algorithm" });
    expect(await verifier.verify(forged)).toEqual({ ok: false, code: "unsupported-algorithm" });
    expect(endpoint.fetches).toBe(1);
  });

  it("more distinct headers than the cache holds change no answer", async () => {
    const key = await makeKey();
    const endpoint = jwksEndpoint([key.jwk]);
    const time = clock();
    const verifier = verifierFor(endpoint, time);
    const token = await sign(key, time);
    for (let i = 0; i < 100; i++) {
      const header = base64url.encode(JSON.stringify({ alg: "ES256", typ: i % 2 === 0 ? "JWT" : `other-${i}`, kid: `${key.kid}-${i}` }));
      const [, payload, signature] = token.split(".");
      const result = await verifier.verify(`${header}.${payload}.${signature}`);
      expect(result).toEqual({ ok: false, code: i % 2 === 0 ? "unknown-key" : "invalid-type" });
      expect((await verifier.verify(token)).ok).toBe(true);
    }
    // The unknown kids came within the cooldown of the first fetch: none caused another.
    expect(endpoint.fetches).toBe(1);
  });
});
