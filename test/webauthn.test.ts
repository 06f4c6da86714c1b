/**
 * Passkeys (WebAuthn) through the Worker, driven by a software authenticator that
 * builds real attestation and assertion objects: sign-up and sign-in, adding and
 * listing keys, elevation and the routes that need it, and the ceremony checks
 * (single-use expiring challenges bound to ceremony and user, origin, RP ID,
 * signature, counter, credential ownership, strict DER).
 */
import { env } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { decodeJwt } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConfigError, ELEVATION_TTL_SECONDS_DEFAULT, WEBAUTHN_CHALLENGE_TTL_SECONDS_DEFAULT, parseConfig } from "../src/server/config";
import { isElevated } from "../src/server/tokens/elevation";
import { HASURA_CLAIMS_NAMESPACE } from "@edgeauth/client";
import { GOOD_PASSWORD, api, signUp, uniqueEmail, appFetch } from "./helpers";
import { FLAG_AT, FLAG_UV, SoftwareAuthenticator, b64url, concat, fromB64url } from "./support/software-authenticator";

const ORIGIN = "https://app.example.com";
const RP_ID = "example.com";

afterEach(() => vi.useRealTimers());

function expectError(response: { status: number; json: any; text?: string }, status: number, error: string) {
  expect(response.status, response.text ?? JSON.stringify(response.json)).toBe(status);
  expect(response.json).toMatchObject({ status, error });
}

async function signUpOptions(email: string, options?: Record<string, unknown>) {
  const response = await api("/signup/webauthn", { body: { email, ...(options ? { options } : {}) } });
  expect(response.status, response.text).toBe(200);
  return response.json;
}

/** Signs up a fresh passkey user; returns its authenticator, key id and session. */
async function passkeyUser(email = uniqueEmail("passkey")) {
  const authenticator = new SoftwareAuthenticator(ORIGIN);
  const credential = await authenticator.register(await signUpOptions(email));
  const response = await api("/signup/webauthn/verify", { body: { credential, nickname: "first key" } });
  expect(response.status, response.text).toBe(200);
  return { email, authenticator, keyId: credential.id, session: response.json.session, userId: response.json.session.user.id as string };
}

async function signInOptions(email?: string) {
  const response = await api("/signin/webauthn", email === undefined ? { method: "POST" } : { body: { email } });
  expect(response.status, response.text).toBe(200);
  return response.json;
}

async function elevate(authenticator: SoftwareAuthenticator, accessToken: string) {
  const options = await api("/elevate/webauthn", { method: "POST", token: accessToken });
  expect(options.status, options.text).toBe(200);
  const credential = await authenticator.assert(options.json);
  const response = await api("/elevate/webauthn/verify", { body: { credential }, token: accessToken });
  expect(response.status, response.text).toBe(200);
  return response.json.session;
}

function claimsOf(accessToken: string) {
  return decodeJwt(accessToken) as Record<string, any>;
}

