/** The one rule for whether a user may have a session, whatever credential it proved. */
import type { Config } from "../config";
import type { UserWithRoles } from "../db/users";
import { AuthError } from "../errors";
import { emailPassesAccessControl } from "../lib/access-control";

export type SignInRefusal = "invalid-email-password" | "disabled-user" | "unverified-user";

/**
 * Why `user` may not have a session at all, whatever it proved: an address the
 * access-control lists refuse (answered as Nhost does, as a wrong password),
 * disabled, or an unverified address while REQUIRE_VERIFIED_EMAIL holds
 * (anonymous users have none).
 */
export function signInRefusal(config: Config, user: UserWithRoles): SignInRefusal | null {
  if (!user.isAnonymous && user.email !== null && !emailPassesAccessControl(config.accessControl, user.email)) {
    return "invalid-email-password";
  }
  if (user.disabled) return "disabled-user";
  if (config.requireVerifiedEmail && !user.emailVerified && !user.isAnonymous) return "unverified-user";
  return null;
}

/** Throws `signInRefusal`'s code, if any. */
export function checkMaySignIn(config: Config, user: UserWithRoles): void {
  const refusal = signInRefusal(config, user);
  if (refusal !== null) throw new AuthError(refusal, undefined, refusal === "invalid-email-password" ? { reason: "access-control lists" } : {});
}

/**
 * Only the access-control lists and a disabled account: for a route whose proof is
 * the address itself (a link or a code), so an unverified address does not stop it.
 */
export function checkAddressMaySignIn(config: Config, user: UserWithRoles): void {
  const refusal = signInRefusal({ ...config, requireVerifiedEmail: false }, user);
  if (refusal !== null) throw new AuthError(refusal, undefined, refusal === "invalid-email-password" ? { reason: "access-control lists" } : {});
}
