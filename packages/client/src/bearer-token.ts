/**
 * The token of an `Authorization: Bearer <token>` header, or `null` when the header
 * is absent or carries anything else (another scheme, no token, two tokens). The
 * scheme is matched in any case (RFC 6750 §2.1, RFC 9110 §11.1).
 *
 * @example
 * ```ts
 * import { bearerToken, createVerifier } from "@edgeauth/client";
 *
 * const verifier = createVerifier({ issuer: "https://auth.example.com" });
 *
 * // In any Node HTTP handler (node:http, Express, Fastify, ...):
 * const token = bearerToken(request.headers.authorization);
 * const result = token === null ? null : await verifier.verify(token);
 * ```
 */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
  return match ? match[1]! : null;
}
