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

export function describeIssue(issues: z.core.$ZodIssue[]): string {
  const issue = issues[0];
  if (issue === undefined) return "invalid body";
  const path = issue.path.length > 0 ? issue.path.join(".") : "body";
  return `${path}: ${issue.message}`;
}

/** `application/json`, with any parameters (`; charset=utf-8`), in any case (RFC 9110 §8.3.1). */
function isJsonMediaType(contentType: string): boolean {
  const semicolon = contentType.indexOf(";");
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return mediaType === "application/json";
}

/**
 * A browser sends `text/plain`, form and multipart bodies, and bodies without a
 * type, from any web page without a CORS preflight. Accepting them would let any
 * page drive sign-ins and mail floods from its visitors' browsers; requiring
 * `application/json` makes the browser ask first (Fetch, "CORS-safelisted request
 * header"). A request with no body at all and no type is what a client sends to a
 * route whose body is optional, and carries nothing a page could smuggle.
 */
function checkContentType(request: Request): void {
  const contentType = request.headers.get("content-type");
  if (contentType === null) {
    const hasBody = request.body !== null && request.headers.get("content-length") !== "0";
    if (hasBody) throw new AuthError("unsupported-media-type", "the request has a body but no Content-Type");
    return;
  }
  if (!isJsonMediaType(contentType)) throw new AuthError("unsupported-media-type");
}

/**
 * Parses the request's JSON body against `schema`, after checking that it is
 * declared `application/json` (else `415 unsupported-media-type`). An absent body
 * counts as `{}` only when `optional` is set (routes whose spec body is optional).
 */
export async function readJsonBody<Schema extends z.ZodMiniType>(
  request: Request,
  schema: Schema,
  options: { optional?: boolean } = {},
): Promise<z.output<Schema>> {
  checkContentType(request);
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
