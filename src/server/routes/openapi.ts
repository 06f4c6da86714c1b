/**
 * `GET /openapi.json` (and `/realms/{realm}/openapi.json`): the end-user API's
 * OpenAPI 3.1 document, with the realm's own URL as its server. Request bodies and
 * queries are the zod schemas the routes validate with (each route module exports
 * them), so the document cannot drift from what the routes accept. Served without
 * credentials: it holds nothing the README does not say.
 *
 * A new end-user route adds its entry to `END_USER_OPERATIONS`; the test
 * (test/openapi.test.ts) lists every route the app serves that is missing here.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../context";
import { jsonRequestBody, parametersOf, pathsOf, type JsonSchema } from "../lib/openapi";
import { boundedString } from "../lib/schema";
import { EDGEAUTH_VERSION } from "../version";
import { anonymousBody, deanonymizeBody } from "./anonymous";
import { emailChangeBody, emailWithRedirectBody } from "./email";
import { signInEmailPasswordBody, signUpEmailPasswordBody } from "./email-password";
import { changeMfaBody, signInTotpBody } from "./mfa";
import { emailOtpVerifyBody, magicLinkBody, passwordlessEmailBody } from "./passwordless-email";
import { passwordlessSmsBody, smsOtpVerifyBody } from "./passwordless-sms";
import { createPatBody, signInPatBody } from "./pat";
import { refreshBody, signOutBody, tokenExchangeBody, verifyTokenBody } from "./session";
import { elevationOtpBody } from "./elevation";
import { deanonymizeSmsBody, phoneNumberChangeBody, phoneNumberChangeVerifyBody } from "./phone-number";
import { codeChallengeSchema } from "../lib/pkce";
import { changePasswordBody } from "./user";
import { linkIdTokenBody, signInIdTokenBody } from "./idtoken";
import { providerCallbackQuery, providerStartQuery, refreshProviderTokenBody } from "./provider";
import {
  addPasskeyVerifyBody,
  signInWebauthnBody,
  signUpWebauthnBody,
  signUpWebauthnVerifyBody,
  webauthnAssertionBody,
} from "./webauthn";

/**
 * Who may call an operation, as the reference spec names it: `bearer` (an access
 * token), `elevated` (an elevated one when the user has a second factor, or under ELEVATION_REQUIRED), with `-or-none`
 * when the route also answers without a token (another credential in the body, or
 * a narrower answer).
 */
export type EndUserSecurity = "none" | "bearer" | "elevated" | "bearer-or-none" | "elevated-or-none";

/** One route of the end-user API, as the OpenAPI document describes it. */
export interface EndUserOperation {
  method: "get" | "post" | "delete";
  /** OpenAPI style: `/pat/{id}`. */
  path: string;
  summary: string;
  security: EndUserSecurity;
  /** The JSON request body's schema, the one the route validates with. */
  body?: z.ZodMiniType;
  /** The route also takes no body at all (`readJsonBody(..., { optional: true })`). */
  bodyOptional?: boolean;
  query?: z.ZodMiniType;
  /** The success status and what it answers. */
  response: { status: number; description: string };
  /** Ours: not in the Nhost Auth API. */
  extension?: boolean;
}

const OK = { status: 200, description: '`"OK"`' } as const;
const SESSION = { status: 200, description: "`{ session }`, or `{ session: null, mfa: { ticket } }` when a second factor is due" } as const;
const SESSION_ONLY = { status: 200, description: "`{ session }`" } as const;

/**
 * `GET /verify` answers every failure with a redirect carrying `error`, never a
 * 400, so it reads its query by hand; this is what it reads.
 */
const verifyQuery = z.object({
  ticket: boundedString(1, 512),
  redirectTo: z.optional(boundedString(0, 2048)),
  /** Accepted and not needed: the ticket's prefix names its type. */
  type: z.optional(z.enum(["emailVerify", "emailConfirmChange", "signinPasswordless", "passwordReset"])),
  /** PKCE: the redirect then carries `code` for `/token/exchange` instead of `refreshToken`. */
  codeChallenge: z.optional(codeChallengeSchema),
});

