/** `POST /signup/email-password` and `POST /signin/email-password`. */
import { Hono } from "hono";
import * as z from "zod/mini";
import { checkNewPassword, emailSchema, passwordSchema } from "../lib/credentials";
import type { AppEnv } from "../context";
import { findUserByEmail, rehashPasswordStatement } from "../db/users";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { resolveSignUpOptions, signUpOptionsSchema } from "../lib/sign-up-options";
import { checkSignUpAddress, signUp } from "../services/accounts";
import { codeChallengeSchema } from "../lib/pkce";
import { passwordHasherFor } from "../services/passwords";
import { checkMaySignIn } from "../tokens/may-sign-in";
import { afterFirstFactor, signInAnswer } from "../tokens/first-factor";
import { limitSignUp, reserveCredentialAttempt } from "../limits/limits";
import type { SessionPayload, SignInEmailPasswordResponse } from "../../shared/api";
import { auditSignIn, auditSignUpFailure, noteSignInSubject } from "./audit-sign-in";

const signUpBody = z.strictObject({
  email: emailSchema,
  password: passwordSchema,
  options: z.optional(signUpOptionsSchema),
  codeChallenge: z.optional(codeChallengeSchema),
});
const signInBody = z.strictObject({ email: emailSchema, password: passwordSchema });

export const emailPasswordRoutes = new Hono<AppEnv>()
  .post("/signup/email-password", auditSignUpFailure("email-password"), async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    const body = await readJsonBody(c.req.raw, signUpBody);
    if (config.signupDisabled) throw new AuthError("signup-disabled");
    await checkNewPassword(body.password, context);
    const options = resolveSignUpOptions(body.options, config);
    if (!options.ok) throw new AuthError(options.code);
    await limitSignUp(context);

    checkSignUpAddress(config, body.email);
    if ((await findUserByEmail(db, realm.id, body.email)) !== null) throw new AuthError("user-already-exists");
    const createdAt = Date.now();
    const account = {
      email: body.email,
      passwordHash: await passwordHasherFor(config).hash(body.password),
      displayName: options.value.displayName ?? body.email,
      locale: options.value.locale,
      defaultRole: options.value.defaultRole,
      roles: options.value.roles,
      metadata: options.value.metadata,
      createdAt,
    };
    return c.json((await signUp(context, account, { redirectTo: options.value.redirectTo, method: "email-password", codeChallenge: body.codeChallenge ?? null })) satisfies SessionPayload);
  })

  .post("/signin/email-password", auditSignIn("email-password"), async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    const body = await readJsonBody(c.req.raw, signInBody);
    const hasher = passwordHasherFor(config);
    const user = await findUserByEmail(db, realm.id, body.email);
    if (user !== null) noteSignInSubject(c, { userId: user.id });
    const attempt = await reserveCredentialAttempt(context, user === null ? { address: body.email } : { userId: user.id });
    if (user === null || user.passwordHash === null) {
      // Spend a hash anyway, so timing does not tell which emails exist.
      await hasher.verifyDummy(body.password);
      throw new AuthError("invalid-email-password");
    }
    const verdict = await hasher.verify(body.password, user.passwordHash);
    if (!verdict.ok) throw new AuthError("invalid-email-password");
    const settled = attempt.succeeded();
    checkMaySignIn(config, user);

    // A hash that verified but is outdated (imported bcrypt, older PBKDF2 parameters) is
    // replaced now that the password is known, also when a second factor is still due,
    // or a TOTP user would keep bcrypt for ever. Inline, in the same D1 batch as the
    // ticket or session rather than in waitUntil: waitUntil CPU counts against the same
    // request, the batch costs no extra round trip, and a failure is not silent. The
    // extra PBKDF2 is paid once per user.
    const rehash = verdict.needsRehash
      ? rehashPasswordStatement(db, realm.id, user.id, user.passwordHash, await hasher.hash(body.password), Date.now())
      : null;

    const outcome = await afterFirstFactor(context, user);
    noteSignInSubject(c, { userId: user.id, secondFactorDue: outcome.kind === "mfa" });
    await Promise.all([rehash === null ? outcome.statement : db.batch([outcome.statement, rehash]), settled]);
    return c.json((await signInAnswer(context, user, outcome)) satisfies SignInEmailPasswordResponse);
  });

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { signUpBody as signUpEmailPasswordBody, signInBody as signInEmailPasswordBody };
