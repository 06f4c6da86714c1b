/**
 * Signing keys (design §4): the KeyStore's ring, rotation by alarm and by the
 * operator, revocation, and the admin routes that drive them.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeProtectedHeader } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createVerifier } from "@edgeauth/client";
import { ConfigError, parseConfig } from "../src/server/config";
import { keyPolicyFor } from "../src/server/keys/key-policy";
import { dropSigningKeyLease, forgetIsolateJwks } from "../src/server/keys/realm-keys";
import { ADMIN_SECRET, api, signIn, signUp, workerFetch } from "./helpers";

const DAY_MS = 24 * 3600 * 1000;

function keyStore() {
  return env.KEY_STORE.get(env.KEY_STORE.idFromName("default"));
}

function admin(path: string, method = "GET") {
  return api(path, { method, headers: { "x-admin-secret": ADMIN_SECRET } });
}

async function jwksKids(): Promise<string[]> {
  const response = await api("/.well-known/jwks.json");
  return (response.json.keys as { kid: string }[]).map((key) => key.kid);
}

function kidOf(token: string): string {
  return decodeProtectedHeader(token).kid as string;
}

afterEach(() => {
  vi.useRealTimers();
  dropSigningKeyLease("default");
  forgetIsolateJwks();
});

describe("the key ring", () => {
  it("holds one current and one next key, both published, kid = RFC 7638 thumbprint", async () => {
    const { json, status } = await admin("/admin/keys");
    expect(status).toBe(200);
    const states = (json.keys as { state: string }[]).map((key) => key.state).sort();
    expect(states).toEqual(["current", "next"]);
    for (const key of json.keys) {
      expect(key.publicJwk).not.toHaveProperty("d");
      expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const { calculateJwkThumbprint } = await import("jose");
      expect(await calculateJwkThumbprint(key.publicJwk, "sha256")).toBe(key.kid);
    }
    expect((await jwksKids()).sort()).toEqual(json.keys.map((key: { kid: string }) => key.kid).sort());
  });

  it("signs access tokens with the current key", async () => {
    const { session } = await signUp();
    const { json } = await admin("/admin/keys");
    const current = json.keys.find((key: { state: string }) => key.state === "current");
    expect(kidOf(session.accessToken)).toBe(current.kid);
  });
});

describe("operator rotation", () => {
  it("promotes the next key, retires the current one, and keeps old tokens valid", async () => {
    const { email, session } = await signUp();
    const before = (await admin("/admin/keys")).json.keys as { kid: string; state: string }[];
    const oldCurrent = before.find((key) => key.state === "current")!.kid;
    const oldNext = before.find((key) => key.state === "next")!.kid;

    const rotated = await admin("/admin/keys/rotate", "POST");
    expect(rotated.status).toBe(200);
    const states = Object.fromEntries((rotated.json.keys as { kid: string; state: string }[]).map((k) => [k.kid, k.state]));
    expect(states[oldCurrent]).toBe("retired");
    expect(states[oldNext]).toBe("current");
    expect(Object.values(states).filter((state) => state === "next")).toHaveLength(1);

    // The JWKS shows all three at once: this isolate's copy was purged.
    const kids = await jwksKids();
    expect(kids).toHaveLength(3);
    expect(kids).toContain(oldCurrent);

    // New tokens carry the promoted key; the old token still verifies (retired, in grace).
    const fresh = await signIn(email);
    expect(kidOf(fresh.json.session.accessToken)).toBe(oldNext);
    expect((await api("/token/verify", { body: { token: session.accessToken } })).status).toBe(200);
    expect((await api("/token/verify", { body: { token: fresh.json.session.accessToken } })).status).toBe(200);
  });

  it("a verifier holding the old JWKS verifies a new-key token after exactly one refetch", async () => {
    const { email } = await signUp();
    let fetches = 0;
    // The verifier's own clock: the rotation happens well after its first fetch,
    // outside the unknown-kid cooldown, as it would in production.
    let clockOffsetMs = 0;
    const verifier = createVerifier({
      issuer: "http://localhost",
      now: () => Date.now() + clockOffsetMs,
      fetch: (url, init) => {
        fetches++;
        return workerFetch(url, init);
      },
    });
    const before = await signIn(email);
    expect((await verifier.verify(before.json.session.accessToken)).ok).toBe(true);
    expect(fetches).toBe(1);

    // Revoking the next key makes a brand-new next key, and a rotation right after
    // promotes it: its kid was never in the verifier's copy.
    const keys = (await admin("/admin/keys")).json.keys as { kid: string; state: string }[];
    await admin(`/admin/keys/${keys.find((key) => key.state === "next")!.kid}`, "DELETE");
    await admin("/admin/keys/rotate", "POST");
    const after = await signIn(email);
    clockOffsetMs = 60_000;
    const result = await verifier.verify(after.json.session.accessToken);
    expect(result.ok).toBe(true);
    expect(fetches).toBe(2);
  });
});

describe("revocation", () => {
  it("removes a key from the JWKS at once and tokens it signed stop verifying", async () => {
    const { session } = await signUp();
    const revokedKid = kidOf(session.accessToken);
    const response = await admin(`/admin/keys/${revokedKid}`, "DELETE");
    expect(response.status).toBe(200);
    expect(await jwksKids()).not.toContain(revokedKid);
    expect((await api("/token/verify", { body: { token: session.accessToken } })).status).toBe(401);
    expect((await api("/user", { token: session.accessToken })).status).toBe(401);

    // A fresh verifier (as any backend after one max-age) refuses it too.
    const verifier = createVerifier({ issuer: "http://localhost", fetch: (url, init) => workerFetch(url, init) });
    const result = await verifier.verify(session.accessToken);
    expect(result).toEqual({ ok: false, code: "unknown-key" });

    // The ring is whole again: a current and a next key.
    const states = ((await admin("/admin/keys")).json.keys as { state: string }[]).map((key) => key.state);
    expect(states).toContain("current");
    expect(states).toContain("next");
    expect(states).not.toContain(undefined);
  });

  it("answers 404 key-not-found for an unknown kid", async () => {
    const response = await admin("/admin/keys/not-a-kid", "DELETE");
    expect(response.status).toBe(404);
    expect(response.json.error.code).toBe("key-not-found");
  });

  it("a verifier whose JWKS fetch is blocked trusts a revoked key for maxStaleSeconds at most, then fails closed", async () => {
    const { session } = await signUp();
    let blocked = false;
    let fetches = 0;
    let clockOffsetMs = 0;
    const verifier = createVerifier({
      issuer: "http://localhost",
      now: () => Date.now() + clockOffsetMs,
      cacheMaxAgeSeconds: 60,
      maxStaleSeconds: 120,
      cooldownSeconds: 10,
      fetch: (url, init) => {
        fetches++;
        return blocked ? Promise.reject(new TypeError("network connection lost")) : workerFetch(url, init);
      },
    });
    expect((await verifier.verify(session.accessToken)).ok).toBe(true);

    // The key is revoked, and an attacker keeps the verifier from seeing the new JWKS.
    expect((await admin(`/admin/keys/${kidOf(session.accessToken)}`, "DELETE")).status).toBe(200);
    blocked = true;
    clockOffsetMs = 110_000;
    expect((await verifier.verify(session.accessToken)).ok).toBe(true);
    clockOffsetMs = 121_000;
    expect(await verifier.verify(session.accessToken)).toEqual({ ok: false, code: "jwks-unavailable" });
    expect(fetches).toBe(3);

    // The fetch goes through again: the revocation is seen.
    blocked = false;
    clockOffsetMs = 131_000;
    expect(await verifier.verify(session.accessToken)).toEqual({ ok: false, code: "unknown-key" });
    expect(fetches).toBe(4);
  });
});

describe("a client verifier running on Workers reads the JWKS body with a cap (checklist J14)", () => {
  it("a 16 MiB JWKS body is refused after reading just past 64 KiB, and cancelled", async () => {
    const chunk = new TextEncoder().encode("x".repeat(4096));
    const counter = { pulled: 0, cancelled: false };
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (counter.pulled >= 16 * 1024 * 1024) return controller.close();
        counter.pulled += chunk.byteLength;
        controller.enqueue(chunk.slice());
      },
      cancel() {
        counter.cancelled = true;
      },
    });
    const { session } = await signUp();
    const verifier = createVerifier({ issuer: "http://localhost", fetch: async () => new Response(stream) });
    expect(await verifier.verify(session.accessToken)).toEqual({ ok: false, code: "jwks-unavailable" });
    expect(counter.cancelled).toBe(true);
    expect(counter.pulled).toBeGreaterThan(64 * 1024);
    expect(counter.pulled).toBeLessThanOrEqual(64 * 1024 + 4 * chunk.byteLength);
  });
});

describe("scheduled rotation (alarm)", () => {
  it("rotates after the period and drops retired keys after their grace", async () => {
    const stub = keyStore();
    const start = (await stub.listKeys()).find((key) => key.state === "current")!;

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(start.rotatesAt!) + 1000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const afterRotation = await stub.listKeys();
    const retired = afterRotation.find((key) => key.kid === start.kid)!;
    expect(retired.state).toBe("retired");
    expect(afterRotation.filter((key) => key.state === "current")).toHaveLength(1);

    // Grace = access TTL + JWKS max-age + verifier cache age + lease: about 32 minutes here.
    vi.setSystemTime(Date.parse(retired.removeAt!) + 1000);
    await runDurableObjectAlarm(stub);
    expect((await stub.listKeys()).map((key) => key.kid)).not.toContain(start.kid);
  });

  it("a retired key stays published for at least the access-token lifetime plus cache ages", async () => {
    const stub = keyStore();
    const rotated = await stub.rotate();
    const retired = rotated.find((key) => key.state === "retired")!;
    const graceMs = Date.parse(retired.removeAt!) - Date.parse(retired.retiredAt!);
    expect(graceMs).toBeGreaterThanOrEqual((900 + 300 + 600) * 1000);
    expect(graceMs).toBeLessThan(DAY_MS);
  });

  it("leases never outlive the current key's scheduled retirement", async () => {
    const stub = keyStore();
    const current = (await stub.listKeys()).find((key) => key.state === "current")!;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(current.rotatesAt!) - 5000);
    const lease = await stub.leaseSigningKey();
    expect(lease.kid).toBe(current.kid);
    expect(lease.expiresAt).toBeLessThanOrEqual(Date.parse(current.rotatesAt!));
    expect(lease.privateJwk).toHaveProperty("d");
  });
});

describe("key policy from the realm's settings", () => {
  it("is computed from the settings: grace = access TTL + JWKS max-age + verifier cache age + lease", () => {
    const config = parseConfig({
      PUBLIC_URL: "https://auth.example.org",
      REFRESH_TOKEN_SECRET: "x".repeat(32),
      ACCESS_TOKEN_TTL_SECONDS: "3600",
      KEY_ROTATION_PERIOD_SECONDS: "86400",
      SIGNING_KEY_LEASE_SECONDS: "30",
    });
    expect(keyPolicyFor(config)).toEqual({ rotationPeriodSeconds: 86_400, retiredKeyGraceSeconds: 3600 + 300 + 600 + 30, signingKeyLeaseSeconds: 30 });
  });

  it("a KeyStore runs the policy it is given, and its alarm keeps the last one", async () => {
    const stub = env.KEY_STORE.get(env.KEY_STORE.idFromName("realm-with-its-own-policy"));
    const policy = { rotationPeriodSeconds: 3600, retiredKeyGraceSeconds: 120, signingKeyLeaseSeconds: 30 };
    const current = (await stub.listKeys(policy)).find((key) => key.state === "current")!;
    expect(Date.parse(current.rotatesAt!) - Date.parse(current.activatedAt!)).toBe(3600_000);
    const lease = await stub.leaseSigningKey(policy);
    expect(lease.expiresAt - Date.now()).toBeLessThanOrEqual(30_000);

    // No caller passes a policy to the alarm: it rotates on the stored one.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.parse(current.rotatesAt!) + 1000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const retired = (await stub.listKeys()).find((key) => key.kid === current.kid)!;
    expect(retired.state).toBe("retired");
    expect(Date.parse(retired.removeAt!) - Date.parse(retired.retiredAt!)).toBe(120_000);
  });
});

describe("admin authentication", () => {
  it.each([
    ["missing", undefined],
    ["wrong", "not-the-secret-at-all"],
    ["prefix of the real one", ADMIN_SECRET.slice(0, 10)],
  ])("refuses a %s x-admin-secret with 401", async (_label, secret) => {
    const response = await api("/admin/keys", { headers: secret === undefined ? {} : { "x-admin-secret": secret } });
    expect(response.status).toBe(401);
    expect(response.json).toEqual({ error: { code: "invalid-admin-secret", status: 401, message: "Missing or invalid admin secret" } });
  });

  it("never returns private key material", async () => {
    for (const response of [await admin("/admin/keys"), await admin("/admin/keys/rotate", "POST"), await api("/.well-known/jwks.json")]) {
      expect(response.text).not.toMatch(/"d"\s*:/);
    }
  });
});

describe("rotation period against the caches", () => {
  const base = { PUBLIC_URL: "https://auth.example.org", REFRESH_TOKEN_SECRET: "x".repeat(32) };

  it("refuses a period shorter than JWKS_MAX_AGE_SECONDS + VERIFIER_CACHE_MAX_AGE_SECONDS, naming the setting", () => {
    const caches = { JWKS_MAX_AGE_SECONDS: "7200", VERIFIER_CACHE_MAX_AGE_SECONDS: "3600" };
    expect(() => parseConfig({ ...base, ...caches, KEY_ROTATION_PERIOD_SECONDS: "10799" })).toThrow(/KEY_ROTATION_PERIOD_SECONDS/);
    expect(() => parseConfig({ ...base, ...caches, KEY_ROTATION_PERIOD_SECONDS: "10799" })).toThrow(ConfigError);
    expect(parseConfig({ ...base, ...caches, KEY_ROTATION_PERIOD_SECONDS: "10800" }).keyRotationPeriodSeconds).toBe(10_800);
  });
});
