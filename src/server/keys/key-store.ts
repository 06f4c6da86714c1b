/**
 * KeyStore: one Durable Object per realm (`idFromName(realm)`), the single writer
 * and custodian of that realm's signing keys (design §2, §4). No other code
 * generates a key. The Worker leases the current key and signs in its isolate, so
 * token issuance never queues behind this object.
 *
 * The ring holds keys in three states: `next` (published, not yet signing),
 * `current` (signing) and `retired` (published until every token it signed has
 * expired in every cache). An alarm drives the schedule.
 *
 * The schedule follows the realm's key policy, which the Worker computes from the
 * realm's settings and passes on every call that may change the ring. The
 * object stores the last policy it was given, because the alarm has no caller to
 * pass one.
 */
import { DurableObject } from "cloudflare:workers";
import type { JsonWebKeySet, PublicSigningJwk } from "@edgeauth/client";
import { generateSigningKey, toPublicJwk, type PrivateSigningJwk } from "./jwk";
import { DEFAULT_KEY_POLICY, type KeyPolicy } from "./key-policy";

export type KeyState = "next" | "current" | "retired";

interface StoredKey {
  kid: string;
  state: KeyState;
  privateJwk: PrivateSigningJwk;
  createdAt: number;
  activatedAt: number | null;
  retiredAt: number | null;
  /** When a retired key leaves the JWKS. */
  removeAt: number | null;
}

/** What the admin API shows of a key: never the private part. */
export interface KeyDescription {
  kid: string;
  state: KeyState;
  createdAt: string;
  activatedAt: string | null;
  retiredAt: string | null;
  removeAt: string | null;
  /** When the current key is scheduled to retire. */
  rotatesAt: string | null;
  publicJwk: PublicSigningJwk;
}

export interface SigningKeyLease {
  kid: string;
  privateJwk: PrivateSigningJwk;
  /** Epoch ms; never after the key's scheduled retirement. */
  expiresAt: number;
}

/** How often isolates had to reach this instance since it started. */
export interface KeyStoreStats {
  jwksReads: number;
  leases: number;
}

const RING_STORAGE_KEY = "ring";
const POLICY_STORAGE_KEY = "policy";

