/**
 * Forged and mangled access tokens (security checklist J1–J13, RFC 8725 §3): each is
 * refused by `POST /token/verify`, by `GET /user` and by the client verifier fed
 * from the Worker's own JWKS, with 401 `unauthenticated-user` and never a 5xx.
 * Most forgeries are signed with the realm's real current key, so that the
 * mutation under test is the only thing wrong with them.
 */
import { env } from "cloudflare:workers";
import { base64url, exportJWK, exportSPKI, generateKeyPair, importJWK, calculateJwkThumbprint, type JWK } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createVerifier, type VerifyErrorCode } from "@edgeauth/client";
import { api, signUp, workerFetch } from "./helpers";

const ISSUER = "http://localhost";
const JWKS_URL = `${ISSUER}/.well-known/jwks.json`;
/** P-256 group order n. */
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

type Json = Record<string, unknown>;

interface Fixture {
  /** A token the Worker issued at sign-up. */
  issued: string;
  header: Json;
  claims: Json;
  kid: string;
  /** The realm's current private signing key, leased from the KeyStore as the Worker does. */
  realKey: CryptoKey;
  /** The published JWK of that key. */
  publicJwk: JWK;
  attacker: { privateKey: CryptoKey; publicJwk: JWK; kid: string };
}

let f: Fixture;
const fetchedUrls: string[] = [];
const verifier = createVerifier({
  issuer: ISSUER,
  fetch: (url, init) => {
    fetchedUrls.push(url);
    return workerFetch(url, init);
  },
});

const encoder = new TextEncoder();
const b64 = (value: unknown) => base64url.encode(typeof value === "string" ? value : JSON.stringify(value));

function decodeSegment(segment: string): Json {
  return JSON.parse(new TextDecoder().decode(base64url.decode(segment))) as Json;
}

/** Drops keys whose override is `undefined`, so a case can remove a member. */
function merge(base: Json, overrides: Json): Json {
  const merged: Json = { ...base, ...overrides };
  for (const [name, value] of Object.entries(overrides)) if (value === undefined) delete merged[name];
  return merged;
}

async function es256(signingInput: string, key: CryptoKey): Promise<Uint8Array> {
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, encoder.encode(signingInput));
  return new Uint8Array(signature);
}

/** Signs raw encoded segments with ES256 (no library checks, so `crit` and odd headers go through). */
async function signSegments(encodedHeader: string, encodedPayload: string, key = f.realKey): Promise<string> {
  const input = `${encodedHeader}.${encodedPayload}`;
  return `${input}.${base64url.encode(await es256(input, key))}`;
}

/** The issued token's header and claims with overrides, ES256-signed with `key` (the real key by default). */
function forge(headerOverrides: Json = {}, claimOverrides: Json = {}, key = f.realKey): Promise<string> {
  return signSegments(b64(merge(f.header, headerOverrides)), b64(merge(f.claims, claimOverrides)), key);
}

async function hmac(alg: "HS256" | "HS384" | "HS512", secret: Uint8Array, header: Json = {}): Promise<string> {
  const hash = { HS256: "SHA-256", HS384: "SHA-384", HS512: "SHA-512" }[alg];
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash }, false, ["sign"]);
  const input = `${b64({ alg, typ: "JWT", kid: f.kid, ...header })}.${b64(f.claims)}`;
  return `${input}.${base64url.encode(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(input))))}`;
}

/** A P1363 (R‖S) signature as ASN.1 DER, as a careless issuer might emit it. */
function toDer(p1363: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    const trimmed = bytes.slice(start);
    const body = trimmed[0]! & 0x80 ? Uint8Array.of(0, ...trimmed) : trimmed;
    return Uint8Array.of(0x02, body.length, ...body);
  };
  const r = integer(p1363.slice(0, 32));
  const s = integer(p1363.slice(32));
  return Uint8Array.of(0x30, r.length + s.length, ...r, ...s);
}

function withSignature(token: string, signature: Uint8Array | string): string {
  const [header, payload] = token.split(".");
  return `${header}.${payload}.${typeof signature === "string" ? signature : base64url.encode(signature)}`;
}

function signatureOf(token: string): Uint8Array {
  return base64url.decode(token.split(".")[2]!);
}

