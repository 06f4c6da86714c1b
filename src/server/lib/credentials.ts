/** Email and password fields shared by every route that takes them. */
import * as z from "zod/mini";
import { PASSWORD_MAX_LENGTH } from "../config";
import type { RequestContext } from "../context";
import { AuthError } from "../errors";
import { boundedString } from "./schema";

export const emailSchema = z.pipe(
  z.email().check(z.maxLength(254)),
  z.transform((email: string) => email.toLowerCase()),
);
export const passwordSchema = boundedString(1, PASSWORD_MAX_LENGTH);

/** Password policy (pure): the configured minimum, counted in characters. */
export function checkNewPassword(password: string, context: RequestContext): void {
  if ([...password].length < context.config.passwordMinLength) throw new AuthError("password-too-short");
}