/** Every end-user route: a new route module adds its operations here. */
export const END_USER_OPERATIONS: readonly EndUserOperation[] = [
  // system
  { method: "get", path: "/healthz", summary: "Health check (also HEAD)", security: "none", response: OK },
  { method: "get", path: "/version", summary: "The service's version", security: "none", response: { status: 200, description: "`{ version }`" } },
  { method: "get", path: "/.well-known/jwks.json", summary: "The realm's public signing keys (edge-cached, ETag)", security: "none", response: { status: 200, description: "`{ keys: [...] }`" } },
  { method: "get", path: "/openapi.json", summary: "This document", security: "none", response: { status: 200, description: "OpenAPI 3.1" }, extension: true },
  // email and password
  { method: "post", path: "/signup/email-password", summary: "Sign up with email and password", security: "none", body: signUpEmailPasswordBody, response: { status: 200, description: "`{ session }` (`null` with REQUIRE_VERIFIED_EMAIL)" } },
  { method: "post", path: "/signin/email-password", summary: "Sign in with email and password", security: "none", body: signInEmailPasswordBody, response: SESSION },
  // sessions and tokens
  { method: "post", path: "/token", summary: "Refresh: a new session, the refresh token rotated", security: "none", body: refreshBody, response: { status: 200, description: "The session" } },
  { method: "post", path: "/signout", summary: "End this session (refreshToken) or every session (all, with a bearer token)", security: "bearer-or-none", body: signOutBody, response: OK },
  { method: "post", path: "/token/verify", summary: "Check an access token (body or bearer)", security: "bearer-or-none", body: verifyTokenBody, bodyOptional: true, response: OK },
  { method: "post", path: "/token/exchange", summary: "PKCE: exchange an authorization code and its verifier for a session", security: "none", body: tokenExchangeBody, response: SESSION_ONLY },
  // the user
  { method: "get", path: "/user", summary: "The signed-in user", security: "bearer", response: { status: 200, description: "The user" } },
  { method: "post", path: "/user/password", summary: "Change the password: signed in, or with a passwordReset ticket", security: "elevated-or-none", body: changePasswordBody, response: OK },
  { method: "post", path: "/user/email/send-verification-email", summary: "Mail a verification link", security: "none", body: emailWithRedirectBody, response: OK },
  { method: "post", path: "/user/password/reset", summary: "Mail a password-reset link", security: "none", body: emailWithRedirectBody, response: OK },
  { method: "post", path: "/user/email/change", summary: "Mail a confirmation link to a new address", security: "elevated", body: emailChangeBody, response: OK },
  { method: "get", path: "/verify", summary: "Redeem a link's ticket, then redirect to redirectTo", security: "none", query: verifyQuery, response: { status: 302, description: "To `redirectTo` with `refreshToken` (or, with PKCE, `code`; or `mfaTicket`) and `type`, or with `error` and `errorDescription`" } },
  // passwordless by email and SMS
  { method: "post", path: "/signin/passwordless/email", summary: "Mail a magic link", security: "none", body: magicLinkBody, response: OK },
  { method: "post", path: "/signup/passwordless/email", summary: "Sign up: a new account and a magic link (nothing for a known address)", security: "none", body: magicLinkBody, response: OK },
  { method: "post", path: "/signup/otp/email", summary: "Sign up: a new account and an emailed code (nothing for a known address)", security: "none", body: passwordlessEmailBody, response: OK },
  { method: "post", path: "/signup/passwordless/sms", summary: "Sign up: a new account and a texted code (nothing for a known number)", security: "none", body: passwordlessSmsBody, response: OK },
  { method: "post", path: "/signin/otp/email", summary: "Mail a one-time code", security: "none", body: passwordlessEmailBody, response: OK },
  { method: "post", path: "/signin/otp/email/verify", summary: "Exchange an emailed code for a session", security: "none", body: emailOtpVerifyBody, response: SESSION },
  { method: "post", path: "/signin/passwordless/sms", summary: "Text a one-time code", security: "none", body: passwordlessSmsBody, response: OK },
  { method: "post", path: "/signin/passwordless/sms/otp", summary: "Exchange a texted code for a session", security: "none", body: smsOtpVerifyBody, response: SESSION },
  // anonymous users
  { method: "post", path: "/signin/anonymous", summary: "Start an anonymous user (ANONYMOUS_USERS_ENABLED)", security: "none", body: anonymousBody, bodyOptional: true, response: SESSION_ONLY },
  { method: "post", path: "/user/deanonymize", summary: "Turn the anonymous user into an account", security: "bearer", body: deanonymizeBody, response: OK },
  { method: "post", path: "/user/deanonymize/sms", summary: "Text a code to a number; verifying it at /signin/passwordless/sms/otp makes the anonymous user an account", security: "bearer", body: deanonymizeSmsBody, response: OK },
  // phone number
  { method: "post", path: "/user/phone-number/change", summary: "Text a code to a new number", security: "elevated", body: phoneNumberChangeBody, response: OK },
  { method: "post", path: "/user/phone-number/change/verify", summary: "The code texted to the new number moves the account to it", security: "elevated", body: phoneNumberChangeVerifyBody, response: OK },
  // elevation besides passkeys
  { method: "get", path: "/elevate", summary: "Whether the caller must elevate, how it can, and whether its token is elevated", security: "bearer", response: { status: 200, description: "`{ elevationRequired, methods, sessionElevated }`" } },
  { method: "post", path: "/elevate/totp", summary: "Elevation by a TOTP code", security: "bearer", body: elevationOtpBody, response: SESSION_ONLY },
  { method: "post", path: "/elevate/otp/email", summary: "Elevation: mail a code to the verified address", security: "bearer", response: OK },
  { method: "post", path: "/elevate/otp/email/verify", summary: "Elevation: the emailed code", security: "bearer", body: elevationOtpBody, response: SESSION_ONLY },
  { method: "post", path: "/elevate/otp/sms", summary: "Elevation: text a code to the verified number", security: "bearer", response: OK },
  { method: "post", path: "/elevate/otp/sms/verify", summary: "Elevation: the texted code", security: "bearer", body: elevationOtpBody, response: SESSION_ONLY },
  // personal access tokens
  { method: "post", path: "/pat", summary: "Create a personal access token (shown once)", security: "elevated", body: createPatBody, response: { status: 200, description: "`{ id, personalAccessToken }`" } },
  { method: "get", path: "/pat", summary: "The caller's personal access tokens, without their secrets", security: "bearer", response: { status: 200, description: "`{ personalAccessTokens }`" }, extension: true },
  { method: "delete", path: "/pat/{id}", summary: "Revoke one of the caller's personal access tokens", security: "bearer", response: OK, extension: true },
  { method: "post", path: "/signin/pat", summary: "Exchange a personal access token for a session", security: "none", body: signInPatBody, response: SESSION_ONLY },
  // TOTP
  { method: "get", path: "/mfa/totp/generate", summary: "A new TOTP secret and its QR code", security: "elevated", response: { status: 200, description: "`{ imageUrl, totpSecret }`" } },
  { method: "post", path: "/user/mfa", summary: "Activate (`totp`) or deactivate (`\"\"`) TOTP", security: "bearer", body: changeMfaBody, response: OK },
  { method: "post", path: "/signin/mfa/totp", summary: "The second step of a sign-in: the TOTP code", security: "none", body: signInTotpBody, response: SESSION_ONLY },
  // passkeys
  { method: "post", path: "/signup/webauthn", summary: "Passkey sign-up: the creation options", security: "none", body: signUpWebauthnBody, response: { status: 200, description: "PublicKeyCredentialCreationOptions" } },
  { method: "post", path: "/signup/webauthn/verify", summary: "Passkey sign-up: the attestation", security: "none", body: signUpWebauthnVerifyBody, response: { status: 200, description: "`{ session }` (`null` with REQUIRE_VERIFIED_EMAIL)" } },
  { method: "post", path: "/signin/webauthn", summary: "Passkey sign-in: the request options", security: "none", body: signInWebauthnBody, bodyOptional: true, response: { status: 200, description: "PublicKeyCredentialRequestOptions" } },
  { method: "post", path: "/signin/webauthn/verify", summary: "Passkey sign-in: the assertion", security: "none", body: webauthnAssertionBody, response: SESSION_ONLY },
  { method: "post", path: "/elevate/webauthn", summary: "Elevation: the request options for one of the caller's passkeys", security: "bearer", response: { status: 200, description: "PublicKeyCredentialRequestOptions" } },
  { method: "post", path: "/elevate/webauthn/verify", summary: "Elevation: the assertion; a session whose token is elevated", security: "bearer", body: webauthnAssertionBody, response: SESSION_ONLY },
  { method: "post", path: "/user/webauthn/add", summary: "Add a passkey: the creation options", security: "elevated", response: { status: 200, description: "PublicKeyCredentialCreationOptions" } },
  { method: "post", path: "/user/webauthn/verify", summary: "Add a passkey: the attestation", security: "elevated", body: addPasskeyVerifyBody, response: { status: 200, description: "`{ id, nickname }`" } },
  { method: "get", path: "/user/webauthn", summary: "The caller's passkeys", security: "bearer", response: { status: 200, description: "`{ securityKeys }`" }, extension: true },
  { method: "delete", path: "/user/webauthn/{id}", summary: "Remove one of the caller's passkeys", security: "elevated", response: OK, extension: true },
  // social sign-in (README, "Social sign-in")
  ...(["signin", "signup"] as const).map((flow) => ({
    method: "get" as const,
    path: `/${flow}/provider/{provider}`,
    summary: flow === "signin" ? "Start a sign-in with a provider" : "Start a sign-up with a provider (an existing identity is user-already-exists)",
    security: "none" as const,
    query: providerStartQuery,
    response: { status: 302, description: "To the provider; a refusal to `redirectTo` with `error` and `errorDescription`" },
  })),
  ...(["get", "post"] as const).map((method) => ({
    method,
    path: "/signin/provider/{provider}/callback",
    summary: method === "get" ? "The provider's redirect back" : "The provider's redirect back as a form post (Apple's form_post)",
    security: "none" as const,
    ...(method === "get" ? { query: providerCallbackQuery } : {}),
    response: { status: 302, description: "To `redirectTo` with `refreshToken` (or `code`, or `mfaTicket`) and the app's `state`, or with `error` and `errorDescription`" },
  })),
  { method: "get", path: "/signin/provider/{provider}/callback/tokens", summary: "The provider's tokens of the caller's last sign-in with it, once", security: "bearer", response: { status: 200, description: "ProviderSession" } },
  { method: "post", path: "/token/provider/{provider}", summary: "Refresh the provider's tokens", security: "bearer", body: refreshProviderTokenBody, response: { status: 200, description: "ProviderSession" } },
  { method: "post", path: "/signin/idtoken", summary: "Sign in with an Apple or Google ID token", security: "none", body: signInIdTokenBody, response: SESSION },
  { method: "post", path: "/signup/idtoken", summary: "Sign up with an Apple or Google ID token", security: "none", body: signInIdTokenBody, response: SESSION },
  { method: "post", path: "/link/idtoken", summary: "Link an ID token's identity to the caller", security: "elevated", body: linkIdTokenBody, response: OK },
];

