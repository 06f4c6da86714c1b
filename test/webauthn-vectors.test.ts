/**
 * Published vectors through the passkey verification path, inside workerd:
 * - W3C WebAuthn Level 3 §"Test Vectors": the applicable examples register and
 *   authenticate with @simplewebauthn/server as the routes call it, and every
 *   mutation is refused (security checklist M13, F7).
 * - Wycheproof ECDSA P-256/SHA-256 in DER: our strict-DER gate plus the library's
 *   verify agree with Wycheproof on all 484 cases; without the gate the library
 *   alone accepts BER encodings (checklist F2), which is why the gate exists.
 */
import { verifyAuthenticationResponse, verifyRegistrationResponse } from "@simplewebauthn/server";
import { cose, decodeCredentialPublicKey, isoCrypto } from "@simplewebauthn/server/helpers";
import { describe, expect, it } from "vitest";
import { isCanonicalEcdsaDer } from "../src/server/lib/der";
import w3c from "./vectors/webauthn/w3c-webauthn-l3-test-vectors.json";
import wycheproof from "./vectors/wycheproof/ecdsa_secp256r1_sha256_test.json";
import { b64url, cbor } from "./support/software-authenticator";

const hex = (h: string): Uint8Array<ArrayBuffer> => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
const fromHexToB64url = (h: string) => b64url(hex(h));

interface Vector {
  anchor: string;
  registration: Record<string, string>;
  authentication: Record<string, string>;
}
const vectors = (w3c.vectors as unknown as Vector[]).filter((v) => v.registration !== undefined);
const byAnchor = (name: string) => vectors.find((v) => v.anchor === `sctn-test-vectors-${name}`)!;

// The vectors the default algorithm list and "no trust anchors" configuration can
// verify; ES384/ES512/Ed448 are outside SUPPORTED algorithms, and TPM, Android
// Key, Apple and FIDO U2F need the vectors' test CA (checklist §2.4).
const APPLICABLE = ["none-es256", "packed-self-es256", "none-es256-crossOrigin", "none-es256-long-credential-id", "packed-es256", "packed-rs256", "packed-eddsa"];

function registrationResponse(v: Vector) {
  const id = fromHexToB64url(v.registration.credential_id!);
  return {
    id,
    rawId: id,
    type: "public-key" as const,
    clientExtensionResults: {},
    response: {
      clientDataJSON: fromHexToB64url(v.registration.clientDataJSON!),
      attestationObject: fromHexToB64url(v.registration.attestationObject!),
    },
  };
}

function authenticationResponse(v: Vector, patch: { clientDataJSON?: string; authenticatorData?: string; signature?: string } = {}) {
  const id = fromHexToB64url(v.registration.credential_id!);
  return {
    id,
    rawId: id,
    type: "public-key" as const,
    clientExtensionResults: {},
    response: {
      clientDataJSON: patch.clientDataJSON ?? fromHexToB64url(v.authentication.clientDataJSON!),
      authenticatorData: patch.authenticatorData ?? fromHexToB64url(v.authentication.authenticatorData!),
      signature: patch.signature ?? fromHexToB64url(v.authentication.signature!),
    },
  };
}

async function register(v: Vector, extra: { expectedTopOrigin?: string } = {}) {
  const result = await verifyRegistrationResponse({
    response: registrationResponse(v),
    expectedChallenge: v.registration.challenge_b64url!,
    expectedOrigin: w3c.origin,
    expectedRPID: w3c.rpId,
    requireUserVerification: false,
    ...extra,
  });
  expect(result.verified).toBe(true);
  return result.registrationInfo!.credential;
}

async function authenticates(
  v: Vector,
  credential: Awaited<ReturnType<typeof register>>,
  options: { response?: ReturnType<typeof authenticationResponse>; origin?: string; rpId?: string; challenge?: string; topOrigin?: string } = {},
): Promise<boolean> {
  try {
    const result = await verifyAuthenticationResponse({
      response: options.response ?? authenticationResponse(v),
      expectedChallenge: options.challenge ?? v.authentication.challenge_b64url!,
      expectedOrigin: options.origin ?? w3c.origin,
      expectedRPID: options.rpId ?? w3c.rpId,
      credential,
      requireUserVerification: false,
      ...(options.topOrigin === undefined ? {} : { expectedTopOrigin: options.topOrigin }),
    });
    return result.verified;
  } catch {
    return false;
  }
}

function mutate(hexString: string, index: number): string {
  const bytes = hex(hexString);
  bytes[index]! ^= 0x01;
  return b64url(bytes);
}

