/**
 * A realm's signing keys as the Worker sees them (design §2, §4, §5): the
 * isolate's lease on the current key, the server's own verifier, the JWKS
 * answer, and the operator's rotate and revoke.
 *
 * An isolate holds three copies of what the realm's KeyStore knows (the lease,
 * the verifier's key set, the JWKS body) and its location a fourth (the edge
 * cache entry). Each expires on its own schedule; this module is the one place
 * that drops them all early, when this isolate rotated or revoked a key.
 */
import { createVerifier, type Verifier } from "@edgeauth/client";
import { importJWK, type CryptoKey as JoseCryptoKey } from "jose";
import type { AppContext, RequestContext } from "../context";
import { sha256Hex } from "../lib/crypto";
import { keyPolicyFor, type KeyPolicy } from "./key-policy";
import type { KeyDescription, KeyStore, KeyStoreStats } from "./key-store";

/** The realm's current key, ready to sign with. */
export interface SigningKey {
  kid: string;
  key: JoseCryptoKey;
}

/** What the Worker does with a realm's keys. */
export interface RealmKeys {
  /** The current key from this isolate's lease; a KeyStore call only when the lease ran out. */
  signingKey(): Promise<SigningKey>;
  /** The server's verifier for the realm's access tokens, fed by the KeyStore, not over HTTP. */
  verifier(): Verifier;
  /** `GET /.well-known/jwks.json`: from the isolate copy or the edge cache, the KeyStore on a miss. */
  jwksResponse(c: AppContext): Promise<Response>;
  /** Every key in the ring, public parts only. */
  list(): Promise<KeyDescription[]>;
  /** The KeyStore's call counters. */
  stats(): Promise<KeyStoreStats>;
  /**
   * Rotates now, then drops this isolate's and location's copies. `requestUrl`
   * is the request's: the edge cache entry is keyed by its origin.
   */
  rotate(requestUrl: string): Promise<KeyDescription[]>;
  /** Revokes `kid` (false when unknown), then drops the copies as `rotate` does. */
  revoke(kid: string, requestUrl: string): Promise<boolean>;
  /** Wipes the realm's KeyStore and this isolate's copies: the realm was deleted. */
  deleteAll(): Promise<void>;
}

interface Lease extends SigningKey {
  expiresAt: number;
}

interface JwksCopy {
  body: string;
  etag: string;
  expiresAt: number;
}

// Isolate memory, per realm. Verifiers are also per bindings object, because
// their issuer and audience come from the settings those bindings carry.
const leases = new Map<string, Lease>();
const pendingLeases = new Map<string, Promise<Lease>>();
const verifiersByEnv = new WeakMap<Env, Map<string, Verifier>>();
const jwksCopies = new Map<string, JwksCopy>();

const GENERATED_AT_HEADER = "x-edgeauth-generated-at";

/**
 * The keys of the request's realm, under the realm's settings.
 *
 * @example
 * const { kid, key } = await realmKeys(context).signingKey();
 * const result = await realmKeys(context).verifier().verify(token);
 */
export function realmKeys(context: Pick<RequestContext, "env" | "config" | "realm">): RealmKeys {
  const { env, config, realm } = context;
  const policy = keyPolicyFor(config);
  const keyStore = (): DurableObjectStub<KeyStore> => env.KEY_STORE.get(env.KEY_STORE.idFromName(realm.id));
  const publicKeys = () => keyStore().publicKeys(policy);
  // Mounted in an application's Worker (library.ts), the JWKS is served under PUBLIC_URL's path.
  const basePath = new URL(config.publicUrl).pathname.replace(/\/+$/, "");

  return {
    signingKey: () => signingKeyFor(realm.id, keyStore, policy),

    verifier() {
      let byRealm = verifiersByEnv.get(env);
      if (byRealm === undefined) {
        byRealm = new Map();
        verifiersByEnv.set(env, byRealm);
      }
      let verifier = byRealm.get(realm.id);
      if (verifier === undefined) {
        verifier = createVerifier({
          issuer: realm.issuer,
          ...(config.jwtAudience === null ? {} : { audience: config.jwtAudience }),
          // No network hop. A rotation or revocation elsewhere reaches this cache
          // within one JWKS max-age; one here drops it at once.
          fetch: async () => Response.json(await publicKeys()),
          cacheMaxAgeSeconds: config.jwksMaxAgeSeconds,
        });
        byRealm.set(realm.id, verifier);
      }
      return verifier;
    },

    jwksResponse: (c) => serveJwks(c, realm.id, basePath, config.jwksMaxAgeSeconds, publicKeys),

    list: () => keyStore().listKeys(policy),
    stats: () => keyStore().stats(),

    async rotate(requestUrl) {
      const keys = await keyStore().rotate(policy);
      await dropCopies(env, realm.id, basePath, requestUrl);
      return keys;
    },

    async revoke(kid, requestUrl) {
      if (!(await keyStore().revoke(kid, policy))) return false;
      await dropCopies(env, realm.id, basePath, requestUrl);
      return true;
    },

    async deleteAll() {
      await keyStore().deleteAll();
      // The edge cache entry is keyed by a request's origin, unknown here; the
      // realm's routes answer 404 before reaching it, and it expires in one max-age.
      leases.delete(realm.id);
      verifiersByEnv.get(env)?.delete(realm.id);
      jwksCopies.delete(realm.id);
    },
  };
}