interface Attack {
  name: string;
  code: VerifyErrorCode;
  token: () => Promise<string> | string;
  /** False when the token cannot travel in an Authorization header unchanged (HTTP trims or rejects it). */
  bearer?: boolean;
}

const attacks: Attack[] = [
  // J1: the algorithm is pinned to ES256.
  { name: "alg none, no signature", code: "malformed", token: () => `${b64({ alg: "none", typ: "JWT" })}.${b64(f.claims)}.` },
  { name: "alg none with the real kid, no signature", code: "malformed", token: () => `${b64({ ...f.header, alg: "none" })}.${b64(f.claims)}.` },
  { name: "alg none with the issued token's signature", code: "unsupported-algorithm", token: () => withSignature(`${b64({ ...f.header, alg: "none" })}.${b64(f.claims)}`, signatureOf(f.issued)) },
  { name: "alg none, signed with the real key", code: "unsupported-algorithm", token: () => forge({ alg: "none" }) },
  { name: "alg None, signed", code: "unsupported-algorithm", token: () => forge({ alg: "None" }) },
  { name: "alg NONE, signed", code: "unsupported-algorithm", token: () => forge({ alg: "NONE" }) },
  { name: "alg nOnE, signed", code: "unsupported-algorithm", token: () => forge({ alg: "nOnE" }) },
  { name: "alg None, no signature", code: "malformed", token: () => `${b64({ ...f.header, alg: "None" })}.${b64(f.claims)}.` },
  { name: "alg NONE, no signature", code: "malformed", token: () => `${b64({ ...f.header, alg: "NONE" })}.${b64(f.claims)}.` },
  { name: "alg missing", code: "unsupported-algorithm", token: () => forge({ alg: undefined }) },
  { name: "alg null", code: "unsupported-algorithm", token: () => forge({ alg: null }) },
  { name: 'alg ["ES256"]', code: "unsupported-algorithm", token: () => forge({ alg: ["ES256"] }) },
  { name: 'alg "ES256 "', code: "unsupported-algorithm", token: () => forge({ alg: "ES256 " }) },
  { name: "alg es256", code: "unsupported-algorithm", token: () => forge({ alg: "es256" }) },
  { name: "alg numeric", code: "unsupported-algorithm", token: () => forge({ alg: 256 }) },
  { name: "alg ES384 over an ES256 signature", code: "unsupported-algorithm", token: () => forge({ alg: "ES384" }) },
  {
    name: 'duplicate alg, last one "none"',
    code: "unsupported-algorithm",
    token: () => signSegments(base64url.encode(`{"alg":"ES256","typ":"JWT","kid":${JSON.stringify(f.kid)},"alg":"none"}`), b64(f.claims)),
  },

  // J2: HS/ES confusion, MACed with every byte form of the public key.
  { name: "HS256 keyed with the JWK JSON as published", code: "unsupported-algorithm", token: () => hmac("HS256", encoder.encode(JSON.stringify(f.publicJwk))) },
  {
    name: "HS256 keyed with the canonical JWK JSON",
    code: "unsupported-algorithm",
    token: () => hmac("HS256", encoder.encode(JSON.stringify({ crv: "P-256", kty: "EC", x: f.publicJwk.x, y: f.publicJwk.y }))),
  },
  { name: "HS256 keyed with the raw x||y point", code: "unsupported-algorithm", token: () => hmac("HS256", rawPoint(false)) },
  { name: "HS256 keyed with the uncompressed 0x04||x||y point", code: "unsupported-algorithm", token: () => hmac("HS256", rawPoint(true)) },
  { name: "HS256 keyed with the SPKI DER", code: "unsupported-algorithm", token: async () => hmac("HS256", await spkiDer()) },
  { name: "HS256 keyed with the SPKI PEM text", code: "unsupported-algorithm", token: async () => hmac("HS256", encoder.encode(await spkiPem())) },
  { name: "HS384 keyed with the SPKI DER", code: "unsupported-algorithm", token: async () => hmac("HS384", await spkiDer()) },
  // A 64-byte MAC has exactly the length of an ES256 signature.
  { name: "HS512 keyed with the raw point", code: "unsupported-algorithm", token: () => hmac("HS512", rawPoint(false)) },

  // J3: keys and key URLs from the token header are never used.
  { name: "attacker jwk embedded, real kid, attacker-signed", code: "unsupported-header", token: () => forge({ jwk: f.attacker.publicJwk }, {}, f.attacker.privateKey) },
  { name: "attacker jwk embedded with its own kid", code: "unsupported-header", token: () => forge({ jwk: f.attacker.publicJwk, kid: f.attacker.kid }, {}, f.attacker.privateKey) },
  { name: "jwk header on a token signed with the real key", code: "unsupported-header", token: () => forge({ jwk: f.publicJwk }) },
  { name: "jku header, attacker-signed", code: "unsupported-header", token: () => forge({ jku: "http://localhost/attacker/jwks.json" }, {}, f.attacker.privateKey) },
  { name: "jku header on a token signed with the real key", code: "unsupported-header", token: () => forge({ jku: JWKS_URL }) },
  { name: "x5u header, attacker-signed", code: "unsupported-header", token: () => forge({ x5u: "http://127.0.0.1:9/cert.pem" }, {}, f.attacker.privateKey) },
  { name: "x5u header on a token signed with the real key", code: "unsupported-header", token: () => forge({ x5u: "http://127.0.0.1:9/cert.pem" }) },
  { name: "x5c header", code: "unsupported-header", token: () => forge({ x5c: ["MIIB"] }) },
  { name: "x5t header", code: "unsupported-header", token: () => forge({ x5t: "AAAA" }) },
  { name: "attacker-signed with the real kid", code: "invalid-signature", token: () => forge({}, {}, f.attacker.privateKey) },
  { name: "attacker-signed with the attacker's own kid", code: "unknown-key", token: () => forge({ kid: f.attacker.kid }, {}, f.attacker.privateKey) },

  // J13: iss compared exactly.
  { name: "iss with a trailing slash", code: "invalid-issuer", token: () => forge({}, { iss: "http://localhost/" }) },
  { name: "iss over https", code: "invalid-issuer", token: () => forge({}, { iss: "https://localhost" }) },
  { name: "iss of another host", code: "invalid-issuer", token: () => forge({}, { iss: "http://evil.example" }) },
  { name: "iss with a port", code: "invalid-issuer", token: () => forge({}, { iss: "http://localhost:8787" }) },
  { name: "iss in capitals", code: "invalid-issuer", token: () => forge({}, { iss: "HTTP://LOCALHOST" }) },
  { name: "iss of another realm", code: "invalid-issuer", token: () => forge({}, { iss: "http://localhost/realms/other" }) },
  { name: "iss as an array", code: "invalid-issuer", token: () => forge({}, { iss: [ISSUER] }) },
  { name: "iss missing", code: "invalid-issuer", token: () => forge({}, { iss: undefined }) },

  // J12: time claims.
  { name: "expired an hour ago", code: "expired", token: () => forge({}, { iat: nowSeconds() - 4500, exp: nowSeconds() - 3600 }) },
  { name: "expired just beyond the 30 s leeway", code: "expired", token: () => forge({}, { iat: nowSeconds() - 1000, exp: nowSeconds() - 40 }) },
  { name: "exp missing", code: "invalid-claims", token: () => forge({}, { exp: undefined }) },
  { name: "exp as a string", code: "invalid-claims", token: () => forge({}, { exp: "9999999999" }) },
  { name: "exp null", code: "invalid-claims", token: () => forge({}, { exp: null }) },
  { name: "nbf in the future", code: "not-yet-valid", token: () => forge({}, { nbf: nowSeconds() + 3600 }) },
  { name: "iat in the future", code: "invalid-claims", token: () => forge({}, { iat: nowSeconds() + 3600, exp: nowSeconds() + 4500 }) },
  { name: "iat missing", code: "invalid-claims", token: () => forge({}, { iat: undefined }) },
  { name: "sub missing", code: "invalid-claims", token: () => forge({}, { sub: undefined }) },
  { name: "sub empty", code: "invalid-claims", token: () => forge({}, { sub: "" }) },
  { name: "sub numeric", code: "invalid-claims", token: () => forge({}, { sub: 1 }) },

  // J6: an ES256 signature is exactly 64 bytes R‖S.
  { name: "DER-encoded signature of the issued token", code: "malformed", token: () => withSignature(f.issued, toDer(signatureOf(f.issued))) },
  { name: "signature of 63 bytes", code: "malformed", token: () => withSignature(f.issued, signatureOf(f.issued).slice(0, 63)) },
  { name: "signature of 65 bytes (trailing zero)", code: "malformed", token: () => withSignature(f.issued, Uint8Array.of(...signatureOf(f.issued), 0)) },
  { name: "signature of 32 bytes", code: "malformed", token: () => withSignature(f.issued, signatureOf(f.issued).slice(0, 32)) },
  { name: "signature of 128 bytes", code: "malformed", token: () => withSignature(f.issued, Uint8Array.of(...signatureOf(f.issued), ...signatureOf(f.issued))) },
  { name: "signature r=0 s=0", code: "invalid-signature", token: () => withSignature(f.issued, new Uint8Array(64)) },
  { name: "signature r=n s=n", code: "invalid-signature", token: () => withSignature(f.issued, Uint8Array.of(...scalar(P256_N), ...scalar(P256_N))) },
  { name: "signature bit flipped", code: "invalid-signature", token: () => withSignature(f.issued, flipLastBit(signatureOf(f.issued))) },
  { name: "payload changed under the issued signature", code: "invalid-signature", token: () => withSignature(`${f.issued.split(".")[0]}.${b64({ ...f.claims, sub: crypto.randomUUID() })}`, signatureOf(f.issued)) },

  // J10, J11: crit and explicit typing.
  { name: 'crit ["exp"]', code: "unsupported-header", token: () => forge({ crit: ["exp"] }) },
  { name: "crit []", code: "unsupported-header", token: () => forge({ crit: [] }) },
  { name: 'crit ["b64"] with b64 false', code: "unsupported-header", token: () => forge({ crit: ["b64"], b64: false }) },
  { name: 'crit ["x-unknown"]', code: "unsupported-header", token: () => forge({ crit: ["x-unknown"], "x-unknown": 1 }) },
  { name: "typ at+jwt", code: "invalid-type", token: () => forge({ typ: "at+jwt" }) },
  { name: "typ jwt in lower case", code: "invalid-type", token: () => forge({ typ: "jwt" }) },
  { name: "typ application/jwt", code: "invalid-type", token: () => forge({ typ: "application/jwt" }) },
  { name: "typ JWS", code: "invalid-type", token: () => forge({ typ: "JWS" }) },
  { name: "typ missing", code: "invalid-type", token: () => forge({ typ: undefined }) },
  { name: "typ null", code: "invalid-type", token: () => forge({ typ: null }) },

  // J8: strict compact serialization.
  { name: "empty string", code: "malformed", token: () => "", bearer: false },
  { name: "junk: null", code: "malformed", token: () => "null" },
  { name: "junk: a.b.c", code: "malformed", token: () => "a.b.c" },
  { name: "junk: ....", code: "malformed", token: () => "...." },
  { name: "junk: random base64url", code: "malformed", token: () => base64url.encode(crypto.getRandomValues(new Uint8Array(300))) },
  { name: "junk: random segments", code: "malformed", token: () => [1, 2, 3].map(() => base64url.encode(crypto.getRandomValues(new Uint8Array(64)))).join(".") },
  { name: "2 segments", code: "malformed", token: () => f.issued.split(".").slice(0, 2).join(".") },
  { name: "2 segments, header and signature", code: "malformed", token: () => [0, 2].map((i) => f.issued.split(".")[i]).join(".") },
  { name: "4 segments", code: "malformed", token: () => `${f.issued}.${f.issued.split(".")[2]}` },
  { name: "trailing dot", code: "malformed", token: () => `${f.issued}.` },
  { name: "empty payload segment", code: "malformed", token: () => { const [h, , s] = f.issued.split("."); return `${h}..${s}`; } },
  { name: "empty header segment", code: "malformed", token: () => f.issued.replace(/^[^.]+/, "") },
  { name: "header padded with =", code: "malformed", token: () => f.issued.replace(".", "=.") },
  { name: "signature padded with ==", code: "malformed", token: () => `${f.issued}==` },
  { name: "standard base64 alphabet (+ and /)", code: "malformed", token: forgeInStandardBase64 },
  { name: "space inside the payload", code: "malformed", token: () => f.issued.replace(".", ". ") },
  { name: "leading space", code: "malformed", token: () => ` ${f.issued}`, bearer: false },
  { name: "trailing newline", code: "malformed", token: () => `${f.issued}\n`, bearer: false },
  { name: "tab inside the header", code: "malformed", token: () => `${f.issued.slice(0, 5)}\t${f.issued.slice(5)}` },
  { name: "JWS JSON serialization", code: "malformed", token: () => { const [h, p, s] = f.issued.split("."); return JSON.stringify({ protected: h, payload: p, signature: s }); } },
  { name: "header is a JSON array", code: "malformed", token: () => signSegments(b64(["ES256"]), b64(f.claims)) },
  { name: "header is a JSON string", code: "malformed", token: () => signSegments(b64('"ES256"'), b64(f.claims)) },
  { name: "header is not JSON", code: "malformed", token: () => signSegments(base64url.encode("alg=ES256"), b64(f.claims)) },
  { name: "header is not UTF-8", code: "malformed", token: () => signSegments(base64url.encode(Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d)), b64(f.claims)) },
  { name: "payload is a JSON array", code: "malformed", token: () => signSegments(b64(f.header), b64([f.claims])) },
  { name: "payload is not JSON", code: "malformed", token: () => signSegments(b64(f.header), base64url.encode("foo")) },
  { name: "token over 8 KiB, validly signed", code: "malformed", token: () => forge({}, { padding: "x".repeat(6500) }) },
  { name: "token near 16 KiB, validly signed", code: "malformed", token: () => forge({}, { padding: "x".repeat(11_000) }) },

  // J4: kid is an exact-match lookup key and nothing else.
  { name: "kid path traversal", code: "unknown-key", token: () => forge({ kid: "../../../../etc/passwd" }) },
  { name: "kid path traversal to the JWKS", code: "unknown-key", token: () => forge({ kid: "../.well-known/jwks.json" }) },
  { name: "kid SQL injection", code: "unknown-key", token: () => forge({ kid: "' OR 1=1 --" }) },
  { name: "kid __proto__", code: "unknown-key", token: () => forge({ kid: "__proto__" }) },
  { name: "kid constructor", code: "unknown-key", token: () => forge({ kid: "constructor" }) },
  { name: "kid NUL", code: "unknown-key", token: () => forge({ kid: "\u0000" }) },
  { name: "kid real kid plus NUL", code: "unknown-key", token: async () => forge({ kid: `${f.kid}\u0000` }) },
  { name: "kid unicode", code: "unknown-key", token: () => forge({ kid: "ключ🔑" }) },
  { name: "kid real kid in upper case", code: "unknown-key", token: () => forge({ kid: f.kid.toUpperCase() }) },
  { name: "kid real kid with a trailing space", code: "unknown-key", token: () => forge({ kid: `${f.kid} ` }) },
  { name: "kid of 300 characters", code: "malformed", token: () => forge({ kid: "k".repeat(300) }) },
  { name: "kid of 10 kB", code: "malformed", token: () => forge({ kid: "k".repeat(10_000) }) },
  { name: "kid empty", code: "malformed", token: () => forge({ kid: "" }) },
  { name: "kid missing", code: "malformed", token: () => forge({ kid: undefined }) },
  { name: "kid numeric", code: "malformed", token: () => forge({ kid: 1 }) },
  { name: "kid null", code: "malformed", token: () => forge({ kid: null }) },
  { name: "kid object", code: "malformed", token: () => forge({ kid: { $ne: "" } }) },
  { name: "kid array with the real kid", code: "malformed", token: () => forge({ kid: [f.kid] }) },
];

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function scalar(value: bigint): Uint8Array {
  return Uint8Array.from(value.toString(16).padStart(64, "0").match(/../g)!, (byte) => parseInt(byte, 16));
}

