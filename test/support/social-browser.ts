/**
 * A browser for the social sign-in tests: it follows redirects by hand across the
 * Worker (`http://localhost`, through its own fetch) and the loopback providers
 * (real fetch), keeps each host's cookies as a browser would, submits Apple-style
 * `form_post` pages, and stops when it lands on the app.
 */
import { workerFetch } from "../helpers";

/** Where the tests' apps live (CLIENT_URL and ALLOWED_REDIRECT_URLS in vitest.config.ts). */
export const APP_URL = "https://app.example.com/auth";
const APP_ORIGINS = ["https://app.example.com", "http://localhost:3000"];
const MAX_HOPS = 15;

export interface Hop {
  method: string;
  url: string;
  status: number;
}

export class Browser {
  readonly cookies = new Map<string, Map<string, string>>();
  readonly hops: Hop[] = [];

  cookiesOf(host: string): Map<string, string> {
    let jar = this.cookies.get(host);
    if (jar === undefined) {
      jar = new Map();
      this.cookies.set(host, jar);
    }
    return jar;
  }

  /** One request, with this browser's cookies for the host; it keeps what the answer sets. */
  async request(url: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Response> {
    const target = new URL(url);
    const jar = this.cookiesOf(target.host);
    const headers = new Headers(init.headers);
    if (jar.size > 0) headers.set("cookie", [...jar].map(([name, value]) => `${name}=${value}`).join("; "));
    const requestInit: RequestInit = { method: init.method ?? "GET", headers, body: init.body, redirect: "manual" };
    const response = target.hostname === "localhost" && target.port === "" ? await workerFetch(url, requestInit) : await fetch(url, requestInit);
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const separator = pair!.indexOf("=");
      const name = pair!.slice(0, separator).trim();
      const value = pair!.slice(separator + 1).trim();
      if (/max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    this.hops.push({ method: requestInit.method!, url, status: response.status });
    return response;
  }

  /**
   * Follows redirects (and form_post pages) from `url` until the browser lands on
   * the app; answers where it landed. Throws when it ends anywhere else.
   */
  async navigate(url: string, init: RequestStep["init"] = {}): Promise<URL> {
    const landed = await this.walk({ url, init }, (next) => APP_ORIGINS.includes(new URL(next.url).origin));
    return new URL(landed.url);
  }

  /** The round trip up to (not into) the Worker's callback: the request the provider sends the browser back with. */
  untilCallback(url: string): Promise<RequestStep> {
    return this.walk({ url, init: {} }, (next) => new URL(next.url).hostname === "localhost" && new URL(next.url).pathname.endsWith("/callback"));
  }

  private async walk(first: RequestStep, arrived: (next: RequestStep) => boolean): Promise<RequestStep> {
    let next = first;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      if (arrived(next)) return next;
      const response = await this.request(next.url, next.init);
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel();
        next = { url: new URL(location, next.url).toString(), init: {} };
        continue;
      }
      const text = await response.text();
      // A form_post page (OAuth 2.0 Form Post Response Mode): the browser submits it.
      const form = /<form[^>]*method="post"[^>]*action="([^"]+)"/i.exec(text);
      if (response.status === 200 && form !== null) {
        const fields = new URLSearchParams();
        for (const input of text.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\s*\/?>/g)) fields.set(input[1]!, decodeHtml(input[2]!));
        next = { url: decodeHtml(form[1]!), init: { method: "POST", body: fields.toString(), headers: { "content-type": "application/x-www-form-urlencoded" } } };
        continue;
      }
      throw new Error(`stopped at ${next.url}: ${response.status} ${text.slice(0, 300)}`);
    }
    throw new Error(`more than ${MAX_HOPS} hops: ${this.hops.map((h) => h.url).join(" -> ")}`);
  }
}

export interface RequestStep {
  url: string;
  init: { method?: string; body?: string; headers?: Record<string, string> };
}

function decodeHtml(text: string): string {
  return text.replace(/&amp;/g, "&").replace(/&quot;/g, '"').replace(/&#x27;/g, "'").replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
}

/** `/signin/provider/{provider}` with the app's redirect, the test provider's login and any other query. */
export function providerStart(provider: string, login: string, query: Record<string, string> = {}, base = "http://localhost", flow = "signin"): string {
  const url = new URL(`${base}/${flow}/provider/${provider}`);
  url.searchParams.set("redirectTo", APP_URL);
  // The GitHub-shaped server reads `login`, the OpenID provider `login_hint`.
  url.searchParams.set("upstreamParams", JSON.stringify(provider === "github" ? { login } : { login_hint: login }));
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  return url.toString();
}
