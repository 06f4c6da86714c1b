/**
 * The access-token verifier (design §5). Runs anywhere with `fetch` and WebCrypto:
 * Workers, Node 20+, Deno, Bun and browsers.
 */
import { errors as joseErrors, importJWK, jwtVerify, type CryptoKey as JoseCryptoKey } from "jose";
import { readCappedBytes } from "./capped-body.js";
import type { AccessTokenClaims } from "./claims.js";

/**
 * Why a token was refused. A closed set: a new code is a breaking change, so a
 * `switch` over it can be exhaustive.
 *
 * @example
 * ```ts
 * function statusFor(code: VerifyErrorCode): 401 | 503 {
 *   switch (code) {
 *     case "jwks-unavailable":
 *       return 503; // the issuer's keys cannot be fetched: not the caller's fault
 *     default:
 *       return 401;
 *   }
 * }
 * ```
 */
export type VerifyErrorCode =
  /** Not a compact JWS of the expected shape, or a header/claim of the wrong type. */
  | "malformed"
  /** `alg` is anything but ES256 (`none`, HS256, RS256, ...). */
  | "unsupported-algorithm"
  /** The header asks for something we refuse: `crit`, or a key or key URL (`jwk`, `jku`, `x5u`, `x5c`, `x5t`). */
  | "unsupported-header"
  /** `typ` is not `JWT`. */
  | "invalid-type"
  /** No key with this `kid` in the JWKS, after one refetch (none within the cooldown). */
  | "unknown-key"
  /** The signature does not match the key its `kid` names. */
  | "invalid-signature"
  /** `exp` has passed (beyond the clock tolerance). */
  | "expired"
  /** `nbf` is still ahead (beyond the clock tolerance). */
  | "not-yet-valid"
  /** `iss` is not the verifier's `issuer`. */
  | "invalid-issuer"
  /** `aud` does not contain the verifier's `audience`. */
  | "invalid-audience"
  /** A required claim is missing or has the wrong type, or `iat` is in the future. */
  | "invalid-claims"
  /**
   * The JWKS could not be fetched and no usable keys are cached: none were ever
   * fetched, or the last successful fetch is older than `maxStaleSeconds`.
   */
  | "jwks-unavailable";

/**
 * What {@link Verifier.verify} resolves to. Expected failures are values, not
 * exceptions: `verify` never throws for a bad token.
 *
 * @example
 * ```ts
 * const result: VerifyResult = await verifier.verify(token);
 * if (result.ok) console.log(result.claims.sub);
 * else console.log("refused:", result.code);
 * ```
 */
export type VerifyResult<Claims = AccessTokenClaims> =
  | { ok: true; claims: Claims }
  | { ok: false; code: VerifyErrorCode };

/**
 * Options of {@link createVerifier}. Only `issuer` is required.
 *
 * @example
 * ```ts
 * const options: VerifierOptions = {
 *   issuer: "https://auth.example.com",
 *   audience: "https://api.example.com",
 *   cacheMaxAgeSeconds: 300,
 * };
 * const verifier = createVerifier(options);
 * ```
 */
export interface VerifierOptions {
  /** Exact expected `iss`, e.g. `https://auth.example.com` (or `.../realms/<realm>`). */
  issuer: string;
  /** Expected `aud`, when the issuer sets one. */
  audience?: string;
  /** Defaults to `<issuer>/.well-known/jwks.json`. */
  jwksUrl?: string;
  /** Defaults to the global `fetch`. */
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** Leeway for `exp`, `nbf` and `iat`. Default 30. */
  clockToleranceSeconds?: number;
  /** How long a fetched JWKS is trusted before it is refetched. Default 600. */
  cacheMaxAgeSeconds?: number;
  /**
   * How long after the last successful JWKS fetch its keys may still be used while
   * refetches fail; past it every verify answers `jwks-unavailable` until a fetch
   * succeeds again. At least `cacheMaxAgeSeconds`. Default 86400 (24 hours).
   */
  maxStaleSeconds?: number;
  /** Minimum time between two refetches (unknown `kid`s, or retries while the JWKS is down). Default 30. */
  cooldownSeconds?: number;
  /** Abort a JWKS fetch after this long. Default 5000. */
  fetchTimeoutMs?: number;
  /** Tokens longer than this are refused before any parsing. Default 8192. */
  maxTokenLength?: number;
  /** Clock in epoch milliseconds; for tests. Default `Date.now`. */
  now?: () => number;
}

