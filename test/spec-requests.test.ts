/**
 * Every request schema against the latest Nhost spec (issue 10): each of its 48
 * operations outside the provider, ID-token and OAuth2 routes (those have their
 * own tests: test/node/openapi-spec.test.ts, the provider tests) is served, and each request body takes
 * exactly the spec's fields: a body with every field the spec lists (nested
 * strict objects included) is not refused for its keys, and one more field is
 * `400 invalid-request`. The fields come from the spec itself
 * (test/vectors/nhost/latest-spec-requests.json, generated from
 * nhost-auth-openapi-latest.yaml; its `source` says which copy).
 */
import { describe, expect, it } from "vitest";
import spec from "./vectors/nhost/latest-spec-requests.json";
import { api, BASE_URL, GOOD_PASSWORD, signUp, uniqueEmail, workerFetch } from "./helpers";

type FieldSpec = string | { [name: string]: FieldSpec };

interface Operation {
  method: string;
  path: string;
  operationId: string;
  security: string[];
  bodyRequired?: boolean;
  body?: Record<string, FieldSpec>;
}

const operations = (spec as { operations: Operation[] }).operations;

/**
 * A value the spec's field accepts, by name where the spec constrains it
 * (format, pattern, enum), else by type: so that only the keys can be at fault.
 */
function valueFor(name: string, field: FieldSpec): unknown {
  if (typeof field !== "string") return bodyFrom(field);
  const byName: Record<string, unknown> = {
    email: uniqueEmail("spec"),
    newEmail: uniqueEmail("spec-new"),
    password: GOOD_PASSWORD,
    newPassword: GOOD_PASSWORD,
    codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    codeVerifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    code: "123456",
    otp: "123456",
    expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
    refreshToken: crypto.randomUUID(),
    personalAccessToken: crypto.randomUUID(),
    ticket: "passwordReset:00000000-0000-4000-8000-000000000000",
    signInMethod: "passwordless",
    activeMfaType: "totp",
    locale: "en",
    displayName: "Ada",
    redirectTo: "https://app.example.com/auth/callback",
    defaultRole: "user",
    allowedRoles: ["user"],
    phoneNumber: "+15550100000",
    newPhoneNumber: "+15550100001",
    type: "public-key",
    id: "AAAA",
    rawId: "AAAA",
    clientDataJSON: "AAAA",
    attestationObject: "AAAA",
    authenticatorData: "AAAA",
    signature: "AAAA",
    userHandle: "AAAA",
    publicKey: "AAAA",
    publicKeyAlgorithm: -7,
    authenticatorAttachment: "platform",
    nickname: "key",
    token: "not-a-token",
    all: false,
    connection: "email",
  };
  if (name in byName) return byName[name];
  switch (field) {
    case "boolean":
      return false;
    case "integer":
    case "number":
      return 1;
    case "array":
      return [];
    case "object":
      return {};
    default:
      return "x";
  }
}

function bodyFrom(fields: Record<string, FieldSpec>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, valueFor(name, field)]));
}

/** A concrete path for the spec's templated ones. */
function concretePath(path: string): string {
  return path === "/verify" ? "/verify?ticket=x" : path;
}

function refusedForKeys(response: { status: number; json: any }): boolean {
  return response.status === 400 && /Unrecognized key/.test(String(response.json?.message));
}

describe("the latest spec's operations", () => {
  it("the fixture lists the spec's 48 operations outside the provider, ID-token and OAuth2 routes", () => {
    expect(operations).toHaveLength(48);
  });

  it.each(operations.map((operation) => [`${operation.method} ${operation.path}`, operation] as const))("%s is served", async (_name, operation) => {
    if (operation.path === "/verify") {
      // A redirect: not followed (it would leave for the app).
      const redirect = await workerFetch(`${BASE_URL}/verify?ticket=x`, { redirect: "manual" });
      expect(redirect.status).toBe(302);
      return;
    }
    const response = await api(concretePath(operation.path), {
      method: operation.method,
      ...(operation.body === undefined ? {} : { body: {} }),
    });
    expect(response.status, response.text).not.toBe(404);
    expect(response.status).not.toBe(405);
    expect(response.status).toBeLessThan(500);
  });
});

describe("request bodies take exactly the spec's fields", () => {
  const withBodies = operations.filter((operation) => operation.body !== undefined);

  it.each(withBodies.map((operation) => [`${operation.method} ${operation.path}`, operation] as const))("%s", async (_name, operation) => {
    const { session } = await signUp(uniqueEmail("spec-caller"));
    const token = operation.security.length > 0 ? session.accessToken : undefined;
    const body = bodyFrom(operation.body!);
    const withAll = await api(concretePath(operation.path), { method: operation.method, body, ...(token === undefined ? {} : { token }) });
    expect(refusedForKeys(withAll), `${withAll.status} ${withAll.text}`).toBe(false);

    const withMore = await api(concretePath(operation.path), {
      method: operation.method,
      body: { ...bodyFrom(operation.body!), notInTheSpec: true },
      ...(token === undefined ? {} : { token }),
    });
    expect(withMore.status, withMore.text).toBe(400);
    expect(withMore.json).toMatchObject({ error: "invalid-request" });
    expect(withMore.json.message).toContain("Unrecognized key");
  });
});