/** The reference spec's `ErrorResponse`: `{ status, error, message }`. */
const ERROR_RESPONSE = {
  description: "An error: `{ status, error, message }`, `error` a code of the README's error table",
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["status", "error", "message"],
        properties: { status: { type: "integer" }, error: { type: "string" }, message: { type: "string" } },
      },
    },
  },
};

function securityOf(security: EndUserSecurity): JsonSchema[] {
  switch (security) {
    case "none":
      return [];
    case "bearer":
      return [{ BearerAuth: [] }];
    case "elevated":
      return [{ BearerAuthElevated: [] }];
    case "bearer-or-none":
      return [{ BearerAuth: [] }, {}];
    case "elevated-or-none":
      return [{ BearerAuthElevated: [] }, {}];
  }
}

function describe(operation: EndUserOperation): JsonSchema {
  const parameters = parametersOf(operation.path, operation.query);
  return {
    summary: operation.summary,
    ...(operation.extension ? { "x-edgeauth-extension": true } : {}),
    security: securityOf(operation.security),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(operation.body === undefined ? {} : { requestBody: jsonRequestBody(operation.body, !operation.bodyOptional) }),
    responses: {
      [String(operation.response.status)]: { description: operation.response.description },
      default: ERROR_RESPONSE,
    },
  };
}