/**
 * A verifier for one issuer, from {@link createVerifier}.
 *
 * @example
 * ```ts
 * const verifier: Verifier = createVerifier({ issuer: "https://auth.example.com" });
 * const result = await verifier.verify(token);
 * console.log(verifier.stats()); // { jwksFetches: 1, cachedKeys: 2 }
 * ```
 */
export interface Verifier<Claims = AccessTokenClaims> {
  /** Checks a compact JWS access token; never throws for a bad token. */
  verify(token: string): Promise<VerifyResult<Claims>>;
  /** Counters for monitoring and tests: JWKS fetches started so far, keys cached now. */
  stats(): { jwksFetches: number; cachedKeys: number };
}

const DEFAULT_CLOCK_TOLERANCE_SECONDS = 30;
const DEFAULT_CACHE_MAX_AGE_SECONDS = 600;
/**
 * A failing JWKS endpoint must not take every backend down with it at once, nor let a
 * key that was revoked (removed from the JWKS) stay valid for as long as an attacker
 * can block the fetch. 24 hours rides out an outage of the auth service that someone
 * is paged for, and still bounds the life of a revoked key to a day.
 */
const DEFAULT_MAX_STALE_SECONDS = 24 * 60 * 60;
const DEFAULT_COOLDOWN_SECONDS = 30;
const DEFAULT_FETCH_TIMEOUT_MS = 5000;
const DEFAULT_MAX_TOKEN_LENGTH = 8192;
const MAX_JWKS_BYTES = 64 * 1024;
const MAX_JWKS_KEYS = 32;
const MAX_KID_LENGTH = 256;
/** An ES256 signature is exactly 64 bytes R‖S (RFC 7518 §3.4): 86 base64url characters. */
const ES256_SIGNATURE_LENGTH = 86;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/**
 * Decoded headers kept per verifier. An issuer's tokens carry one header per signing
 * key (alg, typ, kid), so a few entries make header checks a lookup in steady state;
 * a flood of made-up headers only empties the cache each time it fills.
 */
const HEADER_CACHE_SIZE = 16;
const FORBIDDEN_HEADERS = ["crit", "jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"];

interface CachedKey {
  x: string;
  y: string;
  key: JoseCryptoKey;
}

class VerifyFailure extends Error {
  constructor(readonly code: VerifyErrorCode) {
    super(code);
  }
}

/**
 * What a token's encoded header says, checked once per distinct header: `alg` is
 * ES256 (else `failure` is why not), and then the first other failure, if any.
 */
interface HeaderVerdict {
  algorithmOk: boolean;
  failure: VerifyErrorCode | null;
  kid: string;
}

function checkHeader(encodedHeader: string): HeaderVerdict {
  let header: Record<string, unknown>;
  try {
    header = decodeJsonObject(encodedHeader);
  } catch {
    return { algorithmOk: false, failure: "malformed", kid: "" };
  }
  if (header.alg !== "ES256") return { algorithmOk: false, failure: "unsupported-algorithm", kid: "" };
  if (FORBIDDEN_HEADERS.some((name) => name in header)) return { algorithmOk: true, failure: "unsupported-header", kid: "" };
  if (header.typ !== "JWT") return { algorithmOk: true, failure: "invalid-type", kid: "" };
  const kid = header.kid;
  if (typeof kid !== "string" || kid.length === 0 || kid.length > MAX_KID_LENGTH) return { algorithmOk: true, failure: "malformed", kid: "" };
  return { algorithmOk: true, failure: null, kid };
}

/**
 * Creates a verifier for one issuer. Create it once (module scope) and reuse it:
 * it caches the JWKS and the imported keys.
 *
 * @example
 * ```ts
 * import { createVerifier } from "@edgeauth/client";
 *
 * const verifier = createVerifier({ issuer: "https://auth.example.com" });
 * const result = await verifier.verify(token);
 * if (result.ok) console.log(result.claims.sub);
 * else console.log("refused:", result.code);
 * ```
 */
