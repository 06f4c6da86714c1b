/**
 * A software WebAuthn authenticator for tests: real P-256 keys (WebCrypto), real
 * "none" attestation objects (CBOR, with a small encoder written here so that
 * the library under test never decodes its own encoding), and real assertions
 * (authenticatorData with rpIdHash, UP/UV flags and counter; DER signature over
 * authenticatorData ‖ SHA-256(clientDataJSON)).
 *
 * Every field can be overridden, to build the mutations the tests send.
 */

const encoder = new TextEncoder();

export const FLAG_UP = 0x01;
export const FLAG_UV = 0x04;
export const FLAG_AT = 0x40;

export function b64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromB64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function uint32(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}

// --- CBOR (RFC 8949), just what attestation objects and COSE keys need ------

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor> | { [key: string]: Cbor };

function cborHead(major: number, value: number): Uint8Array {
  const m = major << 5;
  if (value < 24) return new Uint8Array([m | value]);
  if (value < 0x100) return new Uint8Array([m | 24, value]);
  if (value < 0x10000) return new Uint8Array([m | 25, value >> 8, value & 0xff]);
  return concat(new Uint8Array([m | 26]), uint32(value));
}

export function cbor(value: Cbor): Uint8Array {
  if (typeof value === "number") return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  if (typeof value === "string") {
    const bytes = encoder.encode(value);
    return concat(cborHead(3, bytes.length), bytes);
  }
  if (value instanceof Uint8Array) return concat(cborHead(2, value.length), value);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return concat(cborHead(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)]));
}

// --- ECDSA signature encoding ---------------------------------------------

/** Minimal DER INTEGER content for an unsigned big-endian value. */
function derInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  let content = bytes.subarray(start);
  if (content[0]! & 0x80) content = concat(new Uint8Array([0]), content);
  return concat(new Uint8Array([0x02, content.length]), content);
}

/** WebCrypto's r‖s (IEEE P1363) as a canonical DER Ecdsa-Sig-Value. */
export function p1363ToDer(signature: Uint8Array): Uint8Array {
  const half = signature.length / 2;
  const body = concat(derInteger(signature.subarray(0, half)), derInteger(signature.subarray(half)));
  return concat(new Uint8Array([0x30, body.length]), body);
}

// --- The authenticator -------------------------------------------------------

export interface StoredKey {
  id: Uint8Array;
  keyPair: CryptoKeyPair;
  userHandle: Uint8Array;
  counter: number;
}

export interface CreationOptionsJSON {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  pubKeyCredParams: { type: string; alg: number }[];
  excludeCredentials?: { id: string }[];
}

export interface RequestOptionsJSON {
  challenge: string;
  rpId?: string;
  allowCredentials?: { id: string }[];
}

export interface Overrides {
  origin?: string;
  rpId?: string;
  type?: string;
  challenge?: string;
  crossOrigin?: boolean;
  flags?: number;
  /** Sign-count to report; by default the stored counter plus one. */
  counter?: number;
  /** Which of this authenticator's keys to use (assertions), by base64url id. */
  credentialId?: string;
  /** Report this id instead of the key's own (id and rawId). */
  claimedId?: string;
  userHandle?: string | null;
  /** Rewrites the DER signature before it is sent. */
  signature?: (der: Uint8Array) => Uint8Array;
}

export class SoftwareAuthenticator {
  readonly keys = new Map<string, StoredKey>();

  constructor(readonly origin: string) {}

  /** `navigator.credentials.create()`: a new P-256 key and a "none" attestation. */
  async register(options: CreationOptionsJSON, overrides: Overrides = {}) {
    if (!options.pubKeyCredParams.some((p) => p.alg === -7)) throw new Error("ES256 not offered");
    const rpId = overrides.rpId ?? options.rp.id!;
    const keyPair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const raw = new Uint8Array((await crypto.subtle.exportKey("raw", keyPair.publicKey)) as ArrayBuffer);
    const cosePublicKey = cbor(
      new Map<Cbor, Cbor>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, raw.subarray(1, 33)],
        [-3, raw.subarray(33, 65)],
      ]),
    );
    const id = crypto.getRandomValues(new Uint8Array(32));
    const counter = overrides.counter ?? 0;
    const authData = concat(
      await sha256(encoder.encode(rpId)),
      new Uint8Array([overrides.flags ?? FLAG_UP | FLAG_UV | FLAG_AT]),
      uint32(counter),
      new Uint8Array(16), // AAGUID: zero, as "none" attestation allows
      new Uint8Array([id.length >> 8, id.length & 0xff]),
      id,
      cosePublicKey,
    );
    const attestationObject = cbor({ fmt: "none", attStmt: {}, authData });
    const clientDataJSON = this.#clientData("webauthn.create", options.challenge, overrides);
    const key: StoredKey = { id, keyPair, userHandle: fromB64url(options.user.id), counter };
    this.keys.set(b64url(id), key);
    const reportedId = overrides.claimedId ?? b64url(id);
    return {
      id: reportedId,
      rawId: reportedId,
      type: "public-key" as const,
      clientExtensionResults: {},
      authenticatorAttachment: "cross-platform",
      response: {
        clientDataJSON: b64url(clientDataJSON),
        attestationObject: b64url(attestationObject),
        transports: ["usb", "internal"],
      },
    };
  }

  /** `navigator.credentials.get()`: an assertion by one of this authenticator's keys. */
  async assert(options: RequestOptionsJSON, overrides: Overrides = {}) {
    const allowed = options.allowCredentials?.map((c) => c.id) ?? [];
    const chosenId =
      overrides.credentialId ?? allowed.find((id) => this.keys.has(id)) ?? (allowed.length === 0 ? [...this.keys.keys()][0] : undefined);
    const key = chosenId === undefined ? undefined : this.keys.get(chosenId);
    if (key === undefined) throw new Error("no usable credential on this authenticator");
    const counter = overrides.counter ?? key.counter + 1;
    key.counter = Math.max(key.counter, counter);
    const authenticatorData = concat(
      await sha256(encoder.encode(overrides.rpId ?? options.rpId!)),
      new Uint8Array([overrides.flags ?? FLAG_UP | FLAG_UV]),
      uint32(counter),
    );
    const clientDataJSON = this.#clientData("webauthn.get", options.challenge, overrides);
    const signed = concat(authenticatorData, await sha256(clientDataJSON));
    const p1363 = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.keyPair.privateKey, signed));
    const der = p1363ToDer(p1363);
    const signature = overrides.signature ? overrides.signature(der) : der;
    const reportedId = overrides.claimedId ?? b64url(key.id);
    return {
      id: reportedId,
      rawId: reportedId,
      type: "public-key" as const,
      clientExtensionResults: {},
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authenticatorData),
        signature: b64url(signature),
        userHandle: overrides.userHandle === undefined ? b64url(key.userHandle) : overrides.userHandle,
      },
    };
  }

  #clientData(type: string, challenge: string, overrides: Overrides): Uint8Array {
    return encoder.encode(
      JSON.stringify({
        type: overrides.type ?? type,
        challenge: overrides.challenge ?? challenge,
        origin: overrides.origin ?? this.origin,
        crossOrigin: overrides.crossOrigin ?? false,
      }),
    );
  }
}
