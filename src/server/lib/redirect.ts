/**
 * The redirect allow-list. URLs are compared parsed (scheme, host, port, path
 * prefix on a segment boundary), never as raw string prefixes, so that
 * `https://app.example.com.evil.com` or userinfo tricks do not pass.
 */

function parseHttpUrl(value: string): URL | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  return url;
}

function pathHasPrefix(path: string, prefix: string): boolean {
  if (prefix === "/" || prefix === "") return true;
  const base = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  return path === base || path.startsWith(`${base}/`);
}

/** True when `candidate` falls under one of the `allowed` URL prefixes. */
export function isRedirectAllowed(candidate: string, allowed: readonly string[]): boolean {
  const url = parseHttpUrl(candidate);
  if (url === null || url.username !== "" || url.password !== "") return false;
  return allowed.some((entry) => {
    const prefix = parseHttpUrl(entry);
    return (
      prefix !== null &&
      prefix.protocol === url.protocol &&
      prefix.hostname === url.hostname &&
      prefix.port === url.port &&
      pathHasPrefix(url.pathname, prefix.pathname)
    );
  });
}