export function createVerifier<Claims = AccessTokenClaims>(options: VerifierOptions): Verifier<Claims> {
  const issuer = options.issuer;
  const jwksUrl = options.jwksUrl ?? `${issuer.replace(/\/+$/, "")}/.well-known/jwks.json`;
  const fetchJwks = options.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init));
  // Read through a closure so that a faked global clock (tests) is honoured.
  const now = options.now ?? (() => Date.now());
  const clockTolerance = options.clockToleranceSeconds ?? DEFAULT_CLOCK_TOLERANCE_SECONDS;
  const cacheMaxAgeMs = (options.cacheMaxAgeSeconds ?? DEFAULT_CACHE_MAX_AGE_SECONDS) * 1000;
  const maxStaleMs = (options.maxStaleSeconds ?? DEFAULT_MAX_STALE_SECONDS) * 1000;
  // Misuse, so an exception: keys that expire before they are due for a refetch
  // would fail every verify between the two ages. `!(>=)` also refuses NaN.
  if (!(maxStaleMs >= cacheMaxAgeMs)) {
    throw new RangeError("createVerifier: maxStaleSeconds must be a number at least cacheMaxAgeSeconds");
  }
  const cooldownMs = (options.cooldownSeconds ?? DEFAULT_COOLDOWN_SECONDS) * 1000;
  const fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const maxTokenLength = options.maxTokenLength ?? DEFAULT_MAX_TOKEN_LENGTH;

  let keys = new Map<string, CachedKey>();
  let fetchedAt: number | null = null;
  let lastFetchStartedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | null = null;
  let jwksFetches = 0;

  async function loadJwks(): Promise<void> {
    jwksFetches++;
    lastFetchStartedAt = now();
    // One deadline for the headers and the body: a trickling body cannot hold the fetch open.
    const signal = AbortSignal.timeout(fetchTimeoutMs);
    const response = await fetchJwks(jwksUrl, { headers: { accept: "application/json" }, signal });
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new Error(`JWKS fetch answered ${response.status}`);
    }
    const bytes = await readCappedBytes(response.body, response.headers.get("content-length"), MAX_JWKS_BYTES, signal);
    if (bytes === null) throw new Error("JWKS document is too large");
    const text = new TextDecoder().decode(bytes);
    keys = await importKeySet(JSON.parse(text), keys);
    fetchedAt = now();
  }

  /** Starts a fetch or joins the one in flight; never throws. */
  function refresh(): Promise<void> {
    inFlight ??= loadJwks()
      .catch(() => {
        // Keep the keys we had: a brief JWKS outage must not revoke valid keys. They
        // stay usable until `maxStaleSeconds` after the last successful fetch.
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  }

  /** The key for `kid` when nothing needs fetching first: the steady state, answered without a wait. */
  function cachedKey(kid: string): JoseCryptoKey | undefined {
    if (fetchedAt === null || now() - fetchedAt > cacheMaxAgeMs) return undefined;
    return keys.get(kid)?.key;
  }

  async function keyFor(kid: string): Promise<JoseCryptoKey> {
    const canFetch = () => inFlight !== null || now() - lastFetchStartedAt >= cooldownMs;
    // Cold start or stale set: every caller waits on the same fetch. A failed fetch
    // is retried after the cooldown, so a JWKS outage costs one fetch per cooldown,
    // not one per request.
    const stale = fetchedAt === null || now() - fetchedAt > cacheMaxAgeMs;
    if (stale && canFetch()) await refresh();
    // Fail closed: keys nobody has confirmed for `maxStaleSeconds` may have been revoked
    // meanwhile, and blocking the JWKS fetch must not keep a revoked key alive.
    if (fetchedAt === null || now() - fetchedAt > maxStaleMs) throw new VerifyFailure("jwks-unavailable");
    let cached = keys.get(kid);
    // An unknown kid is what a rotation looks like: one refetch, at most one per cooldown.
    if (cached === undefined && canFetch()) {
      await refresh();
      cached = keys.get(kid);
    }
    if (cached === undefined) throw new VerifyFailure("unknown-key");
    return cached.key;
  }

  const headerVerdicts = new Map<string, HeaderVerdict>();
  function headerVerdictOf(encodedHeader: string): HeaderVerdict {
    let verdict = headerVerdicts.get(encodedHeader);
    if (verdict === undefined) {
      verdict = checkHeader(encodedHeader);
      if (headerVerdicts.size >= HEADER_CACHE_SIZE) headerVerdicts.clear();
      headerVerdicts.set(encodedHeader, verdict);
    }
    return verdict;
  }

  // Built once: only the clock changes between verifies, and without an injected
  // clock jose reads the same Date.now() itself.
  const joseOptions = {
    algorithms: ["ES256"],
    issuer,
    ...(options.audience === undefined ? {} : { audience: options.audience }),
    clockTolerance,
    typ: "JWT",
    requiredClaims: ["sub", "iat", "exp"],
  };
  const joseOptionsAt = (currentMs: number) => (options.now === undefined ? joseOptions : { ...joseOptions, currentDate: new Date(currentMs) });

  function refused(code: VerifyErrorCode): VerifyResult<Claims> {
    return { ok: false, code };
  }

  /** The signature and claims, under a key already chosen. One promise, no extra turns of the event loop. */
  function verifyWith(token: string, key: JoseCryptoKey): Promise<VerifyResult<Claims>> {
    const currentMs = now();
    return jwtVerify(token, key, joseOptionsAt(currentMs)).then(
      ({ payload }): VerifyResult<Claims> => {
        if (typeof payload.sub !== "string" || payload.sub.length === 0) return refused("invalid-claims");
        if (typeof payload.iat !== "number" || payload.iat > currentMs / 1000 + clockTolerance) return refused("invalid-claims");
        return { ok: true, claims: payload as Claims };
      },
      (error: unknown) => refused(codeForJoseError(error)),
    );
  }

  function verifyToken(token: unknown): Promise<VerifyResult<Claims>> | VerifyResult<Claims> {
    if (typeof token !== "string" || token.length > maxTokenLength || !COMPACT_JWS.test(token)) return refused("malformed");
    const headerEnd = token.indexOf(".");
    const verdict = headerVerdictOf(token.slice(0, headerEnd));
    if (!verdict.algorithmOk) return refused(verdict.failure!);
    // Checked after `alg`, so that an HS256 token (32-byte MAC) reports its algorithm.
    if (token.length - token.lastIndexOf(".") - 1 !== ES256_SIGNATURE_LENGTH) return refused("malformed");
    if (verdict.failure !== null) return refused(verdict.failure);

    const key = cachedKey(verdict.kid);
    if (key !== undefined) return verifyWith(token, key);
    return keyFor(verdict.kid).then(
      (fetched) => verifyWith(token, fetched),
      (error: unknown) => refused(error instanceof VerifyFailure ? error.code : "malformed"),
    );
  }

  return {
    // Not `async`: on the steady-state path the answer is jose's own promise, with
    // no further turns of the event loop (the bench compares with jose alone).
    verify(token) {
      try {
        const result = verifyToken(token);
        return result instanceof Promise ? result : Promise.resolve(result);
      } catch {
        // Nothing above throws for a bad token, nor rejects; this keeps `verify` from ever doing so.
        return Promise.resolve(refused("malformed"));
      }
    },
    stats() {
      return { jwksFetches, cachedKeys: keys.size };
    },
  };
}

function decodeJsonObject(segment: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    const binary = atob(segment.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw new VerifyFailure("malformed");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new VerifyFailure("malformed");
  return parsed as Record<string, unknown>;
}

function codeForJoseError(error: unknown): VerifyErrorCode {
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "invalid-signature";
  if (error instanceof joseErrors.JWTExpired) return "expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "nbf":
        return "not-yet-valid";
      case "iss":
        return "invalid-issuer";
      case "aud":
        return "invalid-audience";
      case "typ":
        return "invalid-type";
      default:
        return "invalid-claims";
    }
  }
  return "malformed";
}

