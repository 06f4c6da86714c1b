/** Browser apps on other origins can call the end-user API (bearer tokens, no cookies). */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, appFetch } from "./helpers";

const STRICT_REALM = "cors-strict-realm";

describe("CORS", () => {
  it("answers a preflight for a bearer-token call from any origin by default", async () => {
    const response = await api("/user", {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "GET",
        "access-control-request-headers": "authorization",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    expect(response.headers.get("access-control-allow-credentials")).toBeNull();
  });

  it("marks ordinary responses, errors included, as readable cross-origin", async () => {
    const response = await api("/user", { headers: { origin: "https://app.example.com" } });
    expect(response.status).toBe(401);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });

  it("with CORS_ALLOWED_ORIGINS set, allows only those origins", async () => {
    const bindings = { ...env, CORS_ALLOWED_ORIGINS: "https://app.example.com" } as Env;
    const call = (origin: string) =>
      appFetch(new Request("http://localhost/healthz", { headers: { origin } }), bindings, {
        waitUntil() {},
        passThroughOnException() {},
        props: {},
      } as unknown as ExecutionContext);
    expect((await call("https://app.example.com")).headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect((await call("https://evil.example.com")).headers.get("access-control-allow-origin")).toBeNull();
  });

  it("a realm answers with its own CORS_ALLOWED_ORIGINS; an unknown realm's 404 stays readable", async () => {
    await env.DB.prepare("INSERT OR IGNORE INTO realms (id, created_at, settings) VALUES (?, ?, ?)")
      .bind(STRICT_REALM, Date.now(), JSON.stringify({ CORS_ALLOWED_ORIGINS: "https://strict.example.com" }))
      .run();
    const preflight = (path: string, origin: string) =>
      api(path, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });

    const allowed = await preflight(`/realms/${STRICT_REALM}/signin/email-password`, "https://strict.example.com");
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://strict.example.com");
    const foreign = await preflight(`/realms/${STRICT_REALM}/signin/email-password`, "https://app.example.com");
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    // The default realm keeps the deployment's `*`.
    expect((await preflight("/signin/email-password", "https://app.example.com")).headers.get("access-control-allow-origin")).toBe("*");

    const unknown = await api("/realms/no-such-realm-cors/user", { headers: { origin: "https://app.example.com" } });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("access-control-allow-origin")).toBe("*");
    expect(unknown.json.error).toBe("not-found");
  });
});