function flipLastBit(bytes: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  copy[copy.length - 1]! ^= 1;
  return copy;
}

function rawPoint(uncompressedPrefix: boolean): Uint8Array {
  const xy = [...base64url.decode(f.publicJwk.x!), ...base64url.decode(f.publicJwk.y!)];
  return Uint8Array.from(uncompressedPrefix ? [4, ...xy] : xy);
}

async function publicCryptoKey(): Promise<CryptoKey> {
  return (await importJWK({ ...f.publicJwk, alg: "ES256" }, "ES256", { extractable: true })) as CryptoKey;
}

async function spkiDer(): Promise<Uint8Array> {
  return new Uint8Array((await crypto.subtle.exportKey("spki", await publicCryptoKey())) as ArrayBuffer);
}

async function spkiPem(): Promise<string> {
  return exportSPKI(await publicCryptoKey());
}

/** A validly signed token whose segments contain `-` or `_`, rewritten to `+` and `/`. */
async function forgeInStandardBase64(): Promise<string> {
  for (;;) {
    const token = await forge({}, { jti: crypto.randomUUID() });
    if (/[-_]/.test(token)) return token.replace(/-/g, "+").replace(/_/g, "/");
  }
}

async function expectAcceptedEverywhere(token: string) {
  const verified = await api("/token/verify", { body: { token } });
  expect(verified.status).toBe(200);
  const user = await api("/user", { token });
  expect(user.status).toBe(200);
  expect(user.json.id).toBe(f.claims.sub);
  const result = await verifier.verify(token);
  expect(result.ok && result.claims.sub).toBe(f.claims.sub);
}

