/**
 * Pieces of an OpenAPI 3.1 document built from the zod schemas the routes validate
 * with, so a document cannot drift from what the routes accept. Shared by the admin
 * API's document (routes/admin/operations.ts) and the end-user API's
 * (routes/openapi.ts).
 */
import type * as z from "zod/mini";
import { toJSONSchema } from "zod/v4/core";

export type JsonSchema = Record<string, unknown>;

/** OpenAPI's `paths` object: each operation's description under its path and method. */
export function pathsOf<Operation extends { path: string; method: string }>(
  operations: readonly Operation[],
  describe: (operation: Operation) => JsonSchema,
): Record<string, Record<string, JsonSchema>> {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const operation of operations) {
    paths[operation.path] ??= {};
    paths[operation.path]![operation.method] = describe(operation);
  }
  return paths;
}

/**
 * The JSON Schema (2020-12, OpenAPI 3.1's dialect) of what a client may send:
 * `io: "input"`, so fields with defaults are optional; refinements zod cannot
 * express (a size check in a closure) are left out rather than failing the build.
 */
export function requestSchema(schema: z.ZodMiniType): JsonSchema {
  const { $schema: _dialect, ...rest } = toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema;
  return rest;
}

/** Path parameters (`{id}`) and the query's fields, as OpenAPI parameters. */
export function parametersOf(path: string, query?: z.ZodMiniType): JsonSchema[] {
  const pathParameters = [...path.matchAll(/\{(\w+)\}/g)].map((match) => ({
    name: match[1],
    in: "path",
    required: true,
    schema: { type: "string" },
  }));
  if (query === undefined) return pathParameters;
  const schema = requestSchema(query);
  const required = (schema.required ?? []) as string[];
  const queryParameters = Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>).map(([name, property]) => ({
    name,
    in: "query",
    required: required.includes(name),
    schema: property,
  }));
  return [...pathParameters, ...queryParameters];
}

/** A JSON request body with `schema`; `required: false` for routes that take no body too. */
export function jsonRequestBody(schema: z.ZodMiniType, required: boolean): JsonSchema {
  return { required, content: { "application/json": { schema: requestSchema(schema) } } };
}
