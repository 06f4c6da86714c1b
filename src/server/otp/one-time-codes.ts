/**
 * OneTimeCodes: a Durable Object per (realm, channel, address) holding at most
 * one live one-time code and counting every guess at it exactly (design §2: not
 * KV, which is eventually consistent, and not isolate memory, which is one per
 * isolate). Every method reads and writes synchronous storage without awaiting,
 * so concurrent guesses are serialised: N allowed attempts are exactly N.
 */
import { DurableObject } from "cloudflare:workers";
import { constantTimeEqual } from "../lib/crypto";

interface StoredCode {
  /** HMAC (hex) of the live code under a server secret; null once it is dead. The code itself is never stored. */
  codeHash: string | null;
  expiresAt: number;
  /** Guesses left for this address, whichever code they aim at. */
  attemptsLeft: number;
  /**
   * When the guesses refill: the expiry of the code that opened this budget. A
   * new code replaces the old one but keeps the budget, so asking again never
   * buys more guesses.
   */
  attemptsRefillAt: number;
  maxAttempts: number;
}

export type CodeCheck = "accepted" | "rejected" | "expired" | "exhausted" | "absent";

const CODE_KEY = "code";
const encoder = new TextEncoder();

export class OneTimeCodes extends DurableObject<Env> {
  /** Replaces any earlier code: only the newest one sent can be used, with the guesses the address has left. */
  async issue(codeHash: string, expiresAt: number, maxAttempts: number, now: number): Promise<void> {
    const previous = this.ctx.storage.kv.get<StoredCode>(CODE_KEY);
    const budgetLive = previous !== undefined && previous.attemptsRefillAt > now;
    const stored: StoredCode = budgetLive
      ? { ...previous, codeHash, expiresAt }
      : { codeHash, expiresAt, attemptsLeft: maxAttempts, attemptsRefillAt: expiresAt, maxAttempts };
    this.ctx.storage.kv.put<StoredCode>(CODE_KEY, stored);
    // A code nobody checks would otherwise stay stored for good.
    await this.ctx.storage.setAlarm(Math.max(expiresAt, stored.attemptsRefillAt));
  }

  /** When the code and its budget are both over: forgets them, and with them the whole object. */
  override async alarm(): Promise<void> {
    const stored = this.ctx.storage.kv.get<StoredCode>(CODE_KEY);
    // A newer code re-arms the alarm for its own expiry; only a dead one is dropped.
    if (stored === undefined || Math.max(stored.expiresAt, stored.attemptsRefillAt) <= Date.now()) await this.ctx.storage.deleteAll();
  }

  /**
   * Spends one guess on `codeHash`. An accepted code is deleted with its budget;
   * an expired one, and the last failed guess, leave the code dead but keep the
   * budget until it refills.
   */
  check(codeHash: string, now: number): CodeCheck {
    const read = this.ctx.storage.kv.get<Partial<StoredCode> & Pick<StoredCode, "codeHash" | "expiresAt" | "attemptsLeft">>(CODE_KEY);
    if (read === undefined) return "absent";
    // Codes stored before budgets existed carry only their own guesses.
    const held: StoredCode = { attemptsRefillAt: read.expiresAt, maxAttempts: read.attemptsLeft, ...read };
    // A budget past its refill time starts over, for the code that is live now.
    const stored = held.attemptsRefillAt > now ? held : { ...held, attemptsLeft: held.maxAttempts, attemptsRefillAt: held.expiresAt };
    if (stored.attemptsLeft <= 0) return "exhausted";
    if (stored.codeHash === null) return "absent";
    if (stored.expiresAt <= now) {
      this.ctx.storage.kv.put<StoredCode>(CODE_KEY, { ...stored, codeHash: null });
      return "expired";
    }
    if (equalInConstantTime(stored.codeHash, codeHash)) {
      this.ctx.storage.kv.delete(CODE_KEY);
      return "accepted";
    }
    const attemptsLeft = stored.attemptsLeft - 1;
    this.ctx.storage.kv.put<StoredCode>(CODE_KEY, { ...stored, attemptsLeft, codeHash: attemptsLeft === 0 ? null : stored.codeHash });
    return attemptsLeft === 0 ? "exhausted" : "rejected";
  }
}

/** Both inputs are hex digests of equal length, so only their content could leak. */
function equalInConstantTime(a: string, b: string): boolean {
  return constantTimeEqual(encoder.encode(a), encoder.encode(b));
}
