/** The one rule for whether a user may have a session, whatever credential it proved. */
import type { Config } from "../config";
import type { UserWithRoles } from "../db/users";
import { AuthError } from "../errors";

/**
 * Why `user` may not have a session at all, whatever it proved: disabled, or an
 * unverified address while REQUIRE_VERIFIED_EMAIL holds (anonymous users have none).
 */
export function signInRefusal(config: Config, user: UserWithRoles): "disabled-user" | "unverified-user" | null {
  if (user.disabled) return "disabled-user";
  if (config.requireVerifiedEmail && !user.emailVerified && !user.isAnonymous) return "unverified-user";
  return null;
}

/** Throws `signInRefusal`'s code, if any. */
export function checkMaySignIn(config: Config, user: UserWithRoles): void {
  const refusal = signInRefusal(config, user);
  if (refusal !== null) throw new AuthError(refusal);
}