/**
 * After this isolate changed the ring, it and its location stop serving stale
 * copies at once. Other isolates' copies expire on their own: a lease within
 * `SIGNING_KEY_LEASE_SECONDS`, the rest within one JWKS max-age.
 */
async function dropCopies(env: Env, realm: string, basePath: string, requestUrl: string): Promise<void> {
  leases.delete(realm);
  verifiersByEnv.get(env)?.delete(realm);
  jwksCopies.delete(realm);
  await caches.default.delete(jwksCacheKey(requestUrl, basePath, realm));
}

// Keys are held in memory only, for at most the lease the KeyStore granted, so
// issuing a token costs no Durable Object call in steady state (design §2).
async function signingKeyFor(realm: string, keyStore: () => DurableObjectStub<KeyStore>, policy: KeyPolicy): Promise<SigningKey> {
  const lease = leases.get(realm);
  if (lease !== undefined && lease.expiresAt > Date.now()) return lease;
  let pending = pendingLeases.get(realm);
  if (pending === undefined) {
    pending = takeLease(keyStore(), policy)
      .then((fresh) => {
        leases.set(realm, fresh);
        return fresh;
      })
      .finally(() => pendingLeases.delete(realm));
    pendingLeases.set(realm, pending);
  }
  return pending;
}

async function takeLease(keyStore: DurableObjectStub<KeyStore>, policy: KeyPolicy): Promise<Lease> {
  const lease = await keyStore.leaseSigningKey(policy);
  const key = (await importJWK(lease.privateJwk, "ES256")) as JoseCryptoKey;
  return { kid: lease.kid, key, expiresAt: lease.expiresAt };
}

// Both the isolate copy and the edge copy expire when the cached response does,
// so a rotation or revocation elsewhere is visible within one max-age (design §4).
async function serveJwks(
  c: AppContext,
  realm: string,
  basePath: string,
  maxAgeSeconds: number,
  publicKeys: () => Promise<unknown>,
): Promise<Response> {
  const now = Date.now();
  const held = jwksCopies.get(realm);
  if (held !== undefined && held.expiresAt > now) return respond(c, held, maxAgeSeconds);

  const key = jwksCacheKey(c.req.url, basePath, realm);
  const cache = caches.default;
  const hit = await cache.match(key);
  if (hit !== undefined) {
    const generatedAt = Number(hit.headers.get(GENERATED_AT_HEADER));
    const copy = { body: await hit.text(), etag: hit.headers.get("etag") ?? "", expiresAt: generatedAt + maxAgeSeconds * 1000 };
    if (copy.etag !== "" && Number.isFinite(generatedAt) && copy.expiresAt > now) {
      jwksCopies.set(realm, copy);
      return respond(c, copy, maxAgeSeconds);
    }
  }

  const body = JSON.stringify(await publicKeys());
  const copy: JwksCopy = { body, etag: `"${(await sha256Hex(body)).slice(0, 32)}"`, expiresAt: now + maxAgeSeconds * 1000 };
  jwksCopies.set(realm, copy);
  if (maxAgeSeconds > 0) {
    const cached = new Response(body, {
      headers: { ...jwksHeaders(copy.etag, maxAgeSeconds), [GENERATED_AT_HEADER]: String(now) },
    });
    c.executionCtx.waitUntil(cache.put(key, cached));
  }
  return respond(c, copy, maxAgeSeconds);
}

function jwksCacheKey(requestUrl: string, basePath: string, realm: string): Request {
  const url = new URL(`${basePath}/.well-known/jwks.json`, requestUrl);
  url.searchParams.set("realm", realm);
  return new Request(url.toString(), { method: "GET" });
}

function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === "*") return true;
  const bare = etag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((candidate) => candidate.trim().replace(/^W\//, "") === bare);
}

function jwksHeaders(etag: string, maxAgeSeconds: number): Record<string, string> {
  return { "content-type": "application/json", "cache-control": `public, max-age=${maxAgeSeconds}`, etag };
}

function respond(c: AppContext, copy: JwksCopy, maxAgeSeconds: number): Response {
  const headers = jwksHeaders(copy.etag, maxAgeSeconds);
  if (etagMatches(c.req.header("if-none-match"), copy.etag)) return new Response(null, { status: 304, headers });
  return new Response(copy.body, { status: 200, headers });
}

/** For tests: forget the in-isolate JWKS copies so the next request meets the Cache API. */
export function forgetIsolateJwks(): void {
  jwksCopies.clear();
}

/** For tests: forget the realm's lease so the next token takes a fresh one. */
export function dropSigningKeyLease(realm: string): void {
  leases.delete(realm);
}