describe("W3C WebAuthn L3 test vectors through @simplewebauthn/server", () => {
  it.each(APPLICABLE)("%s registers and authenticates", async (name) => {
    const v = byAnchor(name);
    const credential = await register(v);
    expect(credential.id).toBe(fromHexToB64url(v.registration.credential_id!));
    expect(await authenticates(v, credential)).toBe(true);
    // The ES256 ones sign in canonical DER and pass our strict-DER gate.
    if (name.includes("es256")) expect(isCanonicalEcdsaDer(hex(v.authentication.signature!))).toBe(true);
  });

  it("none-es256-topOrigin authenticates when the expected top origin is configured", async () => {
    const v = byAnchor("none-es256-topOrigin");
    const credential = await register(v, { expectedTopOrigin: w3c.topOrigin_where_applicable });
    expect(await authenticates(v, credential, { topOrigin: w3c.topOrigin_where_applicable })).toBe(true);
  });

  it.each(APPLICABLE)("%s: every mutation of the assertion is refused", async (name) => {
    const v = byAnchor(name);
    const credential = await register(v);
    const a = v.authentication;
    const signature = hex(a.signature!);
    const clientData = new TextDecoder().decode(hex(a.clientDataJSON!));
    const mutations: [string, Parameters<typeof authenticates>[2]][] = [
      ["flipped signature bit", { response: authenticationResponse(v, { signature: mutate(a.signature!, signature.length - 1) }) }],
      ["flipped rpIdHash byte", { response: authenticationResponse(v, { authenticatorData: mutate(a.authenticatorData!, 0) }) }],
      // Byte 32 is the flags; bit 0 is UP.
      ["UP cleared", { response: authenticationResponse(v, { authenticatorData: mutate(a.authenticatorData!, 32) }) }],
      ["counter changed", { response: authenticationResponse(v, { authenticatorData: mutate(a.authenticatorData!, 36) }) }],
      [
        "type webauthn.create",
        {
          response: authenticationResponse(v, {
            clientDataJSON: b64url(new TextEncoder().encode(clientData.replace("webauthn.get", "webauthn.create"))),
          }),
        },
      ],
      ["wrong origin", { origin: "https://example.com" }],
      ["wrong RP ID", { rpId: "example.com" }],
      ["other challenge", { challenge: v.registration.challenge_b64url! }],
    ];
    for (const [label, options] of mutations) expect(await authenticates(v, credential, options), label).toBe(false);
    // A credential with a counter above the assertion's: regression refused.
    expect(await authenticates(v, { ...credential, counter: 2 ** 31 })).toBe(false);
    // Another vector's key with this assertion: a foreign credential.
    const other = await register(byAnchor(name === "none-es256" ? "packed-es256" : "none-es256"));
    expect(await authenticates(v, { ...other, id: credential.id })).toBe(false);
  });

  it("refuses registration with a wrong origin, RP ID or challenge", async () => {
    const v = byAnchor("none-es256");
    for (const patch of [{ expectedOrigin: "https://example.com" }, { expectedRPID: "example.com" }, { expectedChallenge: "AAAA" }]) {
      await expect(
        verifyRegistrationResponse({
          response: registrationResponse(v),
          expectedChallenge: v.registration.challenge_b64url!,
          expectedOrigin: w3c.origin,
          expectedRPID: w3c.rpId,
          ...patch,
        }),
      ).rejects.toThrow();
    }
  });
});

describe("Wycheproof ecdsa_secp256r1_sha256 (DER) through the assertion signature path", () => {
  function coseKey(wx: string, wy: string): Uint8Array {
    // Wycheproof pads coordinates with a sign byte; COSE wants exactly 32 bytes.
    const coordinate = (h: string) => hex(h.padStart(64, "0").slice(-64));
    return cbor(
      new Map<any, any>([
        [cose.COSEKEYS.kty, cose.COSEKTY.EC2],
        [cose.COSEKEYS.alg, cose.COSEALG.ES256],
        [cose.COSEKEYS.crv, cose.COSECRV.P256],
        [cose.COSEKEYS.x, coordinate(wx)],
        [cose.COSEKEYS.y, coordinate(wy)],
      ]),
    );
  }

  it("strict DER + library verify agrees with all 484 cases; the library alone accepts BER", async () => {
    let total = 0;
    let agree = 0;
    const lenientAccepted: number[] = [];
    for (const group of wycheproof.testGroups) {
      const cosePublicKey = decodeCredentialPublicKey(new Uint8Array(coseKey(group.publicKey.wx, group.publicKey.wy)));
      for (const t of group.tests) {
        total++;
        const sig = hex(t.sig);
        const msg = hex(t.msg);
        let library: boolean;
        try {
          library = await isoCrypto.verify({ cosePublicKey, signature: sig, data: msg });
        } catch {
          library = false;
        }
        const ours = isCanonicalEcdsaDer(sig) && library;
        if (ours === (t.result === "valid")) agree++;
        else expect.soft(ours, `tcId ${t.tcId} ${t.comment}`).toBe(t.result === "valid");
        if (library && t.result !== "valid") lenientAccepted.push(t.tcId);
      }
    }
    expect(total).toBe(484);
    expect(agree).toBe(484);
    // What the gate is for: BER encodings of valid signatures the library takes alone.
    expect(lenientAccepted.length).toBeGreaterThan(0);
  });
});
