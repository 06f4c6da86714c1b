/**
 * RFC 6238 TOTP and RFC 4226 HOTP against the RFCs' own test values, the ±1 step
 * window, base32 (RFC 4648), the otpauth:// URI, and the encryption of secrets at
 * rest. Pure: no Worker, no D1.
 */
import { describe, expect, it } from "vitest";
import type { Config } from "../src/server/config";
import { base32Decode, base32Encode, hotp, matchTotp, otpauthUri, timeStep } from "../src/server/lib/totp";
import { decryptTotpSecret, encryptTotpSecret } from "../src/server/services/totp-secrets";
import totpVectors from "./vectors/rfc/rfc6238-appendix-b-totp.json";
import hotpVectors from "./vectors/rfc/rfc4226-appendix-d-hotp.json";

const encoder = new TextEncoder();

describe("RFC vectors", () => {
  it("RFC 4226 appendix D: HOTP values", async () => {
    const secret = encoder.encode(hotpVectors.secret_ascii);
    for (const vector of hotpVectors.vectors) expect(await hotp(secret, vector.count)).toBe(vector.hotp);
  });

  it("RFC 6238 appendix B: TOTP SHA-1 values (8 digits), and 6-digit codes as apps show them", async () => {
    const secret = encoder.encode(totpVectors.seeds_ascii.SHA1);
    const rows = totpVectors.vectors.filter((vector) => vector.mode === "SHA1");
    expect(rows).toHaveLength(6);
    for (const vector of rows) {
      const step = Math.floor(vector.unix_time / 30);
      expect(await hotp(secret, step, 8)).toBe(vector.totp);
      expect(await matchTotp(secret, vector.totp.slice(-6), vector.unix_time * 1000)).toBe(step);
    }
    expect(base32Encode(secret)).toBe(totpVectors.seed_sha1_base32);
  });

  it("accepts one step of drift either way, not two", async () => {
    const secret = crypto.getRandomValues(new Uint8Array(20));
    const now = Date.now();
    for (const [offset, accepted] of [[-2, false], [-1, true], [0, true], [1, true], [2, false]] as const) {
      const code = await hotp(secret, timeStep(now) + offset);
      expect((await matchTotp(secret, code, now)) !== null, `offset ${offset}`).toBe(accepted);
    }
    expect(await matchTotp(secret, "12345", now)).toBeNull();
    expect(await matchTotp(secret, "abcdef", now)).toBeNull();
  });

  it("builds the otpauth:// URI authenticator apps scan (Key Uri Format)", () => {
    const uri = new URL(otpauthUri("JBSWY3DPEHPK3PXP", "ann@example.com", "Edge Auth"));
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe("/Edge Auth:ann@example.com");
    expect(Object.fromEntries(uri.searchParams)).toEqual({
      secret: "JBSWY3DPEHPK3PXP",
      issuer: "Edge Auth",
      algorithm: "SHA1",
      digits: "6",
      period: "30",
    });
  });

  it("encrypts secrets bound to the user; a later TOTP_ENCRYPTION_KEY still opens secrets stored under the fallback", async () => {
    const config = (totpEncryptionKey: string | null, refreshTokenSecret: string) =>
      ({ totpEncryptionKey, refreshTokenSecret }) as Config;
    const secret = crypto.getRandomValues(new Uint8Array(20));
    const fallback = config(null, "r".repeat(32));
    const stored = await encryptTotpSecret(fallback, secret, "user-1");
    expect(stored).not.toContain(base32Encode(secret));
    expect(await decryptTotpSecret(fallback, stored, "user-1")).toEqual(secret);
    expect(await decryptTotpSecret(fallback, stored, "user-2")).toBeNull();
    expect(await decryptTotpSecret(config("k".repeat(32), "r".repeat(32)), stored, "user-1")).toEqual(secret);
    expect(await decryptTotpSecret(config("k".repeat(32), "s".repeat(32)), stored, "user-1")).toBeNull();
    const underKey = await encryptTotpSecret(config("k".repeat(32), "r".repeat(32)), secret, "user-1");
    expect(await decryptTotpSecret(fallback, underKey, "user-1")).toBeNull();
    expect(await decryptTotpSecret(fallback, "v1.bad.value", "user-1")).toBeNull();
  });

  it("base32 round-trips and refuses other characters", () => {
    const bytes = crypto.getRandomValues(new Uint8Array(20));
    expect(base32Decode(base32Encode(bytes))).toEqual(bytes);
    expect(base32Decode("abc1")).toBeNull();
  });
});