async function expectRefusedByServer(token: string, options: { bearer?: boolean } = {}) {
  const verified = await api("/token/verify", { body: { token } });
  expect(verified.status, "POST /token/verify").toBe(401);
  expect(verified.json).toMatchObject({ status: 401, error: "unauthenticated-user" });
  if (options.bearer === false) return;
  const user = await api("/user", { token });
  expect(user.status, "GET /user").toBe(401);
  expect(user.json).toMatchObject({ status: 401, error: "unauthenticated-user" });
}

beforeAll(async () => {
  const { session } = await signUp();
  const issued = session.accessToken;
  const [encodedHeader, encodedPayload] = issued.split(".") as [string, string];
  const header = decodeSegment(encodedHeader);
  const kid = header.kid as string;
  const lease = await env.KEY_STORE.get(env.KEY_STORE.idFromName("default")).leaseSigningKey();
  // The lease is what the Worker signs with; the forgeries below depend on holding that key.
  expect(lease.kid).toBe(kid);
  const realKey = (await importJWK(lease.privateJwk, "ES256")) as CryptoKey;
  const jwks = (await api("/.well-known/jwks.json")).json as { keys: JWK[] };
  const publicJwk = jwks.keys.find((key) => key.kid === kid)!;
  expect(publicJwk).toBeDefined();

  const attackerPair = await generateKeyPair("ES256", { extractable: true });
  const attackerJwk = await exportJWK(attackerPair.publicKey);
  const attackerKid = await calculateJwkThumbprint(attackerJwk);
  f = {
    issued,
    header,
    claims: decodeSegment(encodedPayload),
    kid,
    realKey,
    publicJwk,
    attacker: {
      privateKey: attackerPair.privateKey as CryptoKey,
      publicJwk: { ...attackerJwk, kid, alg: "ES256", use: "sig" },
      kid: attackerKid,
    },
  };
});

