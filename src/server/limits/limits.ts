/**
 * The limits routes apply (README, "Rate limits"): credential attempts per
 * account and per IP, mails per recipient and per IP, SMS per number, per IP and
 * per deployment, sign-ups per IP. Each subject is its own RateLimiter object.
 *
 * Subjects are checked one after the other, narrowest first, and a request
 * refused by a later subject gives back what the earlier ones counted. Checked in
 * parallel, two objects could each admit a different request and refuse the
 * other, so fewer than the limit would pass; one after the other, N concurrent
 * requests from one client let exactly the limit through.
 *
 * The keys name the subject, never a secret; an address in a key is the address
 * the request named (lower-cased for mail), so a limited request about an
 * unknown address answers exactly like one about a known address.
 */
import type { RequestContext } from "../context";
import { tooManyRequests } from "../errors";
import { recordAudit } from "../services/audit";
import type { AttemptPolicy, LimitVerdict } from "./rate-limiter";

/** `CF-Connecting-IP` is set by Cloudflare's edge on every request; absent only locally. */
export function clientIpOf(request: Request): string {
  return request.headers.get("cf-connecting-ip") ?? "unknown";
}

function limiter(context: RequestContext, key: string) {
  const { env } = context;
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(key));
}

/**
 * A limit refused the request: recorded in the audit log (README, "Audit"). The
 * coarse per-IP request limit (app.ts) is not: it sheds floods, and a write per
 * refused request would turn a flood into one on D1. These limits sit behind it,
 * so their entries are bounded by it.
 */
function limitHit(context: RequestContext, limit: string, retryAfterMs: number) {
  recordAudit(context, { type: "rate-limit", outcome: "failure", detail: { limit } });
  return tooManyRequests(retryAfterMs);
}

interface SendSubject {
  /** Which limit, for the audit log: the key without the address it may carry. */
  name: string;
  key: string;
  limit: number;
  windowSeconds: number;
}

/** Counts one send against every subject, or throws `too-many-requests` counting none. */
async function takeSend(context: RequestContext, subjects: SendSubject[]): Promise<void> {
  const taken: { key: string; at: number }[] = [];
  const now = Date.now();
  for (const subject of subjects) {
    if (subject.limit === 0) continue;
    const verdict = await limiter(context, subject.key).take(subject.limit, subject.windowSeconds * 1000, now);
    if (!verdict.allowed) {
      await Promise.all(taken.map(({ key, at }) => limiter(context, key).giveBack(at)));
      throw limitHit(context, subject.name, verdict.retryAfterMs);
    }
    taken.push({ key: subject.key, at: verdict.at });
  }
}

/** A mail the request asks for, to `recipient` (lower-cased). */
export function limitMail(context: RequestContext, recipient: string): Promise<void> {
  const { config, realm, clientIp } = context;
  const limits = config.rateLimits;
  return takeSend(context, [
    { name: "mail-to-recipient", key: `${realm.id}:mail-to:${recipient.toLowerCase()}`, limit: limits.emailsPerRecipient, windowSeconds: limits.emailWindowSeconds },
    { name: "mail-from-ip", key: `${realm.id}:mail-from-ip:${clientIp}`, limit: limits.emailsPerIp, windowSeconds: limits.emailWindowSeconds },
  ]);
}

/** A text message the request asks for, to `phoneNumber` (E.164). */
export function limitSms(context: RequestContext, phoneNumber: string): Promise<void> {
  const { config, realm, clientIp } = context;
  const limits = config.rateLimits;
  return takeSend(context, [
    { name: "sms-to-number", key: `${realm.id}:sms-to:${phoneNumber}`, limit: limits.smsPerNumber, windowSeconds: limits.smsWindowSeconds },
    { name: "sms-from-ip", key: `${realm.id}:sms-from-ip:${clientIp}`, limit: limits.smsPerIp, windowSeconds: limits.smsWindowSeconds },
    // One object for the whole deployment: SMS are few, so it is never hot.
    { name: "sms-per-deployment", key: "deployment:sms", limit: limits.smsPerDeployment, windowSeconds: limits.smsWindowSeconds },
  ]);
}

