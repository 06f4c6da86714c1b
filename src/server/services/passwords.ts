/** The isolate's password hasher, built once per configuration. */
import type { Config } from "../config";
import { createPbkdf2Hasher, type PasswordHasher } from "./password";

const hashers = new WeakMap<Config, PasswordHasher>();

export function passwordHasherFor(config: Config): PasswordHasher {
  let hasher = hashers.get(config);
  if (hasher === undefined) {
    hasher = createPbkdf2Hasher({ pepper: config.passwordPepper });
    hashers.set(config, hasher);
  }
  return hasher;
}
