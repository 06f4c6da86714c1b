/**
 * Bad input on every end-user operation the OpenAPI document lists (so a route
 * added there is covered too), with and without a signed-in caller: never a 500.
 * test/bad-input.test.ts goes deep on a few routes; this goes wide.
 */
import { describe, expect, it } from "vitest";
import { END_USER_OPERATIONS } from "../src/server/routes/openapi";
import { api, signUp } from "./helpers";
describe("every end-user operation", () => {
  const concrete = (path: string) => path.replace(/\{[^}]+\}/g, "not-a-real-id");
  const badBodies: [string, string][] = [
    ["malformed JSON", "{not json"],
    ["an array", "[1,2,3]"],
    ["every field of the wrong type", JSON.stringify({ email: 1, password: [], otp: {}, code: 7, ticket: null, provider: 3, idToken: false, options: "x", phoneNumber: {} })],
  ];

  it.each(END_USER_OPERATIONS.filter((operation) => operation.method !== "get").map((operation) => [operation.method, operation.path, operation.body !== undefined] as const))(
    "%s %s answers bad bodies without a 500 (a route that takes a body refuses them)",
    async (method, path, takesBody) => {
      const { session } = await signUp();
      for (const token of [undefined, session.accessToken]) {
        for (const [label, body] of badBodies) {
          const response = await api(concrete(path), { method: method.toUpperCase(), body, token });
          expect(response.status, `${label}: ${response.text}`).toBeLessThan(500);
          if (takesBody) expect(response.status, label).toBeGreaterThanOrEqual(400);
        }
      }
    },
  );

  it.each(END_USER_OPERATIONS.filter((operation) => operation.method === "get").map((operation) => [operation.path] as const))(
    "GET %s answers odd query strings without a 500",
    async (path) => {
      for (const query of ["?redirectTo=javascript:alert(1)&connect=x&state=%ff&codeChallenge=short", "?ticket=&type=&redirectTo=%00", "?" + "a=1&".repeat(200)]) {
        const response = await api(concrete(path) + query, { headers: { authorization: "Bearer not.a.token" } });
        expect(response.status, `${query}: ${response.text.slice(0, 200)}`).toBeLessThan(500);
      }
    },
  );
});
