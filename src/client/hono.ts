/**
 * Hono middleware for backend services: verifies the bearer access token with a
 * verifier and puts the claims on the context.
 */
import type { MiddlewareHandler } from "hono";
import type { AccessTokenClaims } from "../shared/claims";
import type { Verifier, VerifyErrorCode } from "./verifier";

export interface EdgeauthVariables<Claims = AccessTokenClaims> {
  claims: Claims;
}

export interface RequireAccessTokenOptions<Claims> {
  verifier: Verifier<Claims>;
  /** Build the 401 response yourself; by default an Nhost-style error body. */
  onUnauthorized?: (code: VerifyErrorCode | "missing-token") => Response;
}

/**
 * Refuses requests without a valid `Authorization: Bearer <access token>` and
 * sets `c.var.claims` for the handlers after it.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createVerifier } from "edgeauth/client";
 * import { requireAccessToken, type EdgeauthVariables } from "edgeauth/client/hono";
 *
 * const verifier = createVerifier({ issuer: "https://auth.example.com" });
 * const app = new Hono<{ Variables: EdgeauthVariables }>();
 * app.use("/api/*", requireAccessToken({ verifier }));
 * app.get("/api/me", (c) => c.json({ userId: c.var.claims.sub }));
 * ```
 */
export function requireAccessToken<Claims = AccessTokenClaims>(
  options: RequireAccessTokenOptions<Claims>,
): MiddlewareHandler<{ Variables: EdgeauthVariables<Claims> }> {
  const unauthorized =
    options.onUnauthorized ??
    ((code: VerifyErrorCode | "missing-token") =>
      Response.json(
        { status: 401, error: "unauthenticated-user", message: `Access token refused: ${code}` },
        { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } },
      ));
  return async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    if (token === null) return unauthorized("missing-token");
    const result = await options.verifier.verify(token);
    if (!result.ok) return unauthorized(result.code);
    c.set("claims", result.claims);
    await next();
  };
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header);
  return match ? match[1]! : null;
}
