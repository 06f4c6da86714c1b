/**
 * Where each environment may run (design §8): development publishes every mail and
 * code at `/_dev/outbox`, so it refuses a PUBLIC_URL other machines can reach;
 * production refuses a PUBLIC_URL that is not https.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../src/server/config";

const SECRETS = { REFRESH_TOKEN_SECRET: "x".repeat(32) };

function parseWith(environment: string | undefined, publicUrl: string) {
  return parseConfig({ ...SECRETS, ...(environment === undefined ? {} : { ENVIRONMENT: environment }), PUBLIC_URL: publicUrl });
}

describe("ENVIRONMENT=development needs a loopback PUBLIC_URL", () => {
  it.each([
    "http://localhost:8787",
    "http://LOCALHOST:8787/",
    "http://localhost.:8787",
    "http://auth.localhost:8787",
    "https://a.b.localhost",
    "http://127.0.0.1",
    "http://127.1:8787",
    "http://127.255.255.254",
    "http://[::1]:8787",
    "http://[0:0:0:0:0:0:0:1]",
  ])("starts on %s", (publicUrl) => {
    expect(parseWith("development", publicUrl).environment).toBe("development");
  });

  it.each([
    "https://auth.example.com",
    "http://localhost.example.com",
    "http://localhost-1",
    "http://notlocalhost",
    "http://127.0.0.1.example.com",
    "http://128.0.0.1",
    "http://10.0.0.1:8787",
    "http://192.168.1.10",
    "http://0.0.0.0:8787",
    "http://[::]",
    "http://[::ffff:8.8.8.8]",
    "https://edgeauth.acme.workers.dev",
  ])("refuses to start on %s, naming PUBLIC_URL", (publicUrl) => {
    expect(() => parseWith("development", publicUrl)).toThrow(ConfigError);
    expect(() => parseWith("development", publicUrl)).toThrow(/PUBLIC_URL/);
  });
});

describe("production needs an https PUBLIC_URL", () => {
  it.each([undefined, "production"])("ENVIRONMENT=%s accepts https and refuses http, naming PUBLIC_URL", (environment) => {
    const config = parseWith(environment, "https://auth.example.com");
    expect(config.environment).toBe("production");
    expect(config.publicUrl).toBe("https://auth.example.com");
    for (const publicUrl of ["http://auth.example.com", "http://localhost:8787"]) {
      expect(() => parseWith(environment, publicUrl)).toThrow(ConfigError);
      expect(() => parseWith(environment, publicUrl)).toThrow(/PUBLIC_URL.*https/);
    }
  });

  it("sends no mail and no text until a transport is chosen, and refuses the dev outbox", () => {
    const config = parseWith("production", "https://auth.example.com");
    expect(config.mail.transport).toBe("none");
    expect(config.sms.transport).toBe("none");
    const production = { ...SECRETS, ENVIRONMENT: "production", PUBLIC_URL: "https://auth.example.com" };
    expect(() => parseConfig({ ...production, MAIL_TRANSPORT: "dev" })).toThrow(/MAIL_TRANSPORT/);
    expect(() => parseConfig({ ...production, SMS_TRANSPORT: "dev" })).toThrow(/SMS_TRANSPORT/);
  });
});
