/**
 * Anonymous users: `POST /signin/anonymous` starts one (when enabled), and
 * `POST /user/deanonymize` turns it into a real account with the same user id,
 * by email and password or passwordless.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../context";
import { isUniqueViolation } from "../db/unique-violation";
import { deanonymizeUser, findUserByEmail } from "../db/users";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { checkNewPassword, emailSchema, passwordSchema } from "../lib/credentials";
import { boundedString } from "../lib/schema";
import { displayNameSchema, localeOrDefault, resolveSignUpOptions, signUpOptionsSchema } from "../lib/sign-up-options";
import { emailPassesAccessControl } from "../lib/access-control";
import { magicLinkMail, redirectTarget, runMailFlow, verificationMail } from "../services/mail/flows";
import { createAccount } from "../services/accounts";
import { codeChallengeSchema } from "../lib/pkce";
import { passwordHasherFor } from "../services/passwords";
import { buildSession } from "../tokens/session";
import { requireSessionUser } from "../tokens/verify";
import { limitMail, limitSignUp } from "../limits/limits";
import { recordAudit } from "../services/audit";
import { auditSignIn, auditSignUpFailure, noteSignInSubject } from "./audit-sign-in";

const anonymousBody = z.strictObject({
  displayName: z.optional(displayNameSchema),
  locale: z.optional(boundedString(2, 3)),
  metadata: z.optional(signUpOptionsSchema.shape.metadata),
});

const deanonymizeBody = z.strictObject({
  signInMethod: z.enum(["email-password", "passwordless"]),
  email: emailSchema,
  password: z.optional(passwordSchema),
  // Deprecated in the spec and ignored.
  connection: z.optional(boundedString(0, 64)),
  options: z.optional(signUpOptionsSchema),
  codeChallenge: z.optional(codeChallengeSchema),
});

export const anonymousRoutes = new Hono<AppEnv>()
  .post("/signin/anonymous", auditSignIn("anonymous"), async (c) => {
    const context = c.var.context;
    const { config } = context;
    const body = await readJsonBody(c.req.raw, anonymousBody, { optional: true });
    // An anonymous user is a new account: SIGNUP_DISABLED refuses it first, as Nhost does.
    if (config.signupDisabled) throw new AuthError("signup-disabled");
    if (!config.anonymousUsersEnabled) throw new AuthError("disabled-endpoint");
    const locale = localeOrDefault(body.locale, config);
    await limitSignUp(context);
    const { user, session } = await createAccount(
      context,
      {
        email: null,
        passwordHash: null,
        displayName: body.displayName ?? "Anonymous User",
        locale,
        defaultRole: config.anonymousRole,
        roles: [config.anonymousRole],
        metadata: body.metadata ?? {},
        isAnonymous: true,
      },
      { startSession: true, signUpMethod: "anonymous" },
    );
    noteSignInSubject(c, { userId: user.id });
    return c.json({ session: await buildSession(context, user, session) });
  })

  .post("/user/deanonymize", auditSignUpFailure("deanonymize"), async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    // The body is checked before the bearer token, as Nhost's request validation does.
    const body = await readJsonBody(c.req.raw, deanonymizeBody);
    const { user } = await requireSessionUser(context, c.req.raw);
    noteSignInSubject(c, { userId: user.id });
    if (user.disabled) throw new AuthError("disabled-user");
    if (!user.isAnonymous) throw new AuthError("user-not-anonymous");
    if (body.signInMethod === "passwordless" && !config.emailPasswordlessEnabled) throw new AuthError("disabled-endpoint");
    if (body.signInMethod === "email-password") {
      if (body.password === undefined) throw new AuthError("invalid-request", undefined, { reason: "password is required for email-password" });
      await checkNewPassword(body.password, context);
    }
    const options = resolveSignUpOptions(body.options, config);
    if (!options.ok) throw new AuthError(options.code);
    if (!emailPassesAccessControl(config.accessControl, body.email)) {
      throw new AuthError("invalid-email-password", undefined, { reason: "access-control lists" });
    }
    if ((await findUserByEmail(db, realm.id, body.email)) !== null) throw new AuthError("user-already-exists");
    if (body.signInMethod === "passwordless" || config.requireVerifiedEmail) await limitMail(context, body.email);

    const passwordHash =
      body.signInMethod === "email-password" ? await passwordHasherFor(config).hash(body.password!) : null;
    try {
      await deanonymizeUser(db, realm.id, user.id, {
        email: body.email,
        passwordHash,
        defaultRole: options.value.defaultRole,
        roles: options.value.roles,
        locale: options.value.locale,
        ...(options.value.displayName === null ? {} : { displayName: options.value.displayName }),
        ...(body.options?.metadata === undefined ? {} : { metadata: options.value.metadata }),
        now: Date.now(),
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new AuthError("user-already-exists");
      throw error;
    }
    // The anonymous account becomes a real one: its sign-up, by the method it chose.
    recordAudit(context, { type: "signup", outcome: "success", userId: user.id, detail: { method: "deanonymize", signInMethod: body.signInMethod } });

    const account = { id: user.id, email: body.email, displayName: options.value.displayName ?? user.displayName, locale: options.value.locale };
    const redirectTo = redirectTarget(context, options.value.redirectTo);
    // Not concealed: the caller owns this account and just chose the address.
    if (body.signInMethod === "passwordless") {
      await runMailFlow(context, "signinPasswordless", () => magicLinkMail(context, account, body.email, redirectTo, body.codeChallenge ?? null), false);
    } else if (config.requireVerifiedEmail) {
      await runMailFlow(context, "emailVerify", () => verificationMail(context, account, redirectTo, body.codeChallenge ?? null), false);
    }
    return c.json("OK");
  });

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { anonymousBody, deanonymizeBody };