function samePolicy(a: KeyPolicy, b: KeyPolicy | null): boolean {
  return (
    b !== null &&
    a.rotationPeriodSeconds === b.rotationPeriodSeconds &&
    a.retiredKeyGraceSeconds === b.retiredKeyGraceSeconds &&
    a.signingKeyLeaseSeconds === b.signingKeyLeaseSeconds
  );
}

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class KeyStore extends DurableObject<Env> {
  #ring: StoredKey[] = [];
  /** The last policy a Worker passed; null until one does. */
  #policy: KeyPolicy | null = null;
  /** Counts of calls since this instance started: tests and the benchmark read them. */
  #jwksReads = 0;
  #leases = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.#ring = (await ctx.storage.get<StoredKey[]>(RING_STORAGE_KEY)) ?? [];
      this.#policy = (await ctx.storage.get<KeyPolicy>(POLICY_STORAGE_KEY)) ?? null;
      // Without a stored policy, wait for the first call to bring one (see `alarm`).
      if (this.#policy !== null) await this.#applySchedule(Date.now());
    });
  }

  /**
   * The current key for signing, valid until `expiresAt`. Every method taking a
   * `policy` runs the schedule under it; without one (a direct call, not the
   * Worker's) it uses the last policy given, or the defaults.
   */
  async leaseSigningKey(policy?: KeyPolicy): Promise<SigningKeyLease> {
    this.#leases++;
    const now = Date.now();
    await this.#adopt(policy);
    await this.#applySchedule(now);
    const current = this.#current();
    const leaseEnd = now + this.#policyInForce().signingKeyLeaseSeconds * 1000;
    return { kid: current.kid, privateJwk: current.privateJwk, expiresAt: Math.min(leaseEnd, this.#rotatesAt(current)) };
  }

  /** Public parts of every published key: next, current and retired. */
  async publicKeys(policy?: KeyPolicy): Promise<JsonWebKeySet> {
    this.#jwksReads++;
    await this.#adopt(policy);
    await this.#applySchedule(Date.now());
    const order: Record<KeyState, number> = { current: 0, next: 1, retired: 2 };
    const published = [...this.#ring].sort((a, b) => order[a.state] - order[b.state]);
    return { keys: published.map((key) => toPublicJwk(key.privateJwk)) };
  }

  async listKeys(policy?: KeyPolicy): Promise<KeyDescription[]> {
    await this.#adopt(policy);
    await this.#applySchedule(Date.now());
    return this.#ring.map((key) => this.#describe(key));
  }

  /** Rotates now: current retires, next becomes current, a new next is made. */
  async rotate(policy?: KeyPolicy): Promise<KeyDescription[]> {
    await this.#adopt(policy);
    await this.#promoteNext(Date.now());
    await this.#persist();
    return this.#ring.map((key) => this.#describe(key));
  }

  /**
   * Removes a key from the ring and the JWKS at once. Revoking the current key
   * promotes the next one; revoking the next key makes a new one. Returns false
   * for an unknown kid.
   */
  async revoke(kid: string, policy?: KeyPolicy): Promise<boolean> {
    await this.#adopt(policy);
    const target = this.#ring.find((key) => key.kid === kid);
    if (target === undefined) return false;
    const now = Date.now();
    if (target.state === "current") await this.#promoteNext(now);
    this.#ring = this.#ring.filter((key) => key.kid !== kid);
    await this.#ensureNext(now);
    await this.#persist();
    return true;
  }

  async stats(): Promise<KeyStoreStats> {
    return { jwksReads: this.#jwksReads, leases: this.#leases };
  }

  /**
   * Forgets every key, the policy and the schedule: the realm was deleted. Its
   * tokens stop verifying anywhere once caches expire; nothing of it stays stored.
   */
  async deleteAll(): Promise<void> {
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    this.#ring = [];
    this.#policy = null;
  }

  override async alarm(): Promise<void> {
    // No caller, so no policy: the stored one is the realm's, as of the Worker's last
    // call. A ring never given one (made before policies were passed) is left alone
    // rather than run under the defaults, which could retire a key, and drop it from
    // the JWKS, before tokens it signed under the realm's longer lifetimes expire.
    // The Worker's next call catches the schedule up.
    if (this.#policy === null) return;
    await this.#applySchedule(Date.now());
  }

  /** Stores a policy the Worker passed, when it differs from the one held. */
  async #adopt(policy: KeyPolicy | undefined): Promise<void> {
    if (policy === undefined || samePolicy(policy, this.#policy)) return;
    this.#policy = { ...policy };
    await this.ctx.storage.put(POLICY_STORAGE_KEY, this.#policy);
  }

  #policyInForce(): KeyPolicy {
    return this.#policy ?? DEFAULT_KEY_POLICY;
  }

  #current(): StoredKey {
    const current = this.#ring.find((key) => key.state === "current");
    if (current === undefined) throw new Error("key ring has no current key");
    return current;
  }

  #rotatesAt(current: StoredKey): number {
    return (current.activatedAt ?? current.createdAt) + this.#policyInForce().rotationPeriodSeconds * 1000;
  }

  /** Brings the ring up to date for `now`: first keys, due rotations, expired retirees, the alarm. */
  async #applySchedule(now: number): Promise<void> {
    let changed = false;
    if (!this.#ring.some((key) => key.state === "current")) {
      await this.#promoteNext(now);
      changed = true;
    }
    if (await this.#ensureNext(now)) changed = true;
    // Rotate as many times as the schedule demands, e.g. after a long idle period.
    while (this.#rotatesAt(this.#current()) <= now) {
      await this.#promoteNext(now);
      changed = true;
    }
    const before = this.#ring.length;
    this.#ring = this.#ring.filter((key) => key.state !== "retired" || (key.removeAt ?? 0) > now);
    if (this.#ring.length !== before) changed = true;
    if (changed) await this.#persist();
    else await this.#scheduleAlarm();
  }

  async #ensureNext(now: number): Promise<boolean> {
    if (this.#ring.some((key) => key.state === "next")) return false;
    const generated = await generateSigningKey();
    this.#ring.push({
      kid: generated.kid,
      state: "next",
      privateJwk: generated.privateJwk,
      createdAt: now,
      activatedAt: null,
      retiredAt: null,
      removeAt: null,
    });
    return true;
  }

  async #promoteNext(now: number): Promise<void> {
    await this.#ensureNext(now);
    const graceMs = this.#policyInForce().retiredKeyGraceSeconds * 1000;
    for (const key of this.#ring) {
      if (key.state === "current") {
        key.state = "retired";
        key.retiredAt = now;
        key.removeAt = now + graceMs;
      }
    }
    const next = this.#ring.find((key) => key.state === "next")!;
    next.state = "current";
    next.activatedAt = now;
    await this.#ensureNext(now);
  }

  async #persist(): Promise<void> {
    await this.ctx.storage.put(RING_STORAGE_KEY, this.#ring);
    await this.#scheduleAlarm();
  }

  async #scheduleAlarm(): Promise<void> {
    const times = [this.#rotatesAt(this.#current())];
    for (const key of this.#ring) if (key.removeAt !== null) times.push(key.removeAt);
    const earliest = Math.min(...times);
    const scheduled = await this.ctx.storage.getAlarm();
    if (scheduled !== earliest) await this.ctx.storage.setAlarm(earliest);
  }

  #describe(key: StoredKey): KeyDescription {
    return {
      kid: key.kid,
      state: key.state,
      createdAt: new Date(key.createdAt).toISOString(),
      activatedAt: isoOrNull(key.activatedAt),
      retiredAt: isoOrNull(key.retiredAt),
      removeAt: isoOrNull(key.removeAt),
      rotatesAt: key.state === "current" ? new Date(this.#rotatesAt(key)).toISOString() : null,
      publicJwk: toPublicJwk(key.privateJwk),
    };
  }
}
