/** Reads and validates JSON request bodies: capped, parsed, schema-checked. */
import type * as z from "zod/mini";
// Loaded for its side effect: English issue messages.
import "./schema";
// From source: one capped reader for request bodies and the verifier's JWKS
// documents, and not part of the client package's public exports.
import { readCappedBytes } from "../../../packages/client/src/capped-body";
import { AuthError } from "../errors";

/** Bodies above this are refused before parsing (no route needs more). */
export const MAX_BODY_BYTES = 64 * 1024;

async function readCapped(request: Request): Promise<string> {
  const bytes = await readCappedBytes(request.body, request.headers.get("content-length"), MAX_BODY_BYTES);
  if (bytes === null) throw new AuthError("request-too-large");
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new AuthError("invalid-request", "body is not UTF-8");
  }
}

function describeIssue(issues: z.core.$ZodIssue[]): string {
  const issue = issues[0];
  if (issue === undefined) return "invalid body";
  const path = issue.path.length > 0 ? issue.path.join(".") : "body";
  return `${path}: ${issue.message}`;
}

/**
 * Parses the request's JSON body against `schema`. An absent body counts as `{}`
 * only when `optional` is set (routes whose spec body is optional).
 */
export async function readJsonBody<Schema extends z.ZodMiniType>(
  request: Request,
  schema: Schema,
  options: { optional?: boolean } = {},
): Promise<z.output<Schema>> {
  const text = await readCapped(request);
  let parsed: unknown;
  if (text.trim() === "") {
    if (!options.optional) throw new AuthError("invalid-request", "a JSON body is required");
    parsed = {};
  } else {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new AuthError("invalid-request", "body is not valid JSON");
    }
  }
  const result = schema.safeParse(parsed);
  if (!result.success) throw new AuthError("invalid-request", describeIssue(result.error.issues));
  return result.data;
}
