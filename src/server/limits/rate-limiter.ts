/**
 * RateLimiter: a Durable Object per limited subject (an account, an IP, a
 * recipient, a phone number), so that no single object is hot and every count is
 * exact under concurrency (design §2: not KV, not isolate memory). Each method
 * reads and writes synchronous storage before its only await, so concurrent calls
 * are serialised: a limit of N lets exactly N through.
 *
 * Two kinds of subject share the class, each in its own object:
 * - sends (mails, SMS, sign-ups): a sliding log of the events of the last window,
 *   so no window boundary ever lets 2N through;
 * - credential attempts: failures in a sliding window, then a wait that starts at
 *   the window's length and doubles with each further lockout up to a cap. A wait
 *   always ends, so an attacker can delay the owner but never lock them out for good.
 */
import { DurableObject } from "cloudflare:workers";

export type LimitVerdict = { allowed: true; at: number } | { allowed: false; retryAfterMs: number };

export interface AttemptPolicy {
  /** Failures allowed within `windowMs`; the last of them starts a wait. */
  limit: number;
  windowMs: number;
  /** The longest wait; waits start at `windowMs` and double up to this. */
  lockoutMaxMs: number;
}

interface SendLog {
  /** Times of the counted events, oldest first. */
  events: number[];
  windowMs: number;
}

interface AttemptState {
  /** Times of the attempts not yet forgiven, oldest first. */
  attempts: number[];
  lockedUntil: number;
  /** The attempt whose reservation started the current wait: forgiving it lifts the wait. */
  lockedBy: number | null;
  /** Where `lockedUntil` stood before the current wait, to restore when it is lifted. */
  lockedUntilBefore: number;
  /** Lockouts in a row; each doubles the next wait. */
  strikes: number;
  policy: AttemptPolicy;
}

/** When an attempt state stops mattering: its last attempt has left the window and its strikes are forgiven. */
function forgettableAt(state: AttemptState): number {
  const lastAttempt = state.attempts.at(-1) ?? 0;
  return Math.max(state.lockedUntil + state.policy.lockoutMaxMs, lastAttempt + state.policy.windowMs);
}

const SEND_LOG_KEY = "sends";
const ATTEMPTS_KEY = "attempts";
const ALARM_KEY = "alarm-at";

export class RateLimiter extends DurableObject<Env> {
  /** Counts one event unless `limit` were already counted in the last `windowMs`. */
  async take(limit: number, windowMs: number, now: number): Promise<LimitVerdict> {
    const stored = this.ctx.storage.kv.get<SendLog>(SEND_LOG_KEY);
    const events = (stored?.events ?? []).filter((at) => at > now - windowMs);
    if (events.length >= limit) {
      // The oldest event that still counts must leave the window first.
      const freedAt = events[events.length - limit]! + windowMs;
      return { allowed: false, retryAfterMs: freedAt - now };
    }
    events.push(now);
    this.ctx.storage.kv.put<SendLog>(SEND_LOG_KEY, { events, windowMs });
    await this.#forgetAt(now + windowMs);
    return { allowed: true, at: now };
  }

  /** Un-counts the event `take` counted at `at` (a later check refused the request). */
  giveBack(at: number): void {
    const stored = this.ctx.storage.kv.get<SendLog>(SEND_LOG_KEY);
    if (stored === undefined) return;
    const index = stored.events.lastIndexOf(at);
    if (index === -1) return;
    stored.events.splice(index, 1);
    this.ctx.storage.kv.put<SendLog>(SEND_LOG_KEY, stored);
  }

  /**
   * Reserves one credential attempt before the credential is checked, so that N
   * concurrent guesses cannot all pass a count taken before any of them failed.
   * An attempt that then succeeds is forgiven (`forgive`); one that fails stays.
   */
  async reserveAttempt(policy: AttemptPolicy, now: number): Promise<LimitVerdict> {
    const state = this.ctx.storage.kv.get<AttemptState>(ATTEMPTS_KEY) ?? {
      attempts: [],
      lockedUntil: 0,
      lockedBy: null,
      lockedUntilBefore: 0,
      strikes: 0,
      policy,
    };
    if (state.lockedUntil > now) return { allowed: false, retryAfterMs: state.lockedUntil - now };
    // A quiet spell as long as the longest wait forgives earlier lockouts.
    if (state.strikes > 0 && now - state.lockedUntil >= policy.lockoutMaxMs) state.strikes = 0;
    state.attempts = state.attempts.filter((at) => at > now - policy.windowMs);
    state.attempts.push(now);
    state.policy = policy;
    if (state.attempts.length >= policy.limit) {
      state.strikes += 1;
      state.lockedUntilBefore = state.lockedUntil;
      state.lockedUntil = now + Math.min(policy.windowMs * 2 ** (state.strikes - 1), policy.lockoutMaxMs);
      state.lockedBy = now;
      // The attempts stay: the wait is at least a window long, so they have left
      // the window when it ends, and forgiving this one must not forgive them.
    }
    this.ctx.storage.kv.put<AttemptState>(ATTEMPTS_KEY, state);
    await this.#forgetAt(forgettableAt(state));
    return { allowed: true, at: now };
  }

  /** The attempt reserved at `at` proved the credential: it was not a failure. */
  forgive(at: number): void {
    const state = this.ctx.storage.kv.get<AttemptState>(ATTEMPTS_KEY);
    if (state === undefined) return;
    const index = state.attempts.lastIndexOf(at);
    if (index !== -1) state.attempts.splice(index, 1);
    if (state.lockedBy === at) {
      // This attempt started the wait: the wait and its strike go; the failures
      // before it still count, so the next failure starts the wait again.
      state.lockedUntil = state.lockedUntilBefore;
      state.lockedBy = null;
      state.strikes = Math.max(0, state.strikes - 1);
    }
    this.ctx.storage.kv.put<AttemptState>(ATTEMPTS_KEY, state);
  }

  /** The account's owner proved itself: earlier failures and lockouts are forgotten. */
  clear(): void {
    this.ctx.storage.kv.delete(ATTEMPTS_KEY);
  }

  /** When nothing stored can matter any more: forgets it all, and with it the object. */
  override async alarm(): Promise<void> {
    const sends = this.ctx.storage.kv.get<SendLog>(SEND_LOG_KEY);
    const attempts = this.ctx.storage.kv.get<AttemptState>(ATTEMPTS_KEY);
    const sendsMatterUntil = sends === undefined ? 0 : (sends.events.at(-1) ?? 0) + sends.windowMs;
    const mattersUntil = Math.max(sendsMatterUntil, attempts === undefined ? 0 : forgettableAt(attempts));
    if (mattersUntil <= Date.now()) {
      await this.ctx.storage.deleteAll();
      return;
    }
    this.ctx.storage.kv.put<number>(ALARM_KEY, mattersUntil);
    await this.ctx.storage.setAlarm(mattersUntil);
  }

  /**
   * Every subject stores something: without an alarm, every IP ever seen would
   * leave an object behind. The alarm only ever moves later; its time is mirrored
   * in synchronous storage, so a call costs no read of the alarm.
   */
  async #forgetAt(time: number): Promise<void> {
    const scheduled = this.ctx.storage.kv.get<number>(ALARM_KEY);
    if (scheduled !== undefined && scheduled >= time) return;
    this.ctx.storage.kv.put<number>(ALARM_KEY, time);
    await this.ctx.storage.setAlarm(time);
  }
}
