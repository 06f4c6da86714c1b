/**
 * `GET /.well-known/jwks.json` at the edge (design §4): answered from an
 * in-isolate copy or the Cache API, reaching the KeyStore only on a miss. Both
 * copies expire when the cached response does, so a rotation or revocation is
 * visible within one max-age.
 */
import type { AppContext } from "../context";
import { sha256Hex } from "../lib/crypto";
import { keyStoreFor } from "../tokens/signing-keys";

interface JwksCopy {
  body: string;
  etag: string;
  expiresAt: number;
}

const isolateCopies = new Map<string, JwksCopy>();
const GENERATED_AT_HEADER = "x-edgeauth-generated-at";

function cacheKey(requestUrl: string, realm: string): Request {
  const url = new URL("/.well-known/jwks.json", requestUrl);
  url.searchParams.set("realm", realm);
  return new Request(url.toString(), { method: "GET" });
}

function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === "*") return true;
  const bare = etag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((candidate) => candidate.trim().replace(/^W\//, "") === bare);
}

function respond(c: AppContext, copy: JwksCopy, maxAgeSeconds: number): Response {
  const headers = {
    "content-type": "application/json",
    "cache-control": `public, max-age=${maxAgeSeconds}`,
    etag: copy.etag,
  };
  if (etagMatches(c.req.header("if-none-match"), copy.etag)) return new Response(null, { status: 304, headers });
  return new Response(copy.body, { status: 200, headers });
}

export async function serveJwks(c: AppContext): Promise<Response> {
  const { env, config, realm } = c.var.context;
  const maxAgeSeconds = config.jwksMaxAgeSeconds;
  const now = Date.now();

  const held = isolateCopies.get(realm.id);
  if (held !== undefined && held.expiresAt > now) return respond(c, held, maxAgeSeconds);

  const key = cacheKey(c.req.url, realm.id);
  const cache = caches.default;
  const hit = await cache.match(key);
  if (hit !== undefined) {
    const generatedAt = Number(hit.headers.get(GENERATED_AT_HEADER));
    const copy = { body: await hit.text(), etag: hit.headers.get("etag") ?? "", expiresAt: generatedAt + maxAgeSeconds * 1000 };
    if (copy.etag !== "" && Number.isFinite(generatedAt) && copy.expiresAt > now) {
      isolateCopies.set(realm.id, copy);
      return respond(c, copy, maxAgeSeconds);
    }
  }

  const body = JSON.stringify(await keyStoreFor(env, realm.id).publicKeys());
  const copy: JwksCopy = { body, etag: `"${(await sha256Hex(body)).slice(0, 32)}"`, expiresAt: now + maxAgeSeconds * 1000 };
  isolateCopies.set(realm.id, copy);
  if (maxAgeSeconds > 0) {
    const cached = new Response(body, {
      headers: {
        "content-type": "application/json",
        "cache-control": `public, max-age=${maxAgeSeconds}`,
        etag: copy.etag,
        [GENERATED_AT_HEADER]: String(now),
      },
    });
    c.executionCtx.waitUntil(cache.put(key, cached));
  }
  return respond(c, copy, maxAgeSeconds);
}

/** Drops this isolate's and this location's copies, after a rotation or revocation. */
export async function purgeJwks(requestUrl: string, realm: string): Promise<void> {
  isolateCopies.delete(realm);
  await caches.default.delete(cacheKey(requestUrl, realm));
}

/** For tests: forget the in-isolate copy so the next request meets the Cache API. */
export function forgetIsolateJwks(): void {
  isolateCopies.clear();
}
