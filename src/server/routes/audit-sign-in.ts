/**
 * The audit entry of a sign-in route (README, "Audit"): every attempt ends in one
 * `signin` entry, a success with the user, or a failure with the error's code;
 * and of a sign-up route, whose failures are recorded here (its success is
 * recorded by the account service, with the account it made).
 * A middleware rather than a call at every `throw`: a sign-in fails in many
 * places (a wrong code, a disabled user, a dead ticket), most of them deep in a
 * service, and each would need its own call.
 *
 * A failure for an address without an account is kept without the address: the
 * log names users by id, never by what a stranger typed, so holding `audit:read`
 * does not mean holding a list of probed addresses. The client's IP and user
 * agent are kept, which is what an operator needs to see a targeted attack.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../context";
import type { SignUpMethod } from "../services/accounts";
import { AuthError } from "../errors";
import { recordAudit } from "../services/audit";

export type SignInMethod = "email-password" | "email-otp" | "magic-link" | "sms-otp" | "passkey" | "pat" | "anonymous" | "mfa-totp" | "provider" | "idtoken";

export interface SignInSubject {
  userId: string;
  /** The first factor was right, but a TOTP code is still due (`/signin/mfa/totp` records the sign-in). */
  secondFactorDue?: boolean;
}

/** Names the user the running sign-in is about, as soon as the route knows it. */
export function noteSignInSubject(c: Context<AppEnv>, subject: SignInSubject): void {
  c.set("signInSubject", subject);
}

/** Records the sign-in the route below it answers; the answer itself is unchanged. */
export function auditSignIn(method: SignInMethod): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const context = c.var.context;
    const subject = c.var.signInSubject;
    const userId = subject?.userId ?? null;
    if (c.error !== undefined) {
      const code = c.error instanceof AuthError ? c.error.code : "internal-server-error";
      // A refused attempt was not checked: it is recorded as a rate-limit hit.
      if (code === "too-many-requests") return;
      // Nobody is signed in yet: the actor is whoever presented the credential.
      recordAudit(context, { type: "signin", outcome: "failure", userId, actor: { type: "anonymous", id: null }, detail: { method, error: code } });
      return;
    }
    if (subject !== undefined && c.res.ok) {
      const detail = subject.secondFactorDue === true ? { method, secondFactor: "due" } : { method };
      recordAudit(context, { type: "signin", outcome: "success", userId, detail });
    }
  };
}

/**
 * Records a refused sign-up (`signup`, failure, the error's code). The address is
 * not kept, as for sign-ins; the user is, when there is one (the anonymous user
 * of `/user/deanonymize`).
 */
export function auditSignUpFailure(method: SignUpMethod | "deanonymize"): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (c.error === undefined) return;
    const code = c.error instanceof AuthError ? c.error.code : "internal-server-error";
    if (code === "too-many-requests") return;
    const userId = c.var.signInSubject?.userId ?? null;
    recordAudit(c.var.context, { type: "signup", outcome: "failure", userId, actor: { type: "anonymous", id: null }, detail: { method, error: code } });
  };
}
