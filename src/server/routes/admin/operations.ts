/**
 * The admin API's OpenAPI 3.1 document (`GET /admin/openapi.json`), generated from
 * the zod schemas that validate the requests, so the document cannot drift from
 * what the routes accept. Each admin route module exports its operations; the
 * document is built from the list in routes/admin/openapi.ts.
 */
import type * as z from "zod/mini";
import { jsonRequestBody, parametersOf, pathsOf, type JsonSchema } from "../../lib/openapi";
import { EDGEAUTH_VERSION } from "../../version";
import type { AdminScope } from "./access";

/**
 * Who may call an operation: a scope (the admin secret, or a key of the realm the
 * route names holding it), `admin-secret` only, or `realm-key` (the secret, or any
 * key of that realm, whatever its scopes).
 */
export type AdminAccess = AdminScope | "admin-secret" | "realm-key";

/** One route of the admin API, as the OpenAPI document describes it. */
export interface AdminOperation {
  method: "get" | "post" | "patch" | "delete";
  /** OpenAPI style: `/admin/realms/{realm}`. */
  path: string;
  summary: string;
  access: AdminAccess;
  /** The JSON request body's schema, the one the route validates with. */
  body?: z.ZodMiniType;
  query?: z.ZodMiniType;
  /** The success status and what it answers. */
  response: { status: number; description: string };
}

const ERROR_RESPONSE = {
  description: "An error: `{ error: { code, status, message } }` (README, \"Errors\")",
  content: {
    "application/json": {
      schema: {
        type: "object",
        required: ["error"],
        properties: {
          error: {
            type: "object",
            required: ["code", "status", "message"],
            properties: { code: { type: "string" }, status: { type: "integer" }, message: { type: "string" } },
          },
        },
      },
    },
  },
};

function accessNote(access: AdminAccess): string {
  if (access === "admin-secret") return "Needs the deployment's ADMIN_SECRET.";
  if (access === "realm-key") return "Needs the ADMIN_SECRET or any admin API key of the realm.";
  return `Needs the ADMIN_SECRET or an admin API key of the realm with the \`${access}\` scope.`;
}

function describe(operation: AdminOperation): JsonSchema {
  const parameters = parametersOf(operation.path, operation.query);
  return {
    summary: operation.summary,
    description: accessNote(operation.access),
    "x-edgeauth-access": operation.access,
    security: [{ adminSecret: [] }, { bearer: [] }],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(operation.body === undefined ? {} : { requestBody: jsonRequestBody(operation.body, true) }),
    responses: {
      [String(operation.response.status)]: { description: operation.response.description },
      default: ERROR_RESPONSE,
    },
  };
}

/** The OpenAPI 3.1 document of `operations`. */
export function openApiDocument(operations: readonly AdminOperation[]): JsonSchema {
  const paths = pathsOf(operations, describe);
  return {
    openapi: "3.1.0",
    info: { title: "edgeauth admin API", version: EDGEAUTH_VERSION },
    components: {
      securitySchemes: {
        adminSecret: { type: "apiKey", in: "header", name: "x-admin-secret", description: "The deployment's ADMIN_SECRET" },
        bearer: { type: "http", scheme: "bearer", description: "The ADMIN_SECRET, or an admin API key (`eak_...`)" },
      },
    },
    paths,
  };
}
