/**
 * Hostile and malformed input on every POST route: each answer is the
 * documented 4xx with an `{ status, error, message }` body, never a 500, and no
 * row is written (design §9). Also unknown paths and wrong methods.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { api, GOOD_PASSWORD, signIn, signUp, workerFetch } from "./helpers";

const MAX_BODY_BYTES = 64 * 1024;
const TABLES = ["users", "user_roles", "refresh_tokens", "tickets"] as const;

interface Answer {
  status: number;
  text: string;
  json: any;
}

let accessToken: string;
let refreshToken: string;
let email: string;
let rowsBefore: { rows: Record<string, number>; passwordHashes: string };

async function countRows() {
  const rows: Record<string, number> = {};
  for (const table of TABLES) {
    rows[table] = (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
  }
  // Rotations and revocations write no new rows, so count those states too.
  const states = await env.DB.prepare(
    "SELECT count(rotated_at) AS rotated, count(revoked_at) AS revoked FROM refresh_tokens",
  ).first<{ rotated: number; revoked: number }>();
  rows.rotated = states!.rotated;
  rows.revoked = states!.revoked;
  const passwords = await env.DB.prepare("SELECT group_concat(password_hash) AS hashes FROM (SELECT password_hash FROM users ORDER BY id)").first<{
    hashes: string;
  }>();
  return { rows, passwordHashes: passwords!.hashes };
}

/** Sends raw bytes or text, with no JSON serialisation by the helper. */
async function raw(path: string, body: BodyInit | null, headers: Record<string, string> = {}, method = "POST"): Promise<Answer> {
  const response = await workerFetch(`http://localhost${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const text = await response.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

function expectError(answer: Answer, status: number, error: string, label = "") {
  expect(answer.status, `${label} ${answer.text}`).toBe(status);
  expect(answer.json, `${label} ${answer.text}`).toBeTypeOf("object");
  expect(Object.keys(answer.json).sort(), label).toEqual(["error", "message", "status"]);
  expect(answer.json.status, label).toBe(status);
  expect(answer.json.error, label).toBe(error);
  expect(typeof answer.json.message, label).toBe("string");
}

function expectClientError(answer: Answer, label = "") {
  expect(answer.status, `${label} ${answer.text}`).toBeGreaterThanOrEqual(400);
  expect(answer.status, `${label} ${answer.text}`).toBeLessThan(500);
  expect(Object.keys(answer.json ?? {}).sort(), `${label} ${answer.text}`).toEqual(["error", "message", "status"]);
  expect(answer.json.status, label).toBe(answer.status);
}

/** A body that streams past the cap without declaring its length. */
function streamOf(totalBytes: number): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode(`{"pad":"${"a".repeat(8 * 1024)}`);
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= totalBytes) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

const POST_ROUTES = ["/signup/email-password", "/signin/email-password", "/token", "/signout", "/token/verify", "/user/password"];

/** A valid-looking body per route, for the cases that change one thing about it. */
function validBody(route: string): Record<string, unknown> {
  switch (route) {
    case "/signup/email-password":
      return { email: "valid-shape@example.com", password: GOOD_PASSWORD };
    case "/signin/email-password":
      return { email, password: "not the password" };
    case "/token":
      return { refreshToken: crypto.randomUUID() };
    case "/signout":
      return { refreshToken: crypto.randomUUID() };
    case "/token/verify":
      return { token: "x.y.z" };
    case "/user/password":
      return { newPassword: "a new valid passphrase", ticket: `passwordReset:${crypto.randomUUID()}` };
    default:
      throw new Error(route);
  }
}

beforeAll(async () => {
  const signedUp = await signUp();
  email = signedUp.email;
  accessToken = signedUp.session.accessToken;
  refreshToken = signedUp.session.refreshToken;
});

beforeEach(async () => {
  rowsBefore = await countRows();
});

afterEach(async () => {
  // Nothing any bad request did is visible in storage.
  expect(await countRows()).toEqual(rowsBefore);
});

describe.each(POST_ROUTES)("POST %s", (route) => {
  it("malformed JSON is invalid-request", async () => {
    for (const body of ['{"a":', "{a:1}", "{'a':1}", '{"a":1,}', "undefined", "NaN", '{"a":1}{"b":2}', "\u0000", "<xml/>"]) {
      expectError(await raw(route, body, {}), 400, "invalid-request", body);
    }
  });

  it("a body not declared application/json is 415 unsupported-media-type, before it is read", async () => {
    const json = JSON.stringify(validBody(route));
    // What a page on another origin can send without a CORS preflight, and near misses.
    for (const contentType of [
      "text/plain",
      "text/plain;charset=UTF-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "text/json",
      "application/jsonx",
      "application/json-patch+json",
      "application/json, text/plain",
      "",
    ]) {
      expectError(await raw(route, json, { "content-type": contentType }), 415, "unsupported-media-type", contentType);
    }
    expectError(await raw(route, "email=a%40b.c&password=x", { "content-type": "application/x-www-form-urlencoded" }), 415, "unsupported-media-type");
    // A body over the cap with the wrong type is refused for its type, unread.
    expectError(await raw(route, streamOf(MAX_BODY_BYTES * 2), { "content-type": "text/plain" }), 415, "unsupported-media-type");
  });

  it("a body without Content-Type is 415 unsupported-media-type", async () => {
    // Bytes, not a string: fetch would label a string body text/plain itself.
    const response = await workerFetch(`http://localhost${route}`, {
      method: "POST",
      body: new TextEncoder().encode(JSON.stringify(validBody(route))),
    });
    const text = await response.text();
    expectError({ status: response.status, text, json: JSON.parse(text) }, 415, "unsupported-media-type");
  });

  it("JSON that is not an object (array, string, number, boolean, null) is invalid-request", async () => {
    for (const body of ["[]", `[${JSON.stringify(validBody(route))}]`, '"text"', "42", "-1.5e308", "true", "false", "null"]) {
      expectError(await raw(route, body, {}, "POST"), 400, "invalid-request", body);
    }
  });

  it("unknown fields are invalid-request", async () => {
    // Written as text: an object literal's `__proto__` key would not survive JSON.stringify.
    for (const extra of ['"admin":true', '"__proto__":{"admin":true}', '"constructor":{"prototype":{"admin":true}}']) {
      const body = JSON.stringify(validBody(route)).replace(/^\{/, `{${extra},`);
      expectError(await raw(route, body, {}), 400, "invalid-request", body);
    }
  });

  it(`a body over ${MAX_BODY_BYTES} bytes is request-too-large (413), declared or streamed`, async () => {
    const big = JSON.stringify({ ...validBody(route), pad: "a".repeat(MAX_BODY_BYTES) });
    expectError(await raw(route, big, {}), 413, "request-too-large", "declared");
    expectError(await raw(route, streamOf(MAX_BODY_BYTES + 16 * 1024)), 413, "request-too-large", "streamed");
    // A declared length over the cap is refused before anything is read.
    expectError(await raw(route, streamOf(1024 * 1024), { "content-length": String(1024 * 1024) }), 413, "request-too-large", "content-length");
  });

  it("bytes that are not UTF-8 are invalid-request", async () => {
    const encoder = new TextEncoder();
    const valid = JSON.stringify(validBody(route));
    const key = Object.keys(validBody(route))[0]!;
    const prefix = encoder.encode(`{"${key}":"`);
    for (const bad of [[0xff, 0xfe], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
      const bytes = new Uint8Array([...prefix, ...bad, ...encoder.encode('"}')]);
      expectError(await raw(route, bytes), 400, "invalid-request", bad.join(","));
    }
    // A stray byte in an otherwise valid body too.
    const bytes = encoder.encode(valid);
    expectError(await raw(route, new Uint8Array([...bytes.slice(0, -1), 0xff, 0x7d])), 400, "invalid-request", "trailing");
  });

  it("every field swapped for a value of another type or shape answers a JSON 4xx", async () => {
    const weird: unknown[] = ["", " ", "\u0000", "😀", "\ud800", "ü".repeat(300), 0, -0, 1e308, -1, 3.14, true, false, null, [], [[]], {}, { "": "" }, ["x"]];
    const body = validBody(route);
    for (const field of Object.keys(body)) {
      for (const value of weird) {
        const answer = await api(route, { body: { ...body, [field]: value }, token: accessToken });
        expectClientError(answer, `${field}=${JSON.stringify(value)}`);
      }
    }
  });

  it("deeply nested JSON is refused without a 500", async () => {
    const depth = 20_000;
    expectClientError(await raw(route, `${"[".repeat(depth)}${"]".repeat(depth)}`), "arrays");
    expectClientError(await raw(route, `${'{"a":'.repeat(depth / 2)}1${"}".repeat(depth / 2)}`), "objects");
  });
});

describe("POST /signup/email-password fields", () => {
  const route = "/signup/email-password";
  const password = GOOD_PASSWORD;
  const address = "field-check@example.com";
  const huge = "a".repeat(60_000);

  it("missing required fields are invalid-request", async () => {
    for (const body of [{}, { email: address }, { password }, { options: {} }]) {
      expectError(await api(route, { body }), 400, "invalid-request", JSON.stringify(body));
    }
    expectError(await raw(route, ""), 400, "invalid-request", "empty body");
    expectError(await raw(route, null), 400, "invalid-request", "no body");
  });

  it("wrong types are invalid-request", async () => {
    const bodies: unknown[] = [];
    for (const email of [1, null, true, [], {}, [address]]) bodies.push({ email, password });
    for (const password of [123456789, null, false, [], {}, ["correct horse battery staple"]]) bodies.push({ email: address, password });
    for (const options of ["x", 1, [], true]) bodies.push({ email: address, password, options });
    for (const option of [
      { allowedRoles: "user" },
      { allowedRoles: [1] },
      { allowedRoles: [null] },
      { allowedRoles: [""] },
      { allowedRoles: { 0: "user" } },
      { defaultRole: 1 },
      { defaultRole: ["user"] },
      { defaultRole: "" },
      { displayName: 1 },
      { displayName: ["x"] },
      { locale: 1 },
      { locale: "e" },
      { locale: "engl" },
      { metadata: [] },
      { metadata: "x" },
      { metadata: 1 },
      { redirectTo: 1 },
      { redirectTo: ["https://app.example.com"] },
      { unknownOption: true },
    ]) {
      bodies.push({ email: address, password, options: option });
    }
    for (const body of bodies) expectError(await api(route, { body }), 400, "invalid-request", JSON.stringify(body));
  });

  it("huge strings are invalid-request", async () => {
    for (const body of [
      { email: `${huge}@example.com`, password },
      { email: address, password: huge },
      { email: address, password: "a".repeat(257) },
      { email: address, password, options: { displayName: huge } },
      { email: address, password, options: { defaultRole: huge } },
      { email: address, password, options: { allowedRoles: [huge] } },
      { email: address, password, options: { allowedRoles: Array.from({ length: 1000 }, () => "user") } },
      { email: address, password, options: { locale: huge } },
      { email: address, password, options: { redirectTo: `https://app.example.com/${huge}` } },
      { email: address, password, options: { metadata: { blob: "x".repeat(9 * 1024) } } },
    ]) {
      expectError(await api(route, { body }), 400, "invalid-request", JSON.stringify(body).slice(0, 120));
    }
  });

  it("metadata nested deeply or shaped to pollute prototypes does no harm", async () => {
    let nested: unknown = 1;
    for (let i = 0; i < 5_000; i++) nested = { a: nested };
    expectClientError(await api(route, { body: { email: address, password, options: { metadata: nested } } }), "nested metadata");
    expect(({} as any).polluted).toBeUndefined();
  });

  it("control characters and injection strings in the email are invalid-request", async () => {
    for (const email of ["a\u0000@example.com", "a@example.com\n", "a@example.com\r\nBcc: x@evil.com", "'; DROP TABLE users; --@example.com", "a@exa mple.com"]) {
      expectError(await api(route, { body: { email, password } }), 400, "invalid-request", JSON.stringify(email));
    }
  });
});

describe("POST /signin/email-password fields", () => {
  const route = "/signin/email-password";

  it("missing fields, wrong types and huge strings are invalid-request", async () => {
    const bodies: unknown[] = [
      {},
      { email },
      { password: GOOD_PASSWORD },
      { email: 1, password: GOOD_PASSWORD },
      { email: null, password: GOOD_PASSWORD },
      { email, password: 1 },
      { email, password: null },
      { email, password: [GOOD_PASSWORD] },
      { email, password: "" },
      { email, password: "a".repeat(60_000) },
      { email: `${"a".repeat(60_000)}@example.com`, password: GOOD_PASSWORD },
      { email, password: GOOD_PASSWORD, options: {} },
    ];
    for (const body of bodies) expectError(await api(route, { body }), 400, "invalid-request", JSON.stringify(body).slice(0, 120));
    expectError(await raw(route, ""), 400, "invalid-request", "empty");
  });

  it("a valid sign-in still works (the user set up for this file is intact)", async () => {
    // Sign-in writes a refresh token by design, so this test checks the count moved by exactly one.
    const response = await signIn(email);
    expect(response.status).toBe(200);
    rowsBefore.rows.refresh_tokens! += 1;
  });
});

describe("POST /token fields", () => {
  it("missing or mistyped refreshToken is invalid-request; huge is invalid-request", async () => {
    for (const body of [
      {},
      { refreshToken: null },
      { refreshToken: 1 },
      { refreshToken: true },
      { refreshToken: [refreshToken] },
      { refreshToken: { value: refreshToken } },
      { refreshToken: "a".repeat(60_000) },
      { refreshToken, extra: 1 },
    ]) {
      expectError(await api("/token", { body }), 400, "invalid-request", JSON.stringify(body).slice(0, 120));
    }
    expectError(await raw("/token", ""), 400, "invalid-request", "empty");
  });
});

describe("POST /signout fields", () => {
  it("mistyped fields are invalid-request", async () => {
    for (const body of [
      { refreshToken: 1 },
      { refreshToken: null },
      { refreshToken: [refreshToken] },
      { all: "true" },
      { all: 1 },
      { all: null },
      { refreshToken: "a".repeat(60_000) },
    ]) {
      expectError(await api("/signout", { body, token: accessToken }), 400, "invalid-request", JSON.stringify(body).slice(0, 120));
    }
    expectError(await raw("/signout", ""), 400, "invalid-request", "empty");
  });
});

describe("POST /token/verify fields", () => {
  it("mistyped or huge token is invalid-request", async () => {
    for (const body of [{ token: 1 }, { token: null }, { token: [accessToken] }, { token: { jwt: accessToken } }, { token: "a".repeat(60_000) }]) {
      expectError(await api("/token/verify", { body }), 400, "invalid-request", JSON.stringify(body).slice(0, 120));
    }
  });
});

describe("POST /user/password fields", () => {
  it("missing, mistyped and huge fields are invalid-request, signed in or not", async () => {
    const bodies: unknown[] = [
      {},
      { ticket: `passwordReset:${crypto.randomUUID()}` },
      { newPassword: null },
      { newPassword: 123456789 },
      { newPassword: ["a new valid passphrase"] },
      { newPassword: "" },
      { newPassword: "a".repeat(257) },
      { newPassword: "a".repeat(60_000) },
      { newPassword: "a new valid passphrase", ticket: 1 },
      { newPassword: "a new valid passphrase", ticket: null },
      { newPassword: "a new valid passphrase", ticket: `passwordReset:${"a".repeat(60_000)}` },
    ];
    for (const body of bodies) {
      const label = JSON.stringify(body).slice(0, 120);
      expectError(await api("/user/password", { body }), 400, "invalid-request", label);
      expectError(await api("/user/password", { body, token: accessToken }), 400, "invalid-request", `${label} (signed in)`);
    }
    expectError(await raw("/user/password", "", { authorization: `Bearer ${accessToken}` }), 400, "invalid-request", "empty");
    // The password did not change.
    const response = await signIn(email);
    expect(response.status).toBe(200);
    rowsBefore.rows.refresh_tokens! += 1;
  });
});

describe("bearer headers", () => {
  it("a huge, empty or malformed Authorization header is unauthenticated-user (401)", async () => {
    for (const authorization of [
      `Bearer ${"a".repeat(16 * 1024)}`,
      `Bearer ${"a".repeat(4000)}.${"b".repeat(4000)}.${"c".repeat(4000)}`,
      "Bearer ...",
      "Bearer e30.e30.",
      "Bearer",
      "Bearer  ",
      "bearer",
      `Token ${accessToken}`,
      `Bearer ${accessToken} extra`,
      `Bearer ${accessToken.replace(/\./g, "")}`,
    ]) {
      expectError(await raw("/user", null, { authorization }, "GET"), 401, "unauthenticated-user", authorization.slice(0, 40));
    }
  });
});

describe("unknown paths and wrong methods", () => {
  it("unknown paths are 404 not-found JSON", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["POST", "/nope"],
      ["GET", "/signup"],
      ["POST", "/signup/email-password/extra"],
      ["POST", "/signin/unknown-method"],
      ["GET", "/%2e%2e/%2e%2e/etc/passwd"],
      ["GET", "/user/../does-not-exist"],
      ["DELETE", "/"],
    ] as const) {
      const answer = await raw(path, null, {}, method);
      expectError(answer, 404, "not-found", `${method} ${path}`);
    }
  });

  it("wrong methods on known paths answer a JSON 4xx, never run the handler", async () => {
    for (const [method, path] of [
      ["GET", "/signup/email-password"],
      ["PUT", "/signup/email-password"],
      ["DELETE", "/signin/email-password"],
      ["GET", "/token"],
      ["PATCH", "/token"],
      ["GET", "/signout"],
      ["GET", "/token/verify"],
      ["GET", "/user/password"],
      ["POST", "/user"],
      ["DELETE", "/user"],
      ["POST", "/healthz"],
      ["POST", "/version"],
      ["DELETE", "/.well-known/jwks.json"],
    ] as const) {
      const body = method === "GET" || method === "DELETE" ? null : JSON.stringify({ email, password: GOOD_PASSWORD });
      const answer = await raw(path, body, { authorization: `Bearer ${accessToken}` }, method);
      expectClientError(answer, `${method} ${path}`);
      expect([404, 405], `${method} ${path}`).toContain(answer.status);
    }
  });
});