/** The app under other settings; one env object per setting so its config is parsed once. */
function appWith(overrides: Record<string, string>) {
  const bindings = { ...env, ...overrides } as Env;
  return async (path: string, init: { body?: unknown; token?: string; method?: string } = {}) => {
    const ctx = createExecutionContext();
    const headers: Record<string, string> = {};
    if (init.body !== undefined) headers["content-type"] = "application/json";
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    const response = await appFetch(
      new Request(`http://localhost${path}`, {
        method: init.method ?? "POST",
        headers,
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      }),
      bindings,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const text = await response.text();
    return { status: response.status, text, json: text === "" ? undefined : JSON.parse(text) };
  };
}

async function setUserColumn(userId: string, column: "disabled" | "email_verified", value: 0 | 1) {
  await env.DB.prepare(`UPDATE users SET ${column} = ? WHERE id = ?`).bind(value, userId).run();
}

describe("passkey settings", () => {
  const base = { PUBLIC_URL: "https://auth.example.org", REFRESH_TOKEN_SECRET: "x".repeat(32) };

  it("defaults: off, RP ID from PUBLIC_URL, origin from CLIENT_URL (else PUBLIC_URL), 300 s challenges and elevation", () => {
    const config = parseConfig({ ...base, CLIENT_URL: "https://app.example.org/path" });
    expect(config.webauthn).toEqual({ enabled: false, rpId: "auth.example.org", rpName: "edgeauth", origins: ["https://app.example.org"], challengeTtlSeconds: 300 });
    expect(config.elevationTtlSeconds).toBe(300);
    expect(parseConfig(base).webauthn.origins).toEqual(["https://auth.example.org"]);
  });

  it("fails fast on an origin outside the RP ID, a non-origin, or a bad lifetime", () => {
    const on = { ...base, WEBAUTHN_ENABLED: "true", WEBAUTHN_RP_ID: "example.org" };
    expect(parseConfig({ ...on, WEBAUTHN_RP_ORIGINS: "https://a.example.org,https://example.org" }).webauthn.origins).toHaveLength(2);
    expect(() => parseConfig({ ...on, WEBAUTHN_RP_ORIGINS: "https://example.org.evil.net" })).toThrow(ConfigError);
    expect(() => parseConfig({ ...on, WEBAUTHN_RP_ORIGINS: "https://notexample.org" })).toThrow(ConfigError);
    expect(() => parseConfig({ ...on, WEBAUTHN_RP_ORIGINS: "https://a.example.org/path" })).toThrow(ConfigError);
    expect(() => parseConfig({ ...on, WEBAUTHN_CHALLENGE_TTL_SECONDS: "5" })).toThrow(ConfigError);
    expect(() => parseConfig({ ...on, ELEVATION_TTL_SECONDS: "soon" })).toThrow(ConfigError);
  });
});

describe("POST /signup/webauthn and /signup/webauthn/verify", () => {
  it("answers PublicKeyCredentialCreationOptions with the RP from settings and a fresh user handle", async () => {
    const email = uniqueEmail("opts");
    const options = await signUpOptions(email);
    expect(options.rp).toEqual({ id: RP_ID, name: "edgeauth" });
    expect(options.user.name).toBe(email);
    expect(options.user.displayName).toBe(email);
    expect(fromB64url(options.challenge).length).toBeGreaterThanOrEqual(16);
    expect(options.pubKeyCredParams.map((p: { alg: number }) => p.alg)).toContain(-7);
    expect(options.timeout).toBe(WEBAUTHN_CHALLENGE_TTL_SECONDS_DEFAULT * 1000);
    expect(options.attestation).toBe("none");
    // Two requests, two challenges.
    expect((await signUpOptions(email)).challenge).not.toBe(options.challenge);
  });

  it("creates the user (email unverified), the credential and a session; the user handle is the user id", async () => {
    const email = uniqueEmail("signup");
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    const options = await signUpOptions(email, { displayName: "Pass Key", locale: "fr", metadata: { plan: "a" } });
    const credential = await authenticator.register(options);
    const response = await api("/signup/webauthn/verify", { body: { credential, nickname: "laptop" } });
    expect(response.status, response.text).toBe(200);
    const session = response.json.session;
    expect(session.user).toMatchObject({ email, emailVerified: false, displayName: "Pass Key", locale: "fr", metadata: { plan: "a" } });
    expect(new TextDecoder().decode(fromB64url(options.user.id))).toBe(session.user.id);
    expect((await api("/user", { token: session.accessToken })).json.email).toBe(email);
    const keys = await api("/user/webauthn", { token: session.accessToken });
    expect(keys.json.securityKeys).toEqual([
      { id: credential.id, nickname: "laptop", createdAt: expect.any(String), lastUsedAt: null, transports: ["usb", "internal"] },
    ]);
    // The password route knows nothing of this user.
    expectError(await api("/signin/email-password", { body: { email, password: GOOD_PASSWORD } }), 401, "invalid-email-password");
  });

  it("is user-already-exists for a taken address, at the challenge and (for a race) at verify", async () => {
    const { email } = await signUp(uniqueEmail("taken"));
    expectError(await api("/signup/webauthn", { body: { email } }), 409, "user-already-exists");

    const racing = uniqueEmail("race");
    const first = new SoftwareAuthenticator(ORIGIN);
    const second = new SoftwareAuthenticator(ORIGIN);
    const a = await first.register(await signUpOptions(racing));
    const b = await second.register(await signUpOptions(racing));
    expect((await api("/signup/webauthn/verify", { body: { credential: a } })).status).toBe(200);
    expectError(await api("/signup/webauthn/verify", { body: { credential: b } }), 409, "user-already-exists");
  });

  it("checks sign-up options like the other sign-up routes", async () => {
    const email = uniqueEmail("options");
    expectError(await api("/signup/webauthn", { body: { email, options: { allowedRoles: ["admin"] } } }), 400, "role-not-allowed");
    // An unsupported locale falls back to the default, as Nhost does.
    expect((await api("/signup/webauthn", { body: { email, options: { locale: "de" } } })).status).toBe(200);
    expectError(
      await api("/signup/webauthn", { body: { email, options: { redirectTo: "https://evil.example.net/" } } }),
      400,
      "redirectTo-not-allowed",
    );
    expectError(
      await api("/signup/webauthn", { body: { email, options: { defaultRole: "editor", allowedRoles: ["user"] } } }),
      400,
      "default-role-must-be-in-allowed-roles",
    );
    // Options sent with verify are checked too.
    const credential = await new SoftwareAuthenticator(ORIGIN).register(await signUpOptions(email));
    expectError(await api("/signup/webauthn/verify", { body: { credential, options: { allowedRoles: ["admin"] } } }), 400, "role-not-allowed");
  });

  it("is signup-disabled with SIGNUP_DISABLED, and disabled-endpoint on every route unless WEBAUTHN_ENABLED", async () => {
    const closed = appWith({ SIGNUP_DISABLED: "true" });
    expectError(await closed("/signup/webauthn", { body: { email: uniqueEmail() } }), 403, "signup-disabled");
    const credential = await new SoftwareAuthenticator(ORIGIN).register(await signUpOptions(uniqueEmail()));
    expectError(await closed("/signup/webauthn/verify", { body: { credential } }), 403, "signup-disabled");

    const off = appWith({ WEBAUTHN_ENABLED: "false" });
    const { session } = await signUp();
    const assertion = { id: "AA", rawId: "AA", type: "public-key", response: { clientDataJSON: "AA", authenticatorData: "AA", signature: "AA" } };
    const calls: [string, { body?: unknown; token?: string; method?: string }][] = [
      ["/signup/webauthn", { body: { email: uniqueEmail() } }],
      ["/signup/webauthn/verify", { body: { credential } }],
      ["/signin/webauthn", {}],
      ["/signin/webauthn/verify", { body: { credential: assertion } }],
      ["/elevate/webauthn", { token: session.accessToken }],
      ["/elevate/webauthn/verify", { body: { credential: assertion }, token: session.accessToken }],
      ["/user/webauthn/add", { token: session.accessToken }],
      ["/user/webauthn/verify", { body: { credential }, token: session.accessToken }],
      ["/user/webauthn", { method: "GET", token: session.accessToken }],
      ["/user/webauthn/AA", { method: "DELETE", token: session.accessToken }],
    ];
    for (const [path, init] of calls) expectError(await off(path, init), 409, "disabled-endpoint");
  });

  it("with REQUIRE_VERIFIED_EMAIL answers no session and sends the verification mail; sign-in is unverified-user", async () => {
    const verified = appWith({ REQUIRE_VERIFIED_EMAIL: "true" });
    const email = uniqueEmail("unverified");
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    const options = await verified("/signup/webauthn", { body: { email } });
    const credential = await authenticator.register(options.json);
    const response = await verified("/signup/webauthn/verify", { body: { credential } });
    expect(response.status, response.text).toBe(200);
    expect(response.json).toEqual({ session: null });
    const mails = (await api("/_dev/outbox")).json.mails as { to: string }[];
    expect(mails.some((mail) => mail.to === email)).toBe(true);

    // Concealed (the default), the options do not tell; with ENUMERATION_PROTECTION=false they do.
    const concealed = await verified("/signin/webauthn", { body: { email } });
    expect(concealed.status).toBe(200);
    expect(concealed.json.allowCredentials.map((c: { id: string }) => c.id)).not.toContain(credential.id);
    expectError(await appWith({ REQUIRE_VERIFIED_EMAIL: "true", ENUMERATION_PROTECTION: "false" })("/signin/webauthn", { body: { email } }), 401, "unverified-user");
    // Discoverable sign-in reaches the same check after the signature.
    const discoverable = await verified("/signin/webauthn", {});
    const assertion = await authenticator.assert(discoverable.json);
    expectError(await verified("/signin/webauthn/verify", { body: { credential: assertion } }), 401, "unverified-user");
  });
});

describe("POST /signin/webauthn and /signin/webauthn/verify", () => {
  it("signs in with an email (allowCredentials lists the user's keys) and advances counter and lastUsedAt", async () => {
    const user = await passkeyUser();
    const options = await signInOptions(user.email);
    expect(options).toMatchObject({ rpId: RP_ID, userVerification: "preferred", timeout: WEBAUTHN_CHALLENGE_TTL_SECONDS_DEFAULT * 1000 });
    expect(options.allowCredentials.map((c: { id: string }) => c.id)).toEqual([user.keyId]);
    const credential = await user.authenticator.assert(options);
    const response = await api("/signin/webauthn/verify", { body: { credential, email: user.email } });
    expect(response.status, response.text).toBe(200);
    expect(response.json.session.user.id).toBe(user.userId);
    expect(response.json.session.refreshToken).not.toBe(user.session.refreshToken);
    const [key] = (await api("/user/webauthn", { token: response.json.session.accessToken })).json.securityKeys;
    expect(key.lastUsedAt).not.toBeNull();
    const row = await env.DB.prepare("SELECT counter FROM webauthn_credentials WHERE id = ?").bind(user.keyId).first<{ counter: number }>();
    expect(row?.counter).toBe(1);
  });

  it("signs in with a discoverable credential and no email (body optional), and for an unknown email", async () => {
    const user = await passkeyUser();
    const options = await signInOptions();
    expect(options.allowCredentials).toEqual([]);
    const response = await api("/signin/webauthn/verify", { body: { credential: await user.authenticator.assert(options) } });
    expect(response.status, response.text).toBe(200);
    expect(response.json.session.user.id).toBe(user.userId);
  });

  it("answers an unknown email, a user without keys and a disabled user with a stable stand-in key, like a real user's", async () => {
    const nobody = uniqueEmail("nobody");
    const unknown = await signInOptions(nobody);
    expect(unknown.allowCredentials).toHaveLength(1);
    expect(unknown.allowCredentials[0].id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // The same on every call, as a real user's key list would be.
    expect((await signInOptions(nobody)).allowCredentials).toEqual(unknown.allowCredentials);
    expect((await signInOptions(uniqueEmail("nobody-else"))).allowCredentials).not.toEqual(unknown.allowCredentials);
    const { email: keyless } = await signUp(uniqueEmail("keyless"));
    expect((await signInOptions(keyless)).allowCredentials).toHaveLength(1);
    // With ENUMERATION_PROTECTION=false an unknown email is a discoverable challenge.
    const open = await appWith({ ENUMERATION_PROTECTION: "false" })("/signin/webauthn", { body: { email: nobody } });
    expect(open.json.allowCredentials).toEqual([]);
  });

  it("is disabled-user for a disabled user: at verify, and at the challenge when errors are not concealed", async () => {
    const user = await passkeyUser();
    const discoverable = await signInOptions();
    await setUserColumn(user.userId, "disabled", 1);
    const concealed = await signInOptions(user.email);
    expect(concealed.allowCredentials.map((c: { id: string }) => c.id)).not.toContain(user.keyId);
    expectError(await appWith({ ENUMERATION_PROTECTION: "false" })("/signin/webauthn", { body: { email: user.email } }), 401, "disabled-user");
    const credential = await user.authenticator.assert(discoverable);
    expectError(await api("/signin/webauthn/verify", { body: { credential } }), 401, "disabled-user");
  });

  it("refuses a replayed response: challenges are single-use", async () => {
    const user = await passkeyUser();
    const options = await signInOptions(user.email);
    const credential = await user.authenticator.assert(options);
    expect((await api("/signin/webauthn/verify", { body: { credential } })).status).toBe(200);
    expectError(await api("/signin/webauthn/verify", { body: { credential } }), 400, "invalid-request");
    // A fresh, correctly signed answer (higher counter) to the used challenge: refused all the same.
    const second = await user.authenticator.assert(options);
    expectError(await api("/signin/webauthn/verify", { body: { credential: second } }), 400, "invalid-request");
    // Sign-up challenges too.
    const fresh = new SoftwareAuthenticator(ORIGIN);
    const registration = await fresh.register(await signUpOptions(uniqueEmail("replay")));
    expect((await api("/signup/webauthn/verify", { body: { credential: registration } })).status).toBe(200);
    expectError(await api("/signup/webauthn/verify", { body: { credential: registration } }), 400, "invalid-request");
  });

  it("refuses an expired challenge and accepts one just inside its lifetime", async () => {
    const user = await passkeyUser();
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    // `late` carries the higher counter, so only its expiry can refuse it.
    const late = await user.authenticator.assert(await signInOptions(user.email), { counter: 10 });
    const inTime = await user.authenticator.assert(await signInOptions(user.email), { counter: 1 });
    vi.setSystemTime(t0 + WEBAUTHN_CHALLENGE_TTL_SECONDS_DEFAULT * 1000 - 1000);
    expect((await api("/signin/webauthn/verify", { body: { credential: inTime } })).status).toBe(200);
    vi.setSystemTime(t0 + WEBAUTHN_CHALLENGE_TTL_SECONDS_DEFAULT * 1000 + 1000);
    expectError(await api("/signin/webauthn/verify", { body: { credential: late } }), 400, "invalid-request");
  });

  it("refuses a wrong origin, a wrong RP ID, a wrong type, and a challenge we never issued", async () => {
    const user = await passkeyUser();
    const mutations = [
      { origin: "https://evil.example.net" },
      { origin: "http://app.example.com" },
      { rpId: "evil.example.net" },
      { rpId: "app.example.com" },
      { type: "webauthn.create" },
    ];
    for (const overrides of mutations) {
      const credential = await user.authenticator.assert(await signInOptions(user.email), overrides);
      expectError(await api("/signin/webauthn/verify", { body: { credential } }), 400, "invalid-request");
    }
    const options = await signInOptions(user.email);
    const forged = await user.authenticator.assert({ ...options, challenge: b64url(crypto.getRandomValues(new Uint8Array(32))) });
    expectError(await api("/signin/webauthn/verify", { body: { credential: forged } }), 400, "invalid-request");
    // Registration checks origin and RP ID the same way.
    for (const overrides of [{ origin: "https://evil.example.net" }, { rpId: "evil.example.net" }]) {
      const credential = await new SoftwareAuthenticator(ORIGIN).register(await signUpOptions(uniqueEmail("bad-reg")), overrides);
      expectError(await api("/signup/webauthn/verify", { body: { credential } }), 400, "invalid-request");
    }
  });

  it("refuses a flipped signature bit, and the failed attempt burns the challenge", async () => {
    const user = await passkeyUser();
    const options = await signInOptions(user.email);
    const flipped = await user.authenticator.assert(options, {
      counter: 10,
      signature: (der) => {
        const copy = Uint8Array.from(der);
        copy[copy.length - 1]! ^= 0x01;
        return copy;
      },
    });
    expectError(await api("/signin/webauthn/verify", { body: { credential: flipped } }), 400, "invalid-request");
    const honest = await user.authenticator.assert(options, { counter: 11 });
    expectError(await api("/signin/webauthn/verify", { body: { credential: honest } }), 400, "invalid-request");
  });

  it("refuses a signature that is valid but not canonical DER (strict DER, see README)", async () => {
    const user = await passkeyUser();
    // Long-form SEQUENCE length: the same r and s, a BER encoding @simplewebauthn would accept.
    const longForm = (der: Uint8Array) => concat(new Uint8Array([0x30, 0x81, der[1]!]), der.subarray(2));
    const ber = await user.authenticator.assert(await signInOptions(user.email), { signature: longForm });
    expectError(await api("/signin/webauthn/verify", { body: { credential: ber } }), 400, "invalid-request");
    const trailing = await user.authenticator.assert(await signInOptions(user.email), {
      signature: (der) => concat(new Uint8Array([0x30, der[1]! + 1]), der.subarray(2), new Uint8Array([0])),
    });
    expectError(await api("/signin/webauthn/verify", { body: { credential: trailing } }), 400, "invalid-request");
    const der = await user.authenticator.assert(await signInOptions(user.email));
    expect((await api("/signin/webauthn/verify", { body: { credential: der } })).status).toBe(200);
  });

  it("refuses a counter that does not increase, and allows authenticators without counters", async () => {
    const user = await passkeyUser();
    const at = async (counter: number) =>
      api("/signin/webauthn/verify", { body: { credential: await user.authenticator.assert(await signInOptions(user.email), { counter }) } });
    expect((await at(5)).status).toBe(200);
    expectError(await at(5), 400, "invalid-request");
    expectError(await at(3), 400, "invalid-request");
    expect((await at(6)).status).toBe(200);

    const counterless = new SoftwareAuthenticator(ORIGIN);
    const email = uniqueEmail("counterless");
    const registration = await counterless.register(await signUpOptions(email));
    expect((await api("/signup/webauthn/verify", { body: { credential: registration } })).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const credential = await counterless.assert(await signInOptions(email), { counter: 0 });
      expect((await api("/signin/webauthn/verify", { body: { credential } })).status).toBe(200);
    }
  });

  it("refuses a credential of another user, an unknown credential, a mismatched user handle and id ≠ rawId", async () => {
    const alice = await passkeyUser();
    const bob = await passkeyUser();
    // Alice's challenge (bound to her), answered by Bob's key.
    const foreign = await bob.authenticator.assert(await signInOptions(alice.email), { credentialId: bob.keyId });
    expectError(await api("/signin/webauthn/verify", { body: { credential: foreign } }), 400, "invalid-request");
    const unknown = await alice.authenticator.assert(await signInOptions(alice.email), {
      claimedId: b64url(crypto.getRandomValues(new Uint8Array(32))),
    });
    expectError(await api("/signin/webauthn/verify", { body: { credential: unknown } }), 400, "invalid-request");
    const wrongHandle = await alice.authenticator.assert(await signInOptions(), { userHandle: b64url(new TextEncoder().encode(bob.userId)) });
    expectError(await api("/signin/webauthn/verify", { body: { credential: wrongHandle } }), 400, "invalid-request");
    const split = await alice.authenticator.assert(await signInOptions(alice.email));
    expectError(await api("/signin/webauthn/verify", { body: { credential: { ...split, id: bob.keyId } } }), 400, "invalid-request");
    // Without a user handle (non-discoverable) the stored credential still names the user.
    const noHandle = await alice.authenticator.assert(await signInOptions(alice.email), { userHandle: null });
    expect((await api("/signin/webauthn/verify", { body: { credential: noHandle } })).status).toBe(200);
  });

  it("refuses a challenge issued for another ceremony", async () => {
    const user = await passkeyUser();
    const elevateOptions = (await api("/elevate/webauthn", { method: "POST", token: user.session.accessToken })).json;
    const fromElevate = await user.authenticator.assert(elevateOptions);
    expectError(await api("/signin/webauthn/verify", { body: { credential: fromElevate } }), 400, "invalid-request");
    const fromSignIn = await user.authenticator.assert(await signInOptions(user.email));
    expectError(
      await api("/elevate/webauthn/verify", { body: { credential: fromSignIn }, token: user.session.accessToken }),
      400,
      "invalid-request",
    );
    // The ceremony's own route still accepts it afterwards: a mismatch does not consume.
    expect((await api("/signin/webauthn/verify", { body: { credential: fromSignIn } })).status).toBe(200);
    // A sign-up challenge cannot add a key to an existing account, nor the reverse.
    const signUpChallenge = await new SoftwareAuthenticator(ORIGIN).register(await signUpOptions(uniqueEmail("cross")));
    const elevated = await elevate(user.authenticator, user.session.accessToken);
    expectError(
      await api("/user/webauthn/verify", { body: { credential: signUpChallenge }, token: elevated.accessToken }),
      400,
      "invalid-request",
    );
    const addOptions = (await api("/user/webauthn/add", { method: "POST", token: elevated.accessToken })).json;
    const addChallenge = await new SoftwareAuthenticator(ORIGIN).register(addOptions);
    expectError(await api("/signup/webauthn/verify", { body: { credential: addChallenge } }), 400, "invalid-request");
  });
});

describe("POST /user/webauthn/add, /user/webauthn/verify; GET and DELETE /user/webauthn", () => {
  it("lets a password user add a first key with a plain session, then sign in with it", async () => {
    const { email, session } = await signUp(uniqueEmail("first-key"));
    const authenticator = new SoftwareAuthenticator(ORIGIN);
    const options = await api("/user/webauthn/add", { method: "POST", token: session.accessToken });
    expect(options.status, options.text).toBe(200);
    expect(options.json).toMatchObject({ rp: { id: RP_ID }, user: { name: email }, excludeCredentials: [] });
    const credential = await authenticator.register(options.json);
    const added = await api("/user/webauthn/verify", { body: { credential, nickname: "yubikey" }, token: session.accessToken });
    expect(added.status, added.text).toBe(200);
    expect(added.json).toEqual({ id: credential.id, nickname: "yubikey" });
    const signIn = await api("/signin/webauthn/verify", { body: { credential: await authenticator.assert(await signInOptions(email)) } });
    expect(signIn.json.session.user.id).toBe(session.user.id);
  });

  it("needs elevation to add a second key; the list shows both; the new key signs in", async () => {
    const user = await passkeyUser();
    expectError(await api("/user/webauthn/add", { method: "POST", token: user.session.accessToken }), 401, "elevated-claim-required");
    const elevated = await elevate(user.authenticator, user.session.accessToken);
    const options = await api("/user/webauthn/add", { method: "POST", token: elevated.accessToken });
    expect(options.status, options.text).toBe(200);
    expect(options.json.excludeCredentials.map((c: { id: string }) => c.id)).toEqual([user.keyId]);
    const phone = new SoftwareAuthenticator(ORIGIN);
    const credential = await phone.register(options.json);
    // The verify step needs elevation too.
    expectError(await api("/user/webauthn/verify", { body: { credential }, token: user.session.accessToken }), 401, "elevated-claim-required");
    const added = await api("/user/webauthn/verify", { body: { credential }, token: elevated.accessToken });
    expect(added.status, added.text).toBe(200);
    expect(added.json).toEqual({ id: credential.id });
    const list = await api("/user/webauthn", { token: user.session.accessToken });
    expect(list.json.securityKeys.map((k: { id: string; nickname: string | null }) => [k.id, k.nickname])).toEqual([
      [user.keyId, "first key"],
      [credential.id, null],
    ]);
    const options2 = await signInOptions(user.email);
    expect(options2.allowCredentials).toHaveLength(2);
    const signIn = await api("/signin/webauthn/verify", { body: { credential: await phone.assert(options2) } });
    expect(signIn.json.session.user.id).toBe(user.userId);
  });

  it("deletes a key only with elevation, and only the caller's own", async () => {
    const user = await passkeyUser();
    const other = await passkeyUser();
    expectError(await api(`/user/webauthn/${user.keyId}`, { method: "DELETE", token: user.session.accessToken }), 401, "elevated-claim-required");
    const elevated = await elevate(user.authenticator, user.session.accessToken);
    expectError(await api(`/user/webauthn/${other.keyId}`, { method: "DELETE", token: elevated.accessToken }), 404, "not-found");
    expect((await api(`/user/webauthn/${user.keyId}`, { method: "DELETE", token: elevated.accessToken })).status).toBe(200);
    expect((await api("/user/webauthn", { token: user.session.accessToken })).json.securityKeys).toEqual([]);
    const options = await signInOptions(user.email);
    expect(options.allowCredentials.map((c: { id: string }) => c.id)).not.toContain(user.keyId);
  });

  it("is forbidden-anonymous for anonymous users and unauthenticated-user without a token", async () => {
    const anonymous = (await api("/signin/anonymous", { method: "POST" })).json.session;
    expectError(await api("/user/webauthn/add", { method: "POST", token: anonymous.accessToken }), 403, "forbidden-anonymous");
    expectError(await api("/elevate/webauthn", { method: "POST", token: anonymous.accessToken }), 403, "forbidden-anonymous");
    expectError(await api("/user/webauthn/add", { method: "POST" }), 401, "unauthenticated-user");
    expectError(await api("/elevate/webauthn", { method: "POST" }), 401, "unauthenticated-user");
    expectError(await api("/user/webauthn"), 401, "unauthenticated-user");
  });
});

describe("elevation: /elevate/webauthn and the BearerAuthElevated routes", () => {
  // A fresh user per test: an elevated password change ends the user's other sessions.
  let user: Awaited<ReturnType<typeof passkeyUser>>;
  beforeEach(async () => {
    user = await passkeyUser();
  });

  it("issues a new session whose token carries x-hasura-auth-elevated and elevatedAt", async () => {
    const before = Math.floor(Date.now() / 1000);
    const elevated = await elevate(user.authenticator, user.session.accessToken);
    const claims = claimsOf(elevated.accessToken);
    expect(claims[HASURA_CLAIMS_NAMESPACE]["x-hasura-auth-elevated"]).toBe(user.userId);
    expect(claims.elevatedAt).toBeGreaterThanOrEqual(before);
    expect(claims.elevatedAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    expect(claims.sid).not.toBe(claimsOf(user.session.accessToken).sid);
    expect(claimsOf(user.session.accessToken)[HASURA_CLAIMS_NAMESPACE]).not.toHaveProperty("x-hasura-auth-elevated");
    // Refreshing gives a plain token again: elevation is not carried forward.
    const refreshed = await api("/token", { body: { refreshToken: elevated.refreshToken } });
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(claimsOf(refreshed.json.accessToken)[HASURA_CLAIMS_NAMESPACE]).not.toHaveProperty("x-hasura-auth-elevated");
  });

  it("refuses a plain session on every elevated-only route when the user has a key, and accepts an elevated one", async () => {
    const plain = user.session.accessToken;
    const routes = (token: string) => [
      () => api("/pat", { body: { expiresAt: new Date(Date.now() + 86_400_000).toISOString() }, token }),
      () => api("/user/email/change", { body: { newEmail: uniqueEmail("new") }, token }),
      () => api("/user/webauthn/add", { method: "POST", token }),
      // Last: a password change ends every session of the user, the caller's too.
      () => api("/user/password", { body: { newPassword: "another good password" }, token }),
    ];
    for (const call of routes(plain)) expectError(await call(), 401, "elevated-claim-required");
    const elevated = await elevate(user.authenticator, plain);
    for (const call of routes(elevated.accessToken)) {
      const response = await call();
      expect(response.status, response.text).toBe(200);
    }
  });

  it("does not ask users without a key to elevate", async () => {
    const { session } = await signUp(uniqueEmail("no-key"));
    const pat = await api("/pat", { body: { expiresAt: new Date(Date.now() + 86_400_000).toISOString() }, token: session.accessToken });
    expect(pat.status, pat.text).toBe(200);
    expectError(await api("/elevate/webauthn", { method: "POST", token: session.accessToken }), 400, "invalid-request");
  });

  it("stops counting a token as elevated ELEVATION_TTL_SECONDS after elevatedAt", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const t0 = Date.now();
    vi.setSystemTime(t0);
    const elevated = await elevate(user.authenticator, user.session.accessToken);
    const patAt = () => api("/pat", { body: { expiresAt: new Date(Date.now() + 86_400_000).toISOString() }, token: elevated.accessToken });
    vi.setSystemTime(t0 + (ELEVATION_TTL_SECONDS_DEFAULT - 2) * 1000);
    expect((await patAt()).status).toBe(200);
    vi.setSystemTime(t0 + (ELEVATION_TTL_SECONDS_DEFAULT + 1) * 1000);
    // The access token itself is still valid (900 s); only its elevation has lapsed.
    expect((await api("/user", { token: elevated.accessToken })).status).toBe(200);
    expectError(await patAt(), 401, "elevated-claim-required");
  });

  it("binds the elevation challenge to the caller: another user's key or challenge is refused", async () => {
    const other = await passkeyUser();
    const options = (await api("/elevate/webauthn", { method: "POST", token: user.session.accessToken })).json;
    // Another user's key on the caller's challenge.
    const foreignKey = await other.authenticator.assert({ ...options, allowCredentials: [] });
    expectError(
      await api("/elevate/webauthn/verify", { body: { credential: foreignKey }, token: user.session.accessToken }),
      400,
      "invalid-request",
    );
    // The caller's own assertion presented with another user's token.
    const otherOptions = (await api("/elevate/webauthn", { method: "POST", token: user.session.accessToken })).json;
    const mine = await user.authenticator.assert(otherOptions);
    expectError(
      await api("/elevate/webauthn/verify", { body: { credential: mine }, token: other.session.accessToken }),
      400,
      "invalid-request",
    );
    expectError(await api("/elevate/webauthn/verify", { body: { credential: mine } }), 401, "unauthenticated-user");
  });

  it("refuses a token whose elevation names another user or carries no elevatedAt", async () => {
    const base = claimsOf(user.session.accessToken) as any;
    const now = Date.now();
    const with_ = (hasura: Record<string, string>, top: Record<string, unknown>) => ({
      ...base,
      ...top,
      [HASURA_CLAIMS_NAMESPACE]: { ...base[HASURA_CLAIMS_NAMESPACE], ...hasura },
    });
    const at = Math.floor(now / 1000);
    expect(isElevated(with_({ "x-hasura-auth-elevated": user.userId }, { elevatedAt: at }), 300, now)).toBe(true);
    expect(isElevated(with_({ "x-hasura-auth-elevated": "someone-else" }, { elevatedAt: at }), 300, now)).toBe(false);
    expect(isElevated(with_({ "x-hasura-auth-elevated": user.userId }, {}), 300, now)).toBe(false);
    expect(isElevated(with_({ "x-hasura-auth-elevated": user.userId }, { elevatedAt: String(at) }), 300, now)).toBe(false);
    expect(isElevated(with_({ "x-hasura-auth-elevated": user.userId }, { elevatedAt: at + 60 }), 300, now)).toBe(false);
    expect(isElevated(with_({ "x-hasura-auth-elevated": user.userId }, { elevatedAt: at - 300 }), 300, now)).toBe(false);
  });
});

describe("bad input", () => {
  it("answers 400 invalid-request for malformed bodies", async () => {
    const user = await passkeyUser();
    const good = await user.authenticator.assert(await signInOptions(user.email));
    const bodies: unknown[] = [
      "not json",
      {},
      { credential: null },
      { credential: { ...good, type: "password" } },
      { credential: { ...good, id: "not base64url!" } },
      { credential: { ...good, extra: 1 } },
      { credential: { ...good, response: { ...good.response, signature: undefined } } },
      { credential: { ...good, response: { ...good.response, clientDataJSON: b64url(new TextEncoder().encode("{not json")) } } },
      { credential: { ...good, response: { ...good.response, clientDataJSON: b64url(new TextEncoder().encode('{"challenge":5}')) } } },
      { credential: good, email: "not an email" },
    ];
    for (const body of bodies) expectError(await api("/signin/webauthn/verify", { body }), 400, "invalid-request");
    for (const body of ["x", {}, { email: "nope" }, { email: uniqueEmail(), options: { displayName: "x/y" } }, { email: uniqueEmail(), extra: true }]) {
      expectError(await api("/signup/webauthn", { body }), 400, "invalid-request");
    }
    expectError(await api("/signin/webauthn", { body: { email: "nope" } }), 400, "invalid-request");
    const registration = await new SoftwareAuthenticator(ORIGIN).register(await signUpOptions(uniqueEmail("bad")));
    for (const body of [
      { credential: { ...registration, response: { clientDataJSON: registration.response.clientDataJSON } } },
      { credential: registration, nickname: "" },
      { credential: registration, nickname: "x".repeat(65) },
      { credential: { ...registration, response: { ...registration.response, attestationObject: b64url(new Uint8Array([0xa0])) } } },
    ]) {
      expectError(await api("/signup/webauthn/verify", { body }), 400, "invalid-request");
    }
    // A registration without user presence, or without the attested credential data, is refused.
    for (const flags of [FLAG_UV | FLAG_AT, 0x01 | FLAG_UV]) {
      const credential = await new SoftwareAuthenticator(ORIGIN).register(await signUpOptions(uniqueEmail("flags")), { flags });
      expectError(await api("/signup/webauthn/verify", { body: { credential } }), 400, "invalid-request");
    }
    const noPresence = await user.authenticator.assert(await signInOptions(user.email), { flags: FLAG_UV });
    expectError(await api("/signin/webauthn/verify", { body: { credential: noPresence } }), 400, "invalid-request");
  });
});
