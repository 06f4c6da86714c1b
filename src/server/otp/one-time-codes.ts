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
  /** HMAC (hex) of the code under a server secret; the code itself is never stored. */
  codeHash: string;
  expiresAt: number;
  attemptsLeft: number;
}

export type CodeCheck = "accepted" | "rejected" | "expired" | "exhausted" | "absent";

const CODE_KEY = "code";
const encoder = new TextEncoder();

export class OneTimeCodes extends DurableObject<Env> {
  /** Replaces any earlier code: only the newest one sent can be used. */
  async issue(codeHash: string, expiresAt: number, maxAttempts: number): Promise<void> {
    this.ctx.storage.kv.put<StoredCode>(CODE_KEY, { codeHash, expiresAt, attemptsLeft: maxAttempts });
    // A code nobody checks would otherwise stay stored for good.
    await this.ctx.storage.setAlarm(expiresAt);
  }

  /** At the code's expiry: forgets it, and with it the whole object. */
  override async alarm(): Promise<void> {
    const stored = this.ctx.storage.kv.get<StoredCode>(CODE_KEY);
    // A newer code re-arms the alarm for its own expiry; only a dead one is dropped.
    if (stored === undefined || stored.expiresAt <= Date.now()) await this.ctx.storage.deleteAll();
  }

  /**
   * Spends one attempt on `codeHash`. The code is deleted when it is accepted,
   * when it has expired, and when its last attempt fails.
   */
  check(codeHash: string, now: number): CodeCheck {
    const stored = this.ctx.storage.kv.get<StoredCode>(CODE_KEY);
    if (stored === undefined) return "absent";
    if (stored.expiresAt <= now) {
      this.ctx.storage.kv.delete(CODE_KEY);
      return "expired";
    }
    if (stored.attemptsLeft <= 0) {
      this.ctx.storage.kv.delete(CODE_KEY);
      return "exhausted";
    }
    if (equalInConstantTime(stored.codeHash, codeHash)) {
      this.ctx.storage.kv.delete(CODE_KEY);
      return "accepted";
    }
    const attemptsLeft = stored.attemptsLeft - 1;
    if (attemptsLeft === 0) this.ctx.storage.kv.delete(CODE_KEY);
    else this.ctx.storage.kv.put<StoredCode>(CODE_KEY, { ...stored, attemptsLeft });
    return attemptsLeft === 0 ? "exhausted" : "rejected";
  }
}

/** Both inputs are hex digests of equal length, so only their content could leak. */
function equalInConstantTime(a: string, b: string): boolean {
  return constantTimeEqual(encoder.encode(a), encoder.encode(b));
}