/** An account the request is about to create. */
export function limitSignUp(context: RequestContext): Promise<void> {
  const { config, realm, clientIp } = context;
  const limits = config.rateLimits;
  return takeSend(context, [
    { name: "signups-from-ip", key: `${realm.id}:signup-from-ip:${clientIp}`, limit: limits.signUpsPerIp, windowSeconds: limits.signUpWindowSeconds },
  ]);
}

/** A reserved credential attempt; a failure needs nothing more. */
export interface CredentialAttempt {
  /**
   * The credential was right: the attempt was no failure, and the account's count
   * starts over. Await it, so that the client's next request sees it; start it
   * beside the route's own writes to hide its round trip. It never rejects (a
   * failure is logged: the worst outcome is a count one too high).
   */
  succeeded(): Promise<void>;
}

/**
 * The account a credential attempt is about: the user when known, else the
 * address or number the request named, so an unknown address is limited exactly
 * like a known one.
 */
export type AttemptAccount = { userId: string } | { address: string } | null;

function accountKey(account: Exclude<AttemptAccount, null>): string {
  return "userId" in account ? `user:${account.userId}` : `address:${account.address.toLowerCase()}`;
}

/**
 * Reserves one attempt at a first or second factor for the account (when known)
 * and the client's IP, before the credential is checked; throws
 * `too-many-requests` while either waits. Call `succeeded()` when the credential
 * was right; a wrong one needs nothing.
 */
export async function reserveCredentialAttempt(context: RequestContext, account: AttemptAccount): Promise<CredentialAttempt> {
  const { config, realm, clientIp } = context;
  const limits = config.rateLimits;
  const policy = (limit: number): AttemptPolicy => ({
    limit,
    windowMs: limits.failureWindowSeconds * 1000,
    lockoutMaxMs: limits.lockoutMaxSeconds * 1000,
  });
  const subjects: { name: string; key: string; policy: AttemptPolicy; isAccount: boolean }[] = [];
  if (account !== null && limits.failuresPerAccount > 0) {
    subjects.push({ name: "attempts-per-account", key: `${realm.id}:attempts:${accountKey(account)}`, policy: policy(limits.failuresPerAccount), isAccount: true });
  }
  if (limits.failuresPerIp > 0) {
    subjects.push({ name: "attempts-from-ip", key: `${realm.id}:attempts-from-ip:${clientIp}`, policy: policy(limits.failuresPerIp), isAccount: false });
  }

  const reserved: { key: string; at: number; isAccount: boolean }[] = [];
  const now = Date.now();
  for (const subject of subjects) {
    const verdict: LimitVerdict = await limiter(context, subject.key).reserveAttempt(subject.policy, now);
    if (!verdict.allowed) {
      await Promise.all(reserved.map(({ key, at }) => limiter(context, key).forgive(at)));
      throw limitHit(context, subject.name, verdict.retryAfterMs);
    }
    reserved.push({ key: subject.key, at: verdict.at, isAccount: subject.isAccount });
  }
  return {
    async succeeded() {
      // The account starts over (its owner is in); the IP only gets this attempt
      // back, or an attacker could reset its count by signing in to an account of
      // its own between guesses.
      const settled = Promise.all(
        reserved.map(({ key, at, isAccount }) => (isAccount ? limiter(context, key).clear() : limiter(context, key).forgive(at))),
      ).then(
        () => undefined,
        (error: unknown) => console.error(`rate limiter: settling a successful attempt failed: ${error instanceof Error ? error.message : "unknown error"}`),
      );
      // Also handed to waitUntil: a route that throws after starting it does not await it.
      context.waitUntil(settled);
      await settled;
    },
  };
}
