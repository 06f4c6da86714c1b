/**
 * The offline blocklist of common passwords (NIST SP 800-63B §5.1.1.2: new
 * passwords are compared against values known to be commonly used or
 * compromised). No network: the list is zxcvbn-ts's ranked 49,233 common
 * passwords (MIT), all lower-case ASCII, bundled from the pinned package.
 */

let blocklist: Promise<ReadonlySet<string>> | undefined;

/** Whether `password`, lower-cased, is on the list. */
export async function isCommonPassword(password: string): Promise<boolean> {
  // Loaded on the first new password of an isolate, not at startup (Workers refuse
  // scripts that take over 400 ms to start): the bundler evaluates a dynamically
  // imported module only when it is first imported. The package's per-list module,
  // not its index: the index also unpacks word lists and keyboard graphs we never use.
  blocklist ??= import("@zxcvbn-ts/language-common/dist/passwords.json.mjs").then(({ default: passwords }) => new Set(passwords));
  return (await blocklist).has(password.toLowerCase());
}
