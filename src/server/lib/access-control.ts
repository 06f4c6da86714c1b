/**
 * Nhost's access-control lists (ACCESS_CONTROL_*): whether an address may sign up
 * or sign in. Pure; callers answer a refusal as Nhost does, `invalid-email-password`.
 */
import type { AccessControlSettings } from "../config";

/**
 * Blocked addresses and domains always lose; when an allow list is set, the
 * address must be on it or at one of its domains. Compared lower-cased: lookups
 * ignore case, so a list must too, or `Bob@Example.com` would pass a block of
 * `bob@example.com`.
 *
 * @example emailPassesAccessControl(config.accessControl, "ana@example.com")
 */
export function emailPassesAccessControl(lists: AccessControlSettings, email: string): boolean {
  const address = email.trim().toLowerCase();
  const domain = address.slice(address.lastIndexOf("@") + 1);
  if (lists.blockedEmails.includes(address) || lists.blockedEmailDomains.includes(domain)) return false;
  if (lists.allowedEmails.length === 0 && lists.allowedEmailDomains.length === 0) return true;
  return lists.allowedEmails.includes(address) || lists.allowedEmailDomains.includes(domain);
}
