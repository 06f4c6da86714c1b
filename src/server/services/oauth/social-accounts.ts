/**
 * Which user a provider identity is (README, "Social sign-in", linking rules):
 *
 * - an identity already linked signs in its user (a sign-up flow answers
 *   `user-already-exists`);
 * - a new identity whose email matches an account is linked to it only when the
 *   provider asserts the address verified AND the account's address is verified;
 *   otherwise `user-already-exists`: never a silent merge, which would hand an
 *   account to whoever registers its address at some provider;
 * - otherwise a new account, unless sign-up is off (or, for a sign-in,
 *   DISABLE_AUTO_SIGNUP is on);
 * - `link` (the `connect` parameter, `/link/idtoken`) links to the signed-in
 *   user, and refuses an identity linked to someone else
 *   (`provider-account-already-linked`).
 */
import type { RequestContext } from "../../context";
import { findProviderIdentity, insertProviderIdentityStatement } from "../../db/provider-identities";
import { isUniqueViolation } from "../../db/unique-violation";
import { findUserByEmail, findUserById, runBatch, type Statement, type UserWithRoles } from "../../db/users";
import { AuthError } from "../../errors";
import type { ResolvedSignUpOptions } from "../../lib/sign-up-options";
import { limitSignUp } from "../../limits/limits";
import { createAccount, type SignUpMethod } from "../accounts";
import type { ProviderProfile } from "./presets";

export type SocialIntent =
  | { flow: "signin" | "signup"; options: ResolvedSignUpOptions; method: SignUpMethod }
  | { flow: "link"; userId: string };

/** The display name column takes what the spec's pattern allows, 32 characters. */
const DISPLAY_NAME_MAX_LENGTH = 32;

/** The identity's user, linked or created as the rules above say; `alsoWrite` joins the batch that links or creates. */
export async function userForIdentity(
  context: RequestContext,
  provider: string,
  profile: ProviderProfile,
  intent: SocialIntent,
): Promise<{ user: UserWithRoles; created: boolean }> {
  const { db, realm, config } = context;
  const now = Date.now();
  const identity = await findProviderIdentity(db, realm.id, provider, profile.id);
  const link = (userId: string): Statement =>
    insertProviderIdentityStatement(db, { realm: realm.id, userId, provider, providerUserId: profile.id, email: profile.email, now });

  if (intent.flow === "link") {
    const user = await findUserById(db, realm.id, intent.userId);
    if (user === null) throw new AuthError("unauthenticated-user");
    if (identity !== null) {
      if (identity.userId !== user.id) throw new AuthError("provider-account-already-linked");
      return { user, created: false };
    }
    await writeLink(db, [link(user.id)]);
    return { user, created: false };
  }

  if (identity !== null) {
    if (intent.flow === "signup") throw new AuthError("user-already-exists");
    const user = await findUserById(db, realm.id, identity.userId);
    if (user === null) throw new AuthError("invalid-request", undefined, { reason: "identity without its user" });
    return { user, created: false };
  }

  const sameEmail = profile.email === null ? null : await findUserByEmail(db, realm.id, profile.email);
  if (sameEmail !== null) {
    if (intent.flow === "signup" || !profile.emailVerified || !sameEmail.emailVerified) {
      throw new AuthError("user-already-exists", undefined, {
        reason: `${provider} identity's email belongs to an account (provider verified: ${profile.emailVerified}, account verified: ${sameEmail.emailVerified})`,
      });
    }
    await writeLink(db, [link(sameEmail.id)]);
    return { user: sameEmail, created: false };
  }

  // A sign-in makes no account under DISABLE_AUTO_SIGNUP: as for an unknown address.
  if (intent.flow === "signin" && config.disableAutoSignup) {
    throw new AuthError("invalid-email-password", undefined, { reason: `DISABLE_AUTO_SIGNUP: no account for this ${provider} identity` });
  }
  if (config.signupDisabled) throw new AuthError("signup-disabled");
  await limitSignUp(context);
  const { options } = intent;
  const id = crypto.randomUUID();
  const name = options.displayName ?? profile.name?.slice(0, DISPLAY_NAME_MAX_LENGTH) ?? profile.email ?? "";
  try {
    const { user } = await createAccount(
      context,
      {
        id,
        email: profile.email,
        // What the provider asserts, nothing more.
        emailVerified: profile.email !== null && profile.emailVerified,
        passwordHash: null,
        displayName: name,
        // The provider's picture; without one, the Gravatar of a self sign-up (GRAVATAR_ENABLED).
        ...(profile.picture === null ? {} : { avatarUrl: profile.picture }),
        locale: options.locale,
        defaultRole: options.defaultRole,
        roles: options.roles,
        metadata: options.metadata,
      },
      { alsoWrite: [link(id)], signUpMethod: intent.method },
    );
    return { user, created: true };
  } catch (error) {
    // Two callbacks for the same new identity: the second signs in the first's account.
    const raced = await findProviderIdentity(db, realm.id, provider, profile.id);
    if (raced !== null) {
      const user = await findUserById(db, realm.id, raced.userId);
      if (user !== null) return { user, created: false };
    }
    throw error;
  }
}

async function writeLink(db: RequestContext["db"], statements: Statement[]): Promise<void> {
  try {
    await runBatch(db, statements);
  } catch (error) {
    if (isUniqueViolation(error, "provider_identities.provider_user_id")) throw new AuthError("provider-account-already-linked");
    throw error;
  }
}