/**
 * Validates a JWKS document and imports its keys. Only EC P-256 public keys meant
 * for ES256 signatures are kept (honouring `use` and `key_ops`); a key carrying a
 * private member, and every key whose `kid` appears twice, is dropped.
 */
async function importKeySet(document: unknown, previous: Map<string, CachedKey>): Promise<Map<string, CachedKey>> {
  if (typeof document !== "object" || document === null || !Array.isArray((document as { keys?: unknown }).keys)) {
    throw new Error("JWKS document has no keys array");
  }
  const candidates = ((document as { keys: unknown[] }).keys).slice(0, MAX_JWKS_KEYS);
  const kidCounts = new Map<string, number>();
  for (const jwk of candidates) {
    const kid = (jwk as { kid?: unknown } | null)?.kid;
    if (typeof kid === "string") kidCounts.set(kid, (kidCounts.get(kid) ?? 0) + 1);
  }
  const imported = new Map<string, CachedKey>();
  for (const candidate of candidates) {
    if (typeof candidate !== "object" || candidate === null) continue;
    const jwk = candidate as Record<string, unknown>;
    const { kid, x, y } = jwk;
    if (typeof kid !== "string" || kidCounts.get(kid) !== 1) continue;
    if (jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof x !== "string" || typeof y !== "string") continue;
    if ("d" in jwk) continue;
    if (jwk.alg !== undefined && jwk.alg !== "ES256") continue;
    if (jwk.use !== undefined && jwk.use !== "sig") continue;
    if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes("verify"))) continue;
    const known = previous.get(kid);
    if (known !== undefined && known.x === x && known.y === y) {
      imported.set(kid, known);
      continue;
    }
    try {
      const key = (await importJWK({ kty: "EC", crv: "P-256", x, y }, "ES256")) as JoseCryptoKey;
      imported.set(kid, { x, y, key });
    } catch {
      // Not a point on the curve, or not decodable: skip the key, keep the rest.
    }
  }
  return imported;
}
