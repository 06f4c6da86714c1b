/**
 * The spec's `SignUpOptions`: schema and the checks against configured roles,
 * locales and redirect targets (pure; the route turns failures into errors).
 */
import * as z from "zod/mini";
import { boundedString } from "./schema";
import type { Config } from "../config";
import type { ErrorCode } from "../errors";
import { isRedirectAllowed } from "./redirect";

const MAX_METADATA_BYTES = 8 * 1024;

/**
 * A display name: the spec's pattern (letters, numbers, symbols and a little
 * punctuation, so no `/`, `:`, `"`, `&`), and no `<` or `>` on top. Apps and mails
 * show display names, and the spec's symbols (`\p{S}`) include `<`, `>`, `=` and
 * `` ` ``, enough for `<img src=x onerror=alert`1`>`.
 */
export const displayNameSchema = boundedString(1, 32).check(
  z.regex(/^[\p{L}\p{N}\p{S} ,.'-]+$/u),
  z.regex(/^[^<>]*$/, "must not contain < or >"),
);

export const signUpOptionsSchema = z.strictObject({
  allowedRoles: z.optional(z.array(boundedString(1, 64)).check(z.maxLength(32))),
  defaultRole: z.optional(boundedString(1, 64)),
  displayName: z.optional(displayNameSchema),
  locale: z.optional(boundedString(2, 3)),
  metadata: z.optional(
    z
      .record(z.string(), z.unknown())
      .check(z.refine((value) => JSON.stringify(value).length <= MAX_METADATA_BYTES, "metadata is too large")),
  ),
  redirectTo: z.optional(boundedString(0, 2048)),
});

export type SignUpOptions = z.infer<typeof signUpOptionsSchema>;

export interface ResolvedSignUpOptions {
  defaultRole: string;
  roles: string[];
  locale: string;
  displayName: string | null;
  metadata: Record<string, unknown>;
  redirectTo: string | null;
}

/**
 * The locale to use: the one asked for when it is allowed, else the default. As
 * Nhost does: an app sending the browser's language must not fail a sign-up over it.
 */
export function localeOrDefault(locale: string | undefined, config: Config): string {
  return locale !== undefined && config.allowedLocales.includes(locale) ? locale : config.defaultLocale;
}

export function allowedRedirectPrefixes(config: Config): string[] {
  return config.clientUrl === null ? config.allowedRedirectUrls : [config.clientUrl, ...config.allowedRedirectUrls];
}

export function resolveSignUpOptions(
  options: SignUpOptions | undefined,
  config: Config,
): { ok: true; value: ResolvedSignUpOptions } | { ok: false; code: ErrorCode } {
  const roles = options?.allowedRoles ?? config.allowedRoles;
  if (roles.some((role) => !config.allowedRoles.includes(role))) return { ok: false, code: "role-not-allowed" };
  const defaultRole = options?.defaultRole ?? config.defaultRole;
  if (!roles.includes(defaultRole)) {
    return { ok: false, code: config.allowedRoles.includes(defaultRole) ? "default-role-must-be-in-allowed-roles" : "role-not-allowed" };
  }
  const locale = localeOrDefault(options?.locale, config);
  const redirectTo = options?.redirectTo ?? null;
  if (redirectTo !== null && !isRedirectAllowed(redirectTo, allowedRedirectPrefixes(config))) {
    return { ok: false, code: "redirectTo-not-allowed" };
  }
  return {
    ok: true,
    value: {
      defaultRole,
      roles: [...new Set(roles)],
      locale,
      displayName: options?.displayName ?? null,
      metadata: options?.metadata ?? {},
      redirectTo,
    },
  };
}
