/**
 * Housekeeping: the daily Cron Trigger purges D1 rows that can never be used
 * again, and the one-time-code and attempt-counter Durable Objects forget
 * themselves with an alarm, so that storage does not grow with every sign-in.
 */
import { createExecutionContext, createScheduledController, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../src/server/index";
import { DEFAULT_REALM } from "../src/server/db/schema";
import { DEV_OUTBOX_RETENTION_MS, PURGE_CHUNK_ROWS, purgeChunkStatement } from "../src/server/db/purge";
import { api, signUp } from "./helpers";

afterEach(() => vi.useRealTimers());

const HOUR_MS = 60 * 60 * 1000;

async function runDailyPurge(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 3 * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

async function countWhere(table: string, column: string, value: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${column} = ?`).bind(value).first<{ n: number }>();
  return row!.n;
}

async function insertTicket(userId: string, hash: string, expiresAt: number): Promise<void> {
  await env.DB.prepare(
    "INSERT INTO tickets (ticket_hash, realm, user_id, purpose, created_at, expires_at) VALUES (?, ?, ?, 'passwordReset', ?, ?)",
  )
    .bind(hash, DEFAULT_REALM, userId, expiresAt - HOUR_MS, expiresAt)
    .run();
}

describe("the daily purge (Cron Trigger)", () => {
  it("deletes expired tickets, challenges, PATs and week-old dev mail, and keeps live ones", async () => {
    const { session } = await signUp();
    const userId = session.user.id;
    const now = Date.now();
    const tag = crypto.randomUUID();

    await insertTicket(userId, `dead-${tag}`, now - 1);
    await insertTicket(userId, `live-${tag}`, now + HOUR_MS);
    const challenge = (hash: string, expiresAt: number) =>
      env.DB.prepare(
        "INSERT INTO webauthn_challenges (challenge_hash, realm, ceremony, created_at, expires_at) VALUES (?, ?, 'signin', ?, ?)",
      ).bind(hash, DEFAULT_REALM, expiresAt - HOUR_MS, expiresAt);
    const pat = (id: string, expiresAt: number) =>
      env.DB.prepare(
        "INSERT INTO personal_access_tokens (id, realm, user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
      ).bind(id, DEFAULT_REALM, userId, `hash-${id}`, expiresAt - HOUR_MS, expiresAt);
    const mail = (id: string, createdAt: number) =>
      env.DB.prepare(
        "INSERT INTO dev_outbox (id, realm, channel, recipient, subject, text, html, created_at) VALUES (?, ?, 'email', 'a@example.com', 's', 't', 'h', ?)",
      ).bind(id, DEFAULT_REALM, createdAt);
    await env.DB.batch([
      challenge(`dead-${tag}`, now - 1),
      challenge(`live-${tag}`, now + HOUR_MS),
      pat(`dead-${tag}`, now - 1),
      pat(`live-${tag}`, now + HOUR_MS),
      mail(`old-${tag}`, now - DEV_OUTBOX_RETENTION_MS - 1),
      mail(`new-${tag}`, now - HOUR_MS),
    ]);

    await runDailyPurge();

    expect(await countWhere("tickets", "ticket_hash", `dead-${tag}`)).toBe(0);
    expect(await countWhere("tickets", "ticket_hash", `live-${tag}`)).toBe(1);
    expect(await countWhere("webauthn_challenges", "challenge_hash", `dead-${tag}`)).toBe(0);
    expect(await countWhere("webauthn_challenges", "challenge_hash", `live-${tag}`)).toBe(1);
    expect(await countWhere("personal_access_tokens", "id", `dead-${tag}`)).toBe(0);
    expect(await countWhere("personal_access_tokens", "id", `live-${tag}`)).toBe(1);
    expect(await countWhere("dev_outbox", "id", `old-${tag}`)).toBe(0);
    expect(await countWhere("dev_outbox", "id", `new-${tag}`)).toBe(1);
  });

  it("keeps refresh tokens, rotated ones too, until they expire; then drops the family's rows", async () => {
    const { session } = await signUp();
    const rotated = await api("/token", { body: { refreshToken: session.refreshToken } });
    expect(rotated.status, rotated.text).toBe(200);

    await runDailyPurge();
    // The rotated parent stays: its reuse must still be recognised (and revoke the family).
    expect(await countWhere("refresh_tokens", "user_id", session.user.id)).toBe(2);
    expect((await api("/token", { body: { refreshToken: rotated.json.refreshToken } })).status).toBe(200);

    const refreshTtlMs = Number(env.REFRESH_TOKEN_TTL_SECONDS) * 1000;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + refreshTtlMs + HOUR_MS);
    await runDailyPurge();
    expect(await countWhere("refresh_tokens", "user_id", session.user.id)).toBe(0);
  });

  it("clears a backlog larger than one chunk in one run", async () => {
    const { session } = await signUp();
    const tag = crypto.randomUUID();
    const backlog = PURGE_CHUNK_ROWS * 2 + 17;
    const statements = Array.from({ length: backlog }, (_, i) =>
      env.DB.prepare(
        "INSERT INTO tickets (ticket_hash, realm, user_id, purpose, created_at, expires_at) VALUES (?, ?, ?, 'passwordReset', 0, 1)",
      ).bind(`backlog-${tag}-${i}`, DEFAULT_REALM, session.user.id),
    );
    await env.DB.batch(statements);
    expect(await countWhere("tickets", "user_id", session.user.id)).toBe(backlog);

    await runDailyPurge();
    expect(await countWhere("tickets", "user_id", session.user.id)).toBe(0);
  });

  it("is wired to a Cron Trigger in wrangler.toml", async () => {
    // The deployed schedule is what runs the purge: losing it would let D1 grow silently.
    const { default: toml } = await import("../wrangler.toml?raw");
    expect(toml).toMatch(/^\[triggers\]\s*\ncrons = \["17 3 \* \* \*", "\*\/10 \* \* \* \*"\]/m);
  });
});

describe("Durable Objects that forget themselves", () => {
  it("a one-time code nobody checks is dropped, object and all, when it expires", async () => {
    const stub = env.ONE_TIME_CODES.get(env.ONE_TIME_CODES.idFromName(`test:purge:${crypto.randomUUID()}`));
    const expiresAt = Date.now() + 10 * 60 * 1000;
    await stub.issue("a".repeat(64), expiresAt, 5, Date.now());
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBe(expiresAt);

    // An alarm that comes early (a newer code re-armed nothing yet) keeps a live code.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.kv.get("code"))).toBeDefined();

    await stub.issue("b".repeat(64), expiresAt, 5, Date.now());
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(expiresAt + 1);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.kv.get("code"))).toBeUndefined();
    expect(await stub.check("b".repeat(64), Date.now())).toBe("absent");
  });

  it("an attempt counter is dropped when its window ends, and counts afresh afterwards", async () => {
    const stub = env.ATTEMPT_COUNTER.get(env.ATTEMPT_COUNTER.idFromName(`test:purge:${crypto.randomUUID()}`));
    const windowMs = 5 * 60 * 1000;
    const startedAt = Date.now();
    expect(await stub.attempt(1, windowMs, startedAt)).toBe(true);
    expect(await stub.attempt(1, windowMs, startedAt)).toBe(false);
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBe(startedAt + windowMs);

    // Inside the window the alarm keeps the count.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.attempt(1, windowMs, startedAt + 1)).toBe(false);

    // The alarm is spent; the next window arms it again.
    expect(await stub.attempt(1, windowMs, startedAt + windowMs)).toBe(true);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(startedAt + 2 * windowMs);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.kv.get("window"))).toBeUndefined();
  });
});

describe("the daily purge and anonymous users", () => {
  async function anonymousUser(): Promise<{ id: string; refreshToken: string }> {
    const session = (await api("/signin/anonymous", { method: "POST" })).json.session;
    return { id: session.user.id, refreshToken: session.refreshToken };
  }

  it("deletes an anonymous user a day old whose session has ended, with its rows; keeps one with a live session", async () => {
    const signedOut = await anonymousUser();
    const active = await anonymousUser();
    expect((await api("/signout", { body: { refreshToken: signedOut.refreshToken } })).status).toBe(200);

    await runDailyPurge();
    // Too young: it may be in the middle of something.
    expect(await countWhere("users", "id", signedOut.id)).toBe(1);

    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 25 * HOUR_MS);
    await runDailyPurge();
    expect(await countWhere("users", "id", signedOut.id)).toBe(0);
    expect(await countWhere("refresh_tokens", "user_id", signedOut.id)).toBe(0);
    expect(await countWhere("user_roles", "user_id", signedOut.id)).toBe(0);
    expect(await countWhere("users", "id", active.id)).toBe(1);
    expect((await api("/token", { body: { refreshToken: active.refreshToken } })).status).toBe(200);
  });

  it("never deletes a real account, even one without any session", async () => {
    const { session } = await signUp();
    expect((await api("/signout", { body: { refreshToken: session.refreshToken } })).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 400 * 24 * HOUR_MS);
    await runDailyPurge();
    expect(await countWhere("users", "id", session.user.id)).toBe(1);
  });

  it("finds them through the partial index (the purge's own statement)", async () => {
    const plan = await drizzle(env.DB).all<{ detail: string }>(sql`EXPLAIN QUERY PLAN ${purgeChunkStatement("anonymous_users", Date.now())}`);
    expect(plan.map((row) => row.detail).join("\n")).toContain("users_anonymous_created_idx");
  });
});
