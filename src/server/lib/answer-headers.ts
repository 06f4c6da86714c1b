/**
 * Headers every answer of the Worker carries, whatever produced it (a route, the
 * 404 handler, `app.onError`, the CORS preflight): applied by app.ts.
 */

/**
 * The only documents we serve (the dev outbox page) need inline styles and
 * `data:` images and nothing else: no script, no plugin, no framing, no form.
 * A `srcdoc` iframe inherits this policy, so a mail shown in the page cannot load
 * anything from the network either.
 */
export const HTML_CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Sets the headers in place and returns `response`. It runs on every request,
 * `/token`, `GET /user` and the JWKS included, so the response is copied only
 * when its headers are immutable.
 */
export function withAnswerHeaders(response: Response): Response {
  let answer = response;
  try {
    // Nothing we send is meant to be sniffed into another type (a JSON error
    // rendered as HTML, say).
    answer.headers.set("x-content-type-options", "nosniff");
  } catch {
    // A Response from fetch() or the Cache API has immutable headers: copy it once.
    answer = new Response(response.body, response);
    answer.headers.set("x-content-type-options", "nosniff");
  }
  const headers = answer.headers;
  // URLs here can carry tickets and refresh tokens (`/verify`, its redirects): no
  // page should learn them from a Referer.
  headers.set("referrer-policy", "no-referrer");
  // Answers carry tokens, user data and one-time secrets: no cache may keep them
  // (RFC 6749 §5.1). Routes meant to be cached (the JWKS) set their own header.
  if (!headers.has("cache-control")) {
    headers.set("cache-control", "no-store");
    headers.set("pragma", "no-cache");
  }
  const contentType = headers.get("content-type");
  if (contentType !== null && /^\s*text\/html\b/i.test(contentType)) {
    headers.set("content-security-policy", HTML_CONTENT_SECURITY_POLICY);
    headers.set("x-frame-options", "DENY");
  }
  return answer;
}
