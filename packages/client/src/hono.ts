/**
 * `@edgeauth/client/hono`: Hono middleware for backend services. It verifies the
 * bearer access token with a verifier from `@edgeauth/client` and puts the claims on
 * the context. Hono is an optional peer dependency, needed only by this entry point.
 *
 * @example
 * ```ts
 * import { requireAccessToken } from "@edgeauth/client/hono";
 * ```
 *
 * @packageDocumentation
 */
import type { MiddlewareHandler } from "hono";
import { bearerToken } from "./bearer-token.js";
import type { AccessTokenClaims } from "./claims.js";
import type { Verifier, VerifyErrorCode } from "./verifier.js";

/**
 * The context variables {@link requireAccessToken} sets: declare them on your app so
 * that `c.var.claims` is typed.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import type { EdgeauthVariables } from "@edgeauth/client/hono";
 *
 * const app = new Hono<{ Variables: EdgeauthVariables }>();
 * ```
 */
export interface EdgeauthVariables<Claims = AccessTokenClaims> {
  /** The verified access token's claims. */
  claims: Claims;
}

/**
 * Options of {@link requireAccessToken}.
 *
 * @example
 * ```ts
 * const options: RequireAccessTokenOptions<AccessTokenClaims> = {
 *   verifier,
 *   onUnauthorized: (code) => Response.json({ error: code }, { status: 401 }),
 * };
 * ```
 */
export interface RequireAccessTokenOptions<Claims> {
  /** The verifier to check tokens with; create it once, at module scope. */
  verifier: Verifier<Claims>;
  /**
   * Builds the response for a refused request. By default: status 401, a
   * `WWW-Authenticate: Bearer error="invalid_token"` header and an Nhost-style body
   * `{ status: 401, error: "unauthenticated-user", message: "Access token refused: <code>" }`.
   */
  onUnauthorized?: (code: VerifyErrorCode | "missing-token") => Response;
}

/**
 * Refuses requests without a valid `Authorization: Bearer <access token>` and
 * sets `c.var.claims` for the handlers after it. A refused request never reaches them.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { createVerifier } from "@edgeauth/client";
 * import { requireAccessToken, type EdgeauthVariables } from "@edgeauth/client/hono";
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
