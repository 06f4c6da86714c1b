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
 * (anonymous users have none). With `addressProven` (a link or a code sent to
 * the address is the proof) an unverified address does not stop it.
 */
export function signInRefusal(config: Config, user: UserWithRoles, { addressProven = false } = {}): SignInRefusal | null {
  if (!user.isAnonymous && user.email !== null && !emailPassesAccessControl(config.accessControl, user.email)) {
    return "invalid-email-password";
  }
  if (user.disabled) return "disabled-user";
  if (!addressProven && config.requireVerifiedEmail && !user.emailVerified && !user.isAnonymous) return "unverified-user";
  return null;
}

/** Throws `signInRefusal`'s code, if any. */
export function checkMaySignIn(config: Config, user: UserWithRoles, options: { addressProven?: boolean } = {}): void {
  const refusal = signInRefusal(config, user, options);
  if (refusal !== null) throw new AuthError(refusal, undefined, refusal === "invalid-email-password" ? { reason: "access-control lists" } : {});
}

/** `checkMaySignIn` for a route whose proof is the address itself (a link or a code). */
export function checkAddressMaySignIn(config: Config, user: UserWithRoles): void {
  checkMaySignIn(config, user, { addressProven: true });
}