afterEach(() => {
  vi.useRealTimers();
});

describe("the genuine token", () => {
  it("the token issued at sign-up is accepted by /token/verify, /user and the client verifier", async () => {
    expect(f.header).toEqual({ alg: "ES256", typ: "JWT", kid: f.kid });
    expect(signatureOf(f.issued).length).toBe(64);
    await expectAcceptedEverywhere(f.issued);
  });

  it("a token re-signed here with the real key and the same claims is accepted everywhere (so forgeries fail only for their mutation)", async () => {
    await expectAcceptedEverywhere(await forge());
  });

  it("the body form accepts a Bearer prefix", async () => {
    expect((await api("/token/verify", { body: { token: `Bearer ${f.issued}` } })).status).toBe(200);
  });
});

describe("forged and mangled tokens are refused everywhere with 401, never 5xx", () => {
  it.each(attacks)("$name → $code", async ({ token: build, code, bearer }) => {
    const token = await build();
    await expectRefusedByServer(token, { bearer });
    expect(await verifier.verify(token)).toEqual({ ok: false, code });
  });

  it("no key or key URL from a token header was ever fetched (J3): the verifier fetched only its JWKS", () => {
    expect(fetchedUrls.length).toBeGreaterThan(0);
    expect(new Set(fetchedUrls)).toEqual(new Set([JWKS_URL]));
  });

  it("an unknown-kid flood costs the verifier no more than one JWKS refetch", async () => {
    const before = verifier.stats().jwksFetches;
    const results = await Promise.all(
      Array.from({ length: 100 }, async () => verifier.verify(await forge({ kid: crypto.randomUUID() }))),
    );
    expect(results.every((result) => !result.ok && result.code === "unknown-key")).toBe(true);
    expect(verifier.stats().jwksFetches - before).toBeLessThanOrEqual(1);
  });
});

