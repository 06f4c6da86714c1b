/**
 * AttemptCounter: a Durable Object per counted subject (an MFA ticket, a user's
 * TOTP guesses) that counts attempts in a fixed window exactly (design §2).
 * Synchronous storage and no awaits make each call atomic.
 */
import { DurableObject } from "cloudflare:workers";

interface Window {
  startedAt: number;
  count: number;
  /** Kept so that the alarm knows when the window is over. */
  windowMs: number;
}

const WINDOW_KEY = "window";

export class AttemptCounter extends DurableObject<Env> {
  /** Counts one attempt; false when `limit` attempts were already made in this window. */
  async attempt(limit: number, windowMs: number, now: number): Promise<boolean> {
    const stored = this.ctx.storage.kv.get<Window>(WINDOW_KEY);
    const startsWindow = stored === undefined || now - stored.startedAt >= windowMs;
    const current = startsWindow ? { startedAt: now, count: 0, windowMs } : stored;
    if (current.count >= limit) return false;
    this.ctx.storage.kv.put<Window>(WINDOW_KEY, { ...current, count: current.count + 1 });
    // One counter per MFA ticket: without this, every sign-in would leave one behind.
    if (startsWindow) await this.ctx.storage.setAlarm(now + windowMs);
    return true;
  }

  /** When the window ends: forgets it, and with it the whole object. */
  override async alarm(): Promise<void> {
    const stored = this.ctx.storage.kv.get<Window>(WINDOW_KEY);
    if (stored === undefined || Date.now() - stored.startedAt >= stored.windowMs) await this.ctx.storage.deleteAll();
  }

  /**
   * Gives back one attempt of the current window: callers count before checking
   * (so concurrent guesses cannot overrun the limit) and refund the attempts that
   * succeeded, so the cap counts failures, not a user's own sign-ins.
   */
  refund(windowMs: number, now: number): void {
    const stored = this.ctx.storage.kv.get<Window>(WINDOW_KEY);
    if (stored === undefined || now - stored.startedAt >= windowMs || stored.count === 0) return;
    this.ctx.storage.kv.put<Window>(WINDOW_KEY, { ...stored, count: stored.count - 1 });
  }

  /** Forgets the window, e.g. after a success. */
  reset(): void {
    this.ctx.storage.kv.delete(WINDOW_KEY);
  }
}
