/** Email and password fields shared by every route that takes them. */
import * as z from "zod/mini";
import { PASSWORD_MAX_LENGTH } from "../config";
import type { RequestContext } from "../context";
import { AuthError } from "../errors";
import { isCommonPassword } from "./common-passwords";
import { boundedString } from "./schema";

/** An address as the user typed it: Nhost keeps the case, and every lookup ignores it (db/users.ts). */
export const emailSchema = z.email().check(z.maxLength(254));
export const passwordSchema = boundedString(1, PASSWORD_MAX_LENGTH);

/**
 * Password policy: the configured minimum, counted in characters, then the
 * common-password blocklist (PASSWORD_BLOCK_COMMON, loaded on first use).
 */
export async function checkNewPassword(password: string, context: RequestContext): Promise<void> {
  const { passwordMinLength, passwordBlockCommon } = context.config;
  if ([...password].length < passwordMinLength) throw new AuthError("password-too-short");
  // The spec's code for a refused common password; no HIBP query is made.
  if (passwordBlockCommon && (await isCommonPassword(password))) throw new AuthError("password-in-hibp-database");
}
