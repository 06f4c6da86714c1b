/**
 * Wycheproof vectors (C2SP/wycheproof) inside workerd, the runtime we ship:
 * ECDSA P-256/SHA-256 in IEEE P1363 form through WebCrypto (checklist J5, M1), and the
 * ES256 / P-256 groups of the JWS file through our verifier (J1–J8, J14, M2).
 */
import { SignJWT, compactVerify, importJWK, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { createVerifier, type VerifyErrorCode } from "@edgeauth/client";
import p1363 from "./vectors/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json";
import jwsVectors from "./vectors/wycheproof/json_web_signature_test.json";

const ISSUER = "https://issuer.example";

interface JwsTest {
  tcId: number;
  comment: string;
  jws: unknown;
  result: "valid" | "invalid";
}

interface JwsGroup {
  comment: string;
  public?: JWK;
  private?: JWK;
  tests: JwsTest[];
}

const hex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (byte) => parseInt(byte, 16));

/** The groups whose verification key is EC P-256: ES256 signatures, or a P-256 key for other uses. */
const p256Groups = (jwsVectors.testGroups as JwsGroup[]).filter(
  (group) => group.public?.kty === "EC" && group.public.crv === "P-256",
);

/** The group's private key, for signing only (some groups mark their key for encryption). */
function signingKeyOf(group: JwsGroup) {
  const { kty, crv, x, y, d } = group.private!;
  return importJWK({ kty, crv, x, y, d }, "ES256");
}

function verifierFor(publicJwk: JWK) {
  let fetches = 0;
  const verifier = createVerifier({
    issuer: ISSUER,
    fetch: async () => {
      fetches++;
      return Response.json({ keys: [publicJwk] });
    },
  });
  return { verifier, fetches: () => fetches };
}

describe("Wycheproof ecdsa_secp256r1_sha256_p1363 through workerd WebCrypto", () => {
  it("agrees on all 262 vectors and rejects all 89 invalid ones", async () => {
    let total = 0;
    let rejectedInvalid = 0;
    const disagreements: string[] = [];
    for (const group of p1363.testGroups) {
      const key = await crypto.subtle.importKey(
        "spki",
        hex(group.publicKeyDer),
        { name: "ECDSA", namedCurve: "P-256" },
        false,
        ["verify"],
      );
      for (const test of group.tests) {
        let accepted: boolean;
        try {
          accepted = await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, hex(test.sig), hex(test.msg));
        } catch {
          // An exception is a refusal (checklist F4).
          accepted = false;
        }
        total++;
        if (test.result === "invalid" && !accepted) rejectedInvalid++;
        if (accepted !== (test.result === "valid")) disagreements.push(`tcId ${test.tcId} ${test.comment}`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(total).toBe(262);
    expect(rejectedInvalid).toBe(89);
  });
});

describe("Wycheproof json_web_signature, ES256 and P-256 groups", () => {
  it("covers the four P-256 groups: es256, wrong use, wrong key_ops, SpecialCaseEs256 (41 vectors)", () => {
    expect(p256Groups.map((group) => `${group.comment}:${group.tests.length}`)).toEqual([
      "es256:15",
      "ec_key_for_encryption:1",
      "ec_key_for_encryption:1",
      "SpecialCaseEs256:24",
    ]);
  });

  it("our verifier refuses every vector marked invalid", async () => {
    const accepted: number[] = [];
    for (const group of p256Groups) {
      const { verifier } = verifierFor(group.public!);
      for (const test of group.tests.filter((t) => t.result === "invalid")) {
        const result = await verifier.verify(test.jws as string);
        if (result.ok) accepted.push(test.tcId);
      }
    }
    expect(accepted).toEqual([]);
  });

  it("refuses the valid vectors only because they are not typed JWTs, never for their signature", async () => {
    // Their header is {"alg":"ES256","kid":...} with payload "foo": a valid JWS, but no
    // `typ: JWT` and no claims, which the access-token verifier requires (RFC 8725 §3.11).
    const codes: Record<number, VerifyErrorCode | "ok"> = {};
    for (const group of p256Groups) {
      const { verifier } = verifierFor(group.public!);
      for (const test of group.tests.filter((t) => t.result === "valid")) {
        const result = await verifier.verify(test.jws as string);
        codes[test.tcId] = result.ok ? "ok" : result.code;
      }
    }
    expect(codes).toEqual({ 18: "invalid-type", 378: "invalid-type" });
  });

  it("at the JWS layer, jose in workerd (the verifier's signature check) agrees on the es256 and SpecialCaseEs256 vectors", async () => {
    const disagreements: string[] = [];
    let checked = 0;
    for (const group of p256Groups.filter((g) => g.public!.alg === "ES256")) {
      const key = await importJWK(group.public!, "ES256");
      for (const test of group.tests) {
        let accepted: boolean;
        try {
          await compactVerify(test.jws as string, key, { algorithms: ["ES256"] });
          accepted = true;
        } catch {
          accepted = false;
        }
        checked++;
        if (accepted !== (test.result === "valid")) disagreements.push(`tcId ${test.tcId} ${test.comment}`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(checked).toBe(39);
  });

  it("a JWT signed with each group's key verifies only where the JWK is meant for signatures (tcIds 354, 356)", async () => {
    const outcomes: Record<string, VerifyErrorCode | "ok"> = {};
    for (const [index, group] of p256Groups.entries()) {
      const { verifier, fetches } = verifierFor(group.public!);
      const privateKey = await signingKeyOf(group);
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: group.public!.kid! })
        .setSubject("user-1")
        .setIssuer(ISSUER)
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(privateKey);
      const result = await verifier.verify(token);
      outcomes[`${index}:${group.comment}`] = result.ok ? "ok" : result.code;
      expect(fetches()).toBe(1);
    }
    expect(outcomes).toEqual({
      "0:es256": "ok",
      "1:ec_key_for_encryption": "unknown-key",
      "2:ec_key_for_encryption": "unknown-key",
      "3:SpecialCaseEs256": "ok",
    });
  });

  it("every vector's signature, spliced onto a JWT under the vector's key, is refused (r, s in {0, 1, n-1, n}; too long; overflow)", async () => {
    const group = p256Groups.find((g) => g.comment === "SpecialCaseEs256")!;
    const { verifier } = verifierFor(group.public!);
    const privateKey = await signingKeyOf(group);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: group.public!.kid! })
      .setSubject("user-1")
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(privateKey);
    expect((await verifier.verify(token)).ok).toBe(true);
    const signingInput = token.split(".").slice(0, 2).join(".");

    const codes = new Map<number, VerifyErrorCode | "ok">();
    for (const candidate of p256Groups.flatMap((g) => g.tests)) {
      const signature = (candidate.jws as string).split(".")[2];
      if (!signature) continue;
      const result = await verifier.verify(`${signingInput}.${signature}`);
      codes.set(candidate.tcId, result.ok ? "ok" : result.code);
      // An ES256 signature is exactly 64 bytes (RFC 7518 §3.4); anything else is not even tried.
      expect(result, `tcId ${candidate.tcId} ${candidate.comment}`).toEqual({
        ok: false,
        code: signature.length === 86 ? "invalid-signature" : "malformed",
      });
    }
    // rIsZero_sIsZero .. rIsN_sIsN (CVE-2022-21449) reached the signature check.
    for (let tcId = 386; tcId <= 401; tcId++) expect(codes.get(tcId)).toBe("invalid-signature");
  });
});
