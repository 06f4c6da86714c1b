/**
 * Errors rendered per API surface from the one error table (src/server/errors.ts):
 * the end-user API answers Nhost's `{ status, error, message }`, the admin API its
 * own `{ error: { code, status, message } }`, `GET /verify` redirects; an error's
 * internal reason is logged and never sent.
 */
import { describe, expect, it, vi } from "vitest";
import { AuthError, errorRedirect, errorSurfaceOf, renderError } from "../src/server/errors";
import { api, ADMIN_SECRET, uniqueEmail, workerFetch } from "./helpers";
import { SoftwareAuthenticator } from "./support/software-authenticator";

describe("one error table, three surfaces", () => {
  it("the end-user API answers Nhost's ErrorResponse", async () => {
    const response = await api("/signin/email-password", { body: { email: "not an address", password: "x" } });
    expect(response.status).toBe(400);
    expect(Object.keys(response.json).sort()).toEqual(["error", "message", "status"]);
    expect(response.json).toMatchObject({ status: 400, error: "invalid-request" });
    const missing = await api("/no/such/route");
    expect(missing.json).toEqual({ status: 404, error: "not-found", message: "Not found" });
  });

  it("the admin API answers its own shape, for its routes and its unknown paths", async () => {
    const refused = await api("/admin/keys");
    expect(refused.status).toBe(401);
    expect(refused.json).toEqual({ error: { code: "invalid-admin-secret", status: 401, message: "Missing or invalid admin secret" } });
    const missing = await api("/admin/no-such-thing", { headers: { "x-admin-secret": ADMIN_SECRET } });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: { code: "not-found", status: 404, message: "Not found" } });
  });

  it("a failed link redirects with error and errorDescription", async () => {
    const response = await workerFetch("http://localhost/verify?ticket=verifyEmail:nope&redirectTo=https://app.example.com/done", { redirect: "manual" });
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get("location")!);
    expect(location.searchParams.get("error")).toBe("invalid-ticket");
    expect(location.searchParams.get("errorDescription")).toBe("Invalid ticket");
    expect(errorRedirect("https://app.example.com/done?x=1", new AuthError("invalid-ticket"))).toBe(location.toString().replace("/done?", "/done?x=1&"));
  });

  it("only paths under /admin are the admin surface", () => {
    expect(errorSurfaceOf("/admin")).toBe("admin");
    expect(errorSurfaceOf("/admin/keys")).toBe("admin");
    expect(errorSurfaceOf("/administrator")).toBe("end-user");
    expect(errorSurfaceOf("/signin/email-password")).toBe("end-user");
  });

  it("an internal reason is never part of any rendered body", () => {
    const error = new AuthError("invalid-request", undefined, { reason: "library said: origin mismatch at byte 17" });
    for (const surface of ["end-user", "admin"] as const) expect(JSON.stringify(renderError(error, surface))).not.toContain("origin mismatch");
    expect(errorRedirect("https://app.example.com", error)).not.toContain("origin");
  });

  it("app.onError logs the reason of an error that has one", async () => {
    const { answerError } = await import("../src/server/app");
    const { Hono } = await import("hono");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    // A throwaway app with the same error handler: a route that fails with a reason.
    const probe = new Hono();
    probe.get("/probe", () => {
      throw new AuthError("invalid-request", undefined, { reason: "the probe's internal reason" });
    });
    probe.onError(answerError);
    const response = await probe.request("/probe");
    expect(response.status).toBe(400);
    expect(await response.text()).not.toContain("internal reason");
    expect(warn.mock.calls.flat().join(" ")).toContain("the probe's internal reason");
    warn.mockRestore();
  });

  it("a refused passkey answers Nhost's exact body; which check failed is logged, not sent", async () => {
    const email = uniqueEmail("surface-passkey");
    const authenticator = new SoftwareAuthenticator("https://app.example.com");
    const credential = await authenticator.register((await api("/signup/webauthn", { body: { email } })).json);
    expect((await api("/signup/webauthn/verify", { body: { credential } })).status).toBe(200);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const challenge = await api("/signin/webauthn", { body: { email } });
    const forged = await authenticator.assert(challenge.json, { origin: "https://evil.example.net" });
    const refused = await api("/signin/webauthn/verify", { body: { credential: forged } });
    expect(refused.json).toEqual({ status: 400, error: "invalid-request", message: "The request payload is incorrect" });
    expect(warn.mock.calls.flat().join(" ")).toMatch(/passkey|origin/i);
    warn.mockRestore();
  });
});
