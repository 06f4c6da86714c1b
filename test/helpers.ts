/** Shared helpers for tests that drive the Worker through its own fetch. */
import { exports } from "cloudflare:workers";
import type { Session } from "../src/shared/api";

export const BASE_URL = "http://localhost";
export const ADMIN_SECRET = "test-admin-secret-0123456789";

export interface ApiOptions {
  method?: string;
  /** Serialised as JSON unless it is already a string. */
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

export async function api(path: string, options: ApiOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers["content-type"] ??= "application/json";
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const response = await exports.default.fetch(`${BASE_URL}${path}`, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  let json: any = undefined;
  try {
    json = text === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

let emailCounter = 0;
export function uniqueEmail(prefix = "user"): string {
  emailCounter += 1;
  return `${prefix}-${Date.now().toString(36)}-${emailCounter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
}

export const GOOD_PASSWORD = "correct horse battery staple";

/** Signs up a fresh user and returns its session. */
export async function signUp(email = uniqueEmail(), password = GOOD_PASSWORD, options?: Record<string, unknown>) {
  const response = await api("/signup/email-password", { body: { email, password, ...(options ? { options } : {}) } });
  if (response.status !== 200) throw new Error(`sign-up failed: ${response.status} ${response.text}`);
  return { email, password, session: response.json.session as Session & { user: NonNullable<Session["user"]> } };
}

export async function signIn(email: string, password = GOOD_PASSWORD) {
  return api("/signin/email-password", { body: { email, password } });
}
