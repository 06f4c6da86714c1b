/** Browser apps on other origins can call the end-user API (bearer tokens, no cookies). */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, appFetch } from "./helpers";

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
});
