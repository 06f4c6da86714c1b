/** Shared helpers for tests that drive the Worker through its own fetch. */
import { exports } from "cloudflare:workers";
import { vi } from "vitest";
import type { Session } from "../src/shared/api";
import { app } from "../src/server/app";

export const BASE_URL = "http://localhost";

/**
 * A fresh client address (`CF-Connecting-IP`, as Cloudflare's edge sets it): the
 * suite stands for many users, not one client flooding the service, so every
 * request comes from its own address unless a test pins one. The rate-limit tests
 * pin theirs; the limits themselves keep their shipped defaults.
 */
export function randomClientIp(): string {
  const [a, b, c] = crypto.getRandomValues(new Uint8Array(3));
  return `10.${a}.${b}.${c}`;
}

/** The Worker's own fetch, from a fresh client address unless the request names one. */
export function workerFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const request = new Request(input, init);
  if (!request.headers.has("cf-connecting-ip")) request.headers.set("cf-connecting-ip", randomClientIp());
  return exports.default.fetch(request);
}
export const ADMIN_SECRET = "test-admin-secret-0123456789";

export interface ApiOptions {
  method?: string;
  /** Serialised as JSON unless it is already a string. */
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  /** The client's address; a fresh one per request when absent. */
  clientIp?: string;
}

export async function api(path: string, options: ApiOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers["content-type"] ??= "application/json";
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.clientIp !== undefined) headers["cf-connecting-ip"] = options.clientIp;
  const response = await workerFetch(`${BASE_URL}${path}`, {
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

/**
 * The app's own `fetch` under other bindings (settings a test changes), from a
 * fresh client address unless the request names one.
 */
export function appFetch(request: Request, bindings: Env, ctx: ExecutionContext): Promise<Response> {
  const fromClient = new Request(request);
  if (!fromClient.headers.has("cf-connecting-ip")) fromClient.headers.set("cf-connecting-ip", randomClientIp());
  return Promise.resolve(app.fetch(fromClient, bindings, ctx));
}

/** A real admin API key of `realm` holding `scopes`, made through the admin API with the admin secret. */
export async function createAdminApiKey(realm: string, scopes: string[]): Promise<{ key: string; id: string }> {
  const response = await api(`/admin/realms/${realm}/api-keys`, {
    body: { name: `test ${scopes.join(" ")}`, scopes },
    headers: { "x-admin-secret": ADMIN_SECRET },
  });
  if (response.status !== 201) throw new Error(`creating an admin API key failed: ${response.status} ${response.text}`);
  return { key: response.json.key as string, id: response.json.id as string };
}

/**
 * Runs `work` with `Date` held still, for the Worker as for the test (they share
 * the isolate). For a TOTP code of the previous step: on a loaded machine a
 * request can cross into the next step, where that code is two steps old and out
 * of the one-step window.
 */
export async function withClockHeld<T>(work: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(Date.now());
  try {
    return await work();
  } finally {
    vi.useRealTimers();
  }
}
