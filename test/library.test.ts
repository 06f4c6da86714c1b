/**
 * `createEdgeAuth(options)` (library mode): options are checked by the settings'
 * own parser when the sub-app is created, so a bad one is a ConfigError naming
 * it; the application's own variables never become settings; PUBLIC_URL's path
 * must be the mount path. The whole application on workerd, packed and driven
 * through @nhost/nhost-js, is test/node/library-mode.test.ts.
 */
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { ConfigError, createEdgeAuth, type EdgeAuthOptions } from "../src/server/library";
import { randomClientIp } from "./helpers";

const DEVELOPMENT = { ENVIRONMENT: "development", PUBLIC_URL: "http://localhost/auth" } as const;

function appWith(auth: ReturnType<typeof createEdgeAuth>, mountPath = "/auth") {
  return new Hono().get("/", (c) => c.text("the application")).route(mountPath, auth);
}

async function request(app: Hono, path: string, bindings: object = env, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("cf-connecting-ip", randomClientIp());
  const executionCtx = { waitUntil: () => {}, passThroughOnException: () => {}, props: {} } as unknown as ExecutionContext;
  return app.request(`http://localhost${path}`, { ...init, headers }, bindings, executionCtx);
}

describe("createEdgeAuth: options are settings, checked when it is called", () => {
  it.each<[EdgeAuthOptions | Record<string, unknown>, string]>([
    [{ ...DEVELOPMENT, ACCESS_TOKEN_TTL_SECONDS: "soon" }, "ACCESS_TOKEN_TTL_SECONDS"],
    [{ ...DEVELOPMENT, ACCESS_TOKEN_TTL_SECONDS: 5 }, "ACCESS_TOKEN_TTL_SECONDS"],
    [{ ...DEVELOPMENT, DEFAULT_ROLE: "admin", ALLOWED_ROLES: ["user"] }, "DEFAULT_ROLE"],
    [{ PUBLIC_URL: "http://auth.example.com/auth" }, "PUBLIC_URL"],
    [{ ...DEVELOPMENT, NO_SUCH_SETTING: "1" }, "NO_SUCH_SETTING"],
    [{ ...DEVELOPMENT, REFRESH_TOKEN_SECRET: "s".repeat(40) }, "REFRESH_TOKEN_SECRET"],
    [{ ...DEVELOPMENT, ALLOWED_ROLES: [1, 2] }, "ALLOWED_ROLES"],
  ])("%o is refused, naming %s", (options, setting) => {
    expect(() => createEdgeAuth(options as EdgeAuthOptions)).toThrow(ConfigError);
    expect(() => createEdgeAuth(options as EdgeAuthOptions)).toThrow(`edgeauth setting ${setting}:`);
  });

  it("a secret is never asked for in code: the Worker's secret is what signs", async () => {
    const auth = createEdgeAuth({ ...DEVELOPMENT, ALLOWED_ROLES: ["user", "me"], ACCESS_TOKEN_TTL_SECONDS: 600 });
    const response = await request(appWith(auth), "/auth/healthz");
    expect(response.status).toBe(200);
  });

  it("the application's own variables of settings' names are not read", async () => {
    // The test Worker's bindings say PUBLIC_URL=http://localhost; the option says /auth.
    const auth = createEdgeAuth({ ...DEVELOPMENT });
    const app = appWith(auth);
    const document = (await (await request(app, "/auth/openapi.json")).json()) as { servers: { url: string }[] };
    expect(document.servers).toEqual([{ url: "http://localhost/auth" }]);
    // A value the parser would refuse, under a setting's name, is the application's business.
    const withOddVars = { ...env, ACCESS_TOKEN_TTL_SECONDS: "not a number", ENVIRONMENT: "staging" };
    expect((await request(app, "/auth/healthz", withOddVars)).status).toBe(200);
  });

  it("options as a function of the bindings are checked on the first request, once per isolate", async () => {
    const options = vi.fn((bindings: { DB: D1Database }) => ({ ...DEVELOPMENT, SIGNUP_DISABLED: bindings.DB === undefined }));
    const app = appWith(createEdgeAuth(options));
    expect(options).not.toHaveBeenCalled();
    expect((await request(app, "/auth/healthz")).status).toBe(200);
    expect((await request(app, "/auth/version")).status).toBe(200);
    expect(options).toHaveBeenCalledTimes(1);

    const refused = appWith(createEdgeAuth(() => ({ ...DEVELOPMENT, PASSWORD_MIN_LENGTH: 1 })));
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = await request(refused, "/auth/healthz");
    expect(response.status).toBe(500);
    expect(errors.mock.calls.flat().join(" ")).toContain("edgeauth setting PASSWORD_MIN_LENGTH");
    errors.mockRestore();
  });

  it("PUBLIC_URL's path must be where the sub-app is mounted: tokens and links are built from it", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const mismatched = appWith(createEdgeAuth({ ...DEVELOPMENT }), "/login");
    expect((await request(mismatched, "/login/healthz")).status).toBe(500);
    expect(errors.mock.calls.flat().join(" ")).toContain('edgeauth setting PUBLIC_URL: its path is "/auth" but edgeauth is mounted at "/login"');
    errors.mockRestore();
    // Mounted at the root, PUBLIC_URL has no path.
    const atRoot = appWith(createEdgeAuth({ ENVIRONMENT: "development", PUBLIC_URL: "http://localhost" }), "/");
    expect((await request(atRoot, "/healthz")).status).toBe(200);
  });

  it("the application's routes outside the mount are its own; unknown paths under it are edgeauth's 404", async () => {
    const app = appWith(createEdgeAuth({ ...DEVELOPMENT }));
    expect(await (await request(app, "/")).text()).toBe("the application");
    const missing = await request(app, "/auth/nope");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ status: 404, error: "not-found" });
    // The admin API keeps its own error shape under the mount.
    const admin = await request(app, "/auth/admin/realms");
    expect(admin.status).toBe(401);
    expect(Object.keys((await admin.json()) as object)).toEqual(["error"]);
  });
});
