/**
 * Realms through the admin API (README, "Admin API"): create, list, read, change,
 * delete; settings checked by the same parser as `[vars]`; a deleted realm 404s at
 * once and its rows and keys go in bounded, resumable runs.
 */
import { createExecutionContext, createScheduledController, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import worker from "../src/server/index";
import { REALM_CACHE_SECONDS } from "../src/server/realm";
import { continueRealmDeletions, REALM_DELETION_CRON } from "../src/server/services/realm-deletion";

/** When every isolate has stopped trusting its cached "the realm exists". */
const AFTER_REALM_CACHE_MS = (REALM_CACHE_SECONDS + 1) * 1000;
import { ADMIN_SECRET, GOOD_PASSWORD, api, uniqueEmail } from "./helpers";

function admin(path: string, method = "GET", body?: unknown) {
  return api(path, { method, body, headers: { "x-admin-secret": ADMIN_SECRET } });
}

let realmCounter = 0;
function uniqueRealmId(prefix = "r"): string {
  realmCounter += 1;
  return `${prefix}-${Date.now().toString(36)}-${realmCounter}`;
}

async function createRealm(id = uniqueRealmId(), body: Record<string, unknown> = {}) {
  const response = await admin("/admin/realms", "POST", { id, ...body });
  expect(response.status, response.text).toBe(201);
  return id;
}

async function countRows(table: string, realm: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE realm = ?`).bind(realm).first<{ n: number }>();
  return row!.n;
}

describe("creating and reading realms", () => {
  it("creates a realm that serves the end-user API at once, with its settings", async () => {
    const id = uniqueRealmId("acme");
    const created = await admin("/admin/realms", "POST", { id, displayName: "Acme", settings: { SIGNUP_DISABLED: "true" } });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ id, displayName: "Acme", settings: { SIGNUP_DISABLED: "true" } });
    expect(new Date(created.json.createdAt).getTime()).not.toBeNaN();
    expect((await api(`/realms/${id}/healthz`)).status).toBe(200);
    expect((await admin(`/admin/realms/${id}`)).json).toEqual(created.json);
  });

  it("lists realms, the default one first", async () => {
    const id = await createRealm();
    const { status, json } = await admin("/admin/realms");
    expect(status).toBe(200);
    expect(json.realms[0]).toMatchObject({ id: "default", settings: {} });
    expect(json.realms.map((realm: { id: string }) => realm.id)).toContain(id);
  });

  it("refuses `default` and an id in use with 409 realm-already-exists", async () => {
    const id = await createRealm();
    for (const taken of ["default", id]) {
      const response = await admin("/admin/realms", "POST", { id: taken });
      expect(response.status, taken).toBe(409);
      expect(response.json.error.code).toBe("realm-already-exists");
    }
  });

  it("refuses ids that are not lowercase slugs", async () => {
    for (const id of ["Upper", "-x", "a_b", "a".repeat(64), ""]) {
      const response = await admin("/admin/realms", "POST", { id });
      expect(response.status, id).toBe(400);
      expect(response.json.error.code).toBe("invalid-request");
    }
  });

  it("refuses a bad setting value with 400 naming the setting, and creates nothing", async () => {
    const id = uniqueRealmId();
    const response = await admin("/admin/realms", "POST", { id, settings: { ACCESS_TOKEN_TTL_SECONDS: "soon" } });
    expect(response.status).toBe(400);
    expect(response.json.error.code).toBe("invalid-realm-settings");
    expect(response.json.error.message).toContain("ACCESS_TOKEN_TTL_SECONDS");
    expect((await admin(`/admin/realms/${id}`)).status).toBe(404);
    // Checked together, as parseConfig does: a default role outside the allowed roles.
    const inconsistent = await admin("/admin/realms", "POST", { id, settings: { DEFAULT_ROLE: "owner" } });
    expect(inconsistent.status).toBe(400);
    expect(inconsistent.json.error.message).toContain("DEFAULT_ROLE");
  });

  it("refuses deployment settings, secrets and unknown names, naming them", async () => {
    for (const name of ["PUBLIC_URL", "ADMIN_SECRET", "SMTP_HOST", "MAIL_FROM", "SMS_AUTH_TOKEN", "RATE_LIMIT_SMS_PER_DEPLOYMENT", "SIGNING_KEY_LEASE_SECONDS", "NO_SUCH_SETTING"]) {
      const response = await admin("/admin/realms", "POST", { id: uniqueRealmId(), settings: { [name]: "x" } });
      expect(response.status, name).toBe(400);
      expect(response.json.error.message, name).toContain(name);
    }
  });

  it("the default realm reads with empty settings", async () => {
    const { status, json } = await admin("/admin/realms/default");
    expect(status).toBe(200);
    expect(json).toMatchObject({ id: "default", settings: {} });
  });

  it("an unknown realm is 404", async () => {
    expect((await admin("/admin/realms/no-such-realm")).status).toBe(404);
  });
});

describe("changing realms", () => {
  it("PATCH renames and merges settings; null removes an override", async () => {
    const id = await createRealm(uniqueRealmId(), { settings: { SIGNUP_DISABLED: "true", PASSWORD_MIN_LENGTH: "12" } });
    const patched = await admin(`/admin/realms/${id}`, "PATCH", { displayName: "Renamed", settings: { SIGNUP_DISABLED: null, DEFAULT_LOCALE: "fr" } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.json).toMatchObject({ displayName: "Renamed", settings: { PASSWORD_MIN_LENGTH: "12", DEFAULT_LOCALE: "fr" } });
    expect(patched.json.settings).not.toHaveProperty("SIGNUP_DISABLED");
    expect((await admin(`/admin/realms/${id}`)).json).toEqual(patched.json);
  });

  it("PATCH with a bad value changes nothing", async () => {
    const id = await createRealm(uniqueRealmId(), { settings: { PASSWORD_MIN_LENGTH: "12" } });
    const response = await admin(`/admin/realms/${id}`, "PATCH", { displayName: "x", settings: { PASSWORD_MIN_LENGTH: "2" } });
    expect(response.status).toBe(400);
    expect(response.json.error.message).toContain("PASSWORD_MIN_LENGTH");
    expect((await admin(`/admin/realms/${id}`)).json).toMatchObject({ displayName: "", settings: { PASSWORD_MIN_LENGTH: "12" } });
  });

  it("a provider's client secret is stored but every answer masks it; the mask cannot be written back", async () => {
    const secret = "github-client-secret-0123456789";
    const provider = { PROVIDER_GITHUB_ENABLED: "true", PROVIDER_GITHUB_CLIENT_ID: "Iv1.realm-app", PROVIDER_GITHUB_CLIENT_SECRET: secret };
    const id = uniqueRealmId("masked");
    const created = await admin("/admin/realms", "POST", { id, settings: provider });
    expect(created.status, created.text).toBe(201);
    const masked = { ...provider, PROVIDER_GITHUB_CLIENT_SECRET: "********" };
    expect(created.json.settings).toEqual(masked);
    expect((await admin(`/admin/realms/${id}`)).json.settings).toEqual(masked);
    const listed = (await admin("/admin/realms")).json.realms.find((realm: { id: string }) => realm.id === id);
    expect(listed.settings).toEqual(masked);
    for (const answer of [created, await admin(`/admin/realms/${id}`), await admin("/admin/realms")]) expect(answer.text).not.toContain(secret);

    // Sending the read settings back would store the mask as the secret: refused, nothing changes.
    const roundTrip = await admin(`/admin/realms/${id}`, "PATCH", { settings: masked });
    expect(roundTrip.status).toBe(400);
    expect(roundTrip.json.error.code).toBe("invalid-realm-settings");
    expect(roundTrip.json.error.message).toContain("PROVIDER_GITHUB_CLIENT_SECRET");
    // Leaving it out keeps it.
    expect((await admin(`/admin/realms/${id}`, "PATCH", { displayName: "Masked", settings: { PROVIDER_GITHUB_CLIENT_ID: "Iv1.other" } })).status).toBe(200);
    const row = await env.DB.prepare("SELECT settings FROM realms WHERE id = ?").bind(id).first<{ settings: string }>();
    expect(JSON.parse(row!.settings)).toMatchObject({ PROVIDER_GITHUB_CLIENT_SECRET: secret, PROVIDER_GITHUB_CLIENT_ID: "Iv1.other" });
  });

  it("the default realm's settings are [vars]: PATCH of them is 400; its name may change", async () => {
    const response = await admin("/admin/realms/default", "PATCH", { settings: { SIGNUP_DISABLED: "true" } });
    expect(response.status).toBe(400);
    expect(response.json.error.message).toContain("[vars]");
    expect((await admin("/admin/realms/default", "PATCH", { displayName: "Default" })).status).toBe(200);
    expect((await admin("/admin/realms/default", "PATCH", { displayName: "" })).status).toBe(200);
  });
});

describe("deleting realms", () => {
  it("the default realm cannot be deleted", async () => {
    const response = await admin("/admin/realms/default", "DELETE");
    expect(response.status).toBe(409);
    expect(response.json.error.code).toBe("default-realm-protected");
  });

  it("a deleted realm's routes answer 404 at once; its users, sessions, tickets and keys go in the background", async () => {
    const id = await createRealm();
    const email = uniqueEmail("doomed");
    const signedUp = await api(`/realms/${id}/signup/email-password`, { body: { email, password: GOOD_PASSWORD } });
    expect(signedUp.status, signedUp.text).toBe(200);
    expect((await api(`/realms/${id}/user/password/reset`, { body: { email } })).status).toBe(200);
    expect((await api(`/realms/${id}/.well-known/jwks.json`)).json.keys.length).toBeGreaterThan(0);

    const deleted = await admin(`/admin/realms/${id}`, "DELETE");
    expect(deleted.status, deleted.text).toBe(202);
    expect((await api(`/realms/${id}/healthz`)).status).toBe(404);
    expect((await api(`/realms/${id}/token`, { body: { refreshToken: signedUp.json.session.refreshToken } })).status).toBe(404);
    expect((await admin(`/admin/realms/${id}`)).status).toBe(404);
    expect((await admin(`/admin/realms/${id}`, "DELETE")).status).toBe(404);
    expect((await admin("/admin/realms")).json.realms.map((realm: { id: string }) => realm.id)).not.toContain(id);

    // What the waitUntil started, run here: the rows go at once...
    const db = drizzle(env.DB);
    expect((await continueRealmDeletions(env, db)).pending).toContain(id);
    for (const table of ["users", "refresh_tokens", "tickets"]) expect(await countRows(table, id), table).toBe(0);
    // ...the keys and the realm once no isolate can still be serving it.
    expect(await env.DB.prepare("SELECT id FROM realms WHERE id = ?").bind(id).first()).not.toBeNull();
    expect((await continueRealmDeletions(env, db, { now: Date.now() + AFTER_REALM_CACHE_MS })).finished).toContain(id);
    expect(await env.DB.prepare("SELECT id FROM realms WHERE id = ?").bind(id).first()).toBeNull();
    const keyStore = env.KEY_STORE.get(env.KEY_STORE.idFromName(id));
    // Read the storage itself: any call to the KeyStore would make a fresh ring.
    expect((await runInDurableObject(keyStore, (_instance, state) => state.storage.list())).size).toBe(0);
    // Its id is free again.
    expect((await admin("/admin/realms", "POST", { id })).status).toBe(201);
  });

  it("an interrupted deletion resumes where it stopped", async () => {
    const id = await createRealm();
    for (let i = 0; i < 3; i++) {
      const response = await api(`/realms/${id}/signup/email-password`, { body: { email: uniqueEmail("resume"), password: GOOD_PASSWORD } });
      expect(response.status).toBe(200);
    }
    // Marked as DELETE marks it, without the waitUntil run that would race this test's runs.
    await env.DB.prepare("UPDATE realms SET deleted_at = ? WHERE id = ?").bind(Date.now(), id).run();
    const db = drizzle(env.DB);
    const partial = await continueRealmDeletions(env, db, { chunkRows: 1, maxStatements: 1 });
    expect(partial.pending).toContain(id);
    expect(await env.DB.prepare("SELECT deleted_at FROM realms WHERE id = ?").bind(id).first()).not.toBeNull();
    expect(await countRows("users", id)).toBe(3);
    const finished = await continueRealmDeletions(env, db, { now: Date.now() + AFTER_REALM_CACHE_MS });
    expect(finished.pending).not.toContain(id);
    expect(await countRows("users", id)).toBe(0);
    expect(await countRows("refresh_tokens", id)).toBe(0);
    expect(await env.DB.prepare("SELECT id FROM realms WHERE id = ?").bind(id).first()).toBeNull();
  });

  it("any number of deleted realms finish: each run spends its statement budget and the next goes on", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const id = await createRealm();
      const response = await api(`/realms/${id}/signup/email-password`, { body: { email: uniqueEmail("many"), password: GOOD_PASSWORD } });
      expect(response.status).toBe(200);
      ids.push(id);
    }
    const longAgo = Date.now() - AFTER_REALM_CACHE_MS;
    for (const id of ids) await env.DB.prepare("UPDATE realms SET deleted_at = ? WHERE id = ?").bind(longAgo, id).run();
    const db = drizzle(env.DB);
    const finished = new Set<string>();
    let runs = 0;
    let last;
    do {
      last = await continueRealmDeletions(env, db, { maxStatements: 15 });
      for (const id of last.finished) finished.add(id);
      runs += 1;
    } while (last.budgetSpent && runs < 50);
    expect(runs).toBeGreaterThan(1);
    expect(last.budgetSpent).toBe(false);
    for (const id of ids) {
      expect(finished.has(id), id).toBe(true);
      expect(await countRows("users", id)).toBe(0);
    }
  });

  it("a deletion run touches only realms marked deleted", async () => {
    const kept = await createRealm();
    expect((await api(`/realms/${kept}/signup/email-password`, { body: { email: uniqueEmail("kept"), password: GOOD_PASSWORD } })).status).toBe(200);
    await continueRealmDeletions(env, drizzle(env.DB));
    expect(await countRows("users", kept)).toBe(1);
    expect((await api(`/realms/${kept}/healthz`)).status).toBe(200);
  });

  it.each([
    ["the daily Cron Trigger", "17 3 * * *"],
    ["the frequent deletion Cron Trigger", REALM_DELETION_CRON],
  ])("%s finishes a deletion left unfinished", async (_name, cron) => {
    const id = await createRealm();
    expect((await api(`/realms/${id}/signup/email-password`, { body: { email: uniqueEmail("cron"), password: GOOD_PASSWORD } })).status).toBe(200);
    // Deleted a while ago; the delete's own run was cut short.
    await env.DB.prepare("UPDATE realms SET deleted_at = ? WHERE id = ?").bind(Date.now() - AFTER_REALM_CACHE_MS, id).run();
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: Date.now(), cron }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await countRows("users", id)).toBe(0);
    expect(await env.DB.prepare("SELECT id FROM realms WHERE id = ?").bind(id).first()).toBeNull();
  });

  it("a realm keeping its rows in another database (DATABASE) is removed from that one; DATABASE cannot change", async () => {
    const id = await createRealm(uniqueRealmId("apart"), { settings: { DATABASE: "DB_2" } });
    const changed = await admin(`/admin/realms/${id}`, "PATCH", { settings: { DATABASE: "DB" } });
    expect(changed.status).toBe(400);
    expect(changed.json.error.message).toContain("DATABASE");
    const email = uniqueEmail("apart");
    expect((await api(`/realms/${id}/signup/email-password`, { body: { email, password: GOOD_PASSWORD } })).status).toBe(200);
    const inSecond = () => env.DB_2.prepare("SELECT count(*) AS n FROM users WHERE realm = ?").bind(id).first<{ n: number }>();
    expect((await inSecond())!.n).toBe(1);
    expect((await admin(`/admin/realms/${id}`, "DELETE")).status).toBe(202);
    const done = await continueRealmDeletions(env, drizzle(env.DB), { now: Date.now() + AFTER_REALM_CACHE_MS });
    expect(done.finished).toContain(id);
    expect((await inSecond())!.n).toBe(0);
  });
});
