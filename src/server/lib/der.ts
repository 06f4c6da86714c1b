/**
 * Strict DER for ECDSA signatures (pure).
 *
 * WebAuthn says an ES256 assertion signature "MUST be encoded as an ASN.1 DER
 * Ecdsa-Sig-Value". @simplewebauthn/server 14 parses it with a BER parser and never
 * re-encodes, so it also accepts long-form lengths, padded integers, indefinite
 * lengths and trailing bytes (Wycheproof `ecdsa_secp256r1_sha256_test.json`: 24
 * such encodings pass). None of them forges a signature, but each is a second
 * encoding of one: we refuse them before the library sees the signature (see the
 * README, "Passkeys").
 */

/** True when `signature` is exactly `SEQUENCE { INTEGER r, INTEGER s }` in canonical DER. */
export function isCanonicalEcdsaDer(signature: Uint8Array): boolean {
  // SEQUENCE whose length covers the rest exactly: short form up to 127 bytes
  // (every P-256 and P-384 signature), one length byte above that (P-521).
  if (signature.length < 8 || signature[0] !== 0x30) return false;
  let offset: number;
  let bodyLength: number;
  if (signature[1]! < 0x80) {
    bodyLength = signature[1]!;
    offset = 2;
  } else if (signature[1] === 0x81 && signature[2]! >= 0x80) {
    // One length byte, and only when the short form cannot express it (DER minimal length).
    bodyLength = signature[2]!;
    offset = 3;
  } else {
    return false;
  }
  if (offset + bodyLength !== signature.length) return false;
  for (let i = 0; i < 2; i++) {
    if (signature[offset] !== 0x02) return false;
    const length = signature[offset + 1]!;
    if (length === 0 || length >= 0x80) return false;
    const start = offset + 2;
    if (start + length > signature.length) return false;
    const first = signature[start]!;
    // Non-negative, and no leading zero unless the next byte needs it.
    if (first & 0x80) return false;
    if (first === 0x00 && length > 1 && (signature[start + 1]! & 0x80) === 0) return false;
    offset = start + length;
  }
  return offset === signature.length;
}