/** The end-user API's OpenAPI 3.1 document, served from `serverUrl` (a realm's issuer). */
export function endUserOpenApiDocument(operations: readonly EndUserOperation[], serverUrl: string): JsonSchema {
  const paths = pathsOf(operations, describe);
  return {
    openapi: "3.1.0",
    info: {
      title: "edgeauth end-user API",
      version: EDGEAUTH_VERSION,
      description: "Wire-compatible with the Nhost Auth API; operations marked `x-edgeauth-extension` are edgeauth's own.",
      license: { name: "MIT", identifier: "MIT" },
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        BearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "An access token of this realm" },
        BearerAuthElevated: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "An access token made elevated by `/elevate/webauthn/verify`, when the user has a passkey",
        },
      },
    },
    paths,
  };
}

// Built on first use per issuer, once per isolate: only the server URL differs between realms.
const documents = new Map<string, string>();
/** Realms come and go; a bound on what the isolate keeps. */
const DOCUMENTS_KEPT_MAX = 64;

export const endUserOpenApiRoutes = new Hono<AppEnv>().get("/openapi.json", (c) => {
  const issuer = c.var.context.realm.issuer;
  let document = documents.get(issuer);
  if (document === undefined) {
    if (documents.size >= DOCUMENTS_KEPT_MAX) documents.clear();
    document = JSON.stringify(endUserOpenApiDocument(END_USER_OPERATIONS, issuer));
    documents.set(issuer, document);
  }
  return c.body(document, 200, { "content-type": "application/json" });
});