describe("the server's key lookups under an unknown-kid flood (J4)", () => {
  it("100 tokens with random kids at /token/verify and /user cost the KeyStore at most one JWKS read", async () => {
    const keyStore = env.KEY_STORE.get(env.KEY_STORE.idFromName("default"));
    // Warm the server's verifier, so that only the flood is counted.
    expect((await api("/token/verify", { body: { token: f.issued } })).status).toBe(200);
    const readsBefore = (await keyStore.stats()).jwksReads;
    for (let i = 0; i < 50; i++) {
      const token = await forge({ kid: crypto.randomUUID() });
      expect((await api("/token/verify", { body: { token } })).status).toBe(401);
      expect((await api("/user", { token })).status).toBe(401);
    }
    expect((await keyStore.stats()).jwksReads - readsBefore).toBeLessThanOrEqual(1);
  });
});

describe("audience, when the verifier requires one (J13)", () => {
  const withAudience = createVerifier({
    issuer: ISSUER,
    audience: "https://api.example.com",
    fetch: (url, init) => workerFetch(url, init),
  });

  it.each([
    ["aud missing", undefined, "invalid-audience"],
    ["aud of another service", "https://other.example.com", "invalid-audience"],
    ["aud with a trailing slash", "https://api.example.com/", "invalid-audience"],
    ["aud an empty array", [], "invalid-audience"],
    ["aud an array of others", ["https://other.example.com"], "invalid-audience"],
    ["aud null", null, "invalid-audience"],
  ] as const)("%s is refused", async (_name, aud, code) => {
    const token = await forge({}, { aud: aud as unknown });
    expect(await withAudience.verify(token)).toEqual({ ok: false, code });
  });

  it("the issued token, which carries no aud, is refused", async () => {
    expect(await withAudience.verify(f.issued)).toEqual({ ok: false, code: "invalid-audience" });
  });

  it.each([
    ["aud the expected string", "https://api.example.com"],
    ["aud an array containing it", ["https://other.example.com", "https://api.example.com"]],
  ] as const)("%s is accepted", async (_name, aud) => {
    const result = await withAudience.verify(await forge({}, { aud: aud as unknown }));
    expect(result.ok).toBe(true);
  });
});

describe("expiry of a token the Worker issued", () => {
  it("the client verifier refuses it once exp plus the 30 s leeway has passed (injected clock)", async () => {
    const exp = f.claims.exp as number;
    const at = (ms: number) =>
      createVerifier({ issuer: ISSUER, fetch: (url, init) => workerFetch(url, init), now: () => ms });
    expect((await at(exp * 1000 + 29_000).verify(f.issued)).ok).toBe(true);
    expect(await at(exp * 1000 + 31_000).verify(f.issued)).toEqual({ ok: false, code: "expired" });
  });

  it("/token/verify and /user refuse it once exp plus the leeway has passed (frozen Date)", async () => {
    const exp = f.claims.exp as number;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(exp * 1000 + 29_000);
    expect((await api("/token/verify", { body: { token: f.issued } })).status).toBe(200);
    expect((await api("/user", { token: f.issued })).status).toBe(200);
    vi.setSystemTime(exp * 1000 + 31_000);
    await expectRefusedByServer(f.issued);
  });
});
