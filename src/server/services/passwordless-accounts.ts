/**
 * The account behind a passwordless request (magic link, email code, SMS code):
 * the existing one, or a new one when sign-up is allowed, its address still
 * unverified (redeeming the link or code verifies it).
 */
import type { RequestContext } from "../context";
import { findUserByEmail, findUserByPhone, insertUserStatements, type UserWithRoles } from "../db/users";
import { AuthError } from "../errors";
import { resolveSignUpOptions, type SignUpOptions } from "../lib/sign-up-options";

export type PasswordlessAddress = { email: string } | { phoneNumber: string };

function findByAddress(context: RequestContext, address: PasswordlessAddress): Promise<UserWithRoles | null> {
  const { db, realm } = context;
  return "email" in address ? findUserByEmail(db, realm.id, address.email) : findUserByPhone(db, realm.id, address.phoneNumber);
}

export async function findOrCreatePasswordlessUser(
  context: RequestContext,
  address: PasswordlessAddress,
  options: SignUpOptions | undefined,
): Promise<UserWithRoles> {
  const { db, config, realm } = context;
  const existing = await findByAddress(context, address);
  if (existing !== null) {
    if (existing.disabled) throw new AuthError("disabled-user");
    return existing;
  }
  if (config.signupDisabled) throw new AuthError("signup-disabled");
  const resolved = resolveSignUpOptions(options, config);
  if (!resolved.ok) throw new AuthError(resolved.code);
  const label = "email" in address ? address.email : address.phoneNumber;
  const inserted = insertUserStatements(db, {
    id: crypto.randomUUID(),
    realm: realm.id,
    email: "email" in address ? address.email : null,
    phoneNumber: "phoneNumber" in address ? address.phoneNumber : null,
    passwordHash: null,
    displayName: resolved.value.displayName ?? label,
    locale: resolved.value.locale,
    defaultRole: resolved.value.defaultRole,
    roles: resolved.value.roles,
    metadata: resolved.value.metadata,
    emailVerified: false,
    isAnonymous: false,
    now: Date.now(),
  });
  try {
    await db.batch([...inserted.statements]);
  } catch (error) {
    // Two requests for the same new address: the second finds the first's account.
    const raced = await findByAddress(context, address);
    if (raced !== null) return raced;
    throw error;
  }
  return inserted.row;
}
