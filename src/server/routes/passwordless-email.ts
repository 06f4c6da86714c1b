/**
 * Signing in without a password, by email: a magic link
 * (`POST /signin/passwordless/email`, redeemed at `GET /verify`) or a one-time
 * code (`POST /signin/otp/email`, `POST /signin/otp/email/verify`). Unknown
 * addresses get an account when sign-up is allowed.
 */
import { Hono } from "hono";
import { and, eq } from "drizzle-orm";
import * as z from "zod/mini";
import type { AppEnv, RequestContext } from "../context";
import { users } from "../db/schema";
import { findUserByEmail } from "../db/users";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { oneTimeCodeDigest, randomNumericCode } from "../lib/otp";
import { boundedString } from "../lib/schema";
import { resolveSignUpOptions, signUpOptionsSchema } from "../lib/sign-up-options";
import { magicLinkMail, redirectTarget, runMailFlow } from "../services/mail/flows";
import { findOrCreatePasswordlessUser } from "../services/passwordless-accounts";
import { afterFirstFactor, signInAnswer } from "../tokens/first-factor";
import { emailSchema } from "../lib/credentials";

const passwordlessBody = z.strictObject({ email: emailSchema, options: z.optional(signUpOptionsSchema) });
const otpVerifyBody = z.strictObject({ otp: boundedString(1, 32), email: emailSchema });

/** The realm's code store for one address. */
function codesFor(context: RequestContext, email: string) {
  const { env, realm } = context;
  return env.ONE_TIME_CODES.get(env.ONE_TIME_CODES.idFromName(`${realm.id}:email:${email}`));
}

/** Options are checked before anything else: their errors do not depend on the account. */
function checkOptions(context: RequestContext, options: z.infer<typeof signUpOptionsSchema> | undefined) {
  const resolved = resolveSignUpOptions(options, context.config);
  if (!resolved.ok) throw new AuthError(resolved.code);
  return resolved.value;
}

export const passwordlessEmailRoutes = new Hono<AppEnv>()
  .post("/signin/passwordless/email", async (c) => {
    const context = c.var.context;
    const { config } = context;
    const body = await readJsonBody(c.req.raw, passwordlessBody);
    const options = checkOptions(context, body.options);
    const redirectTo = redirectTarget(config, options.redirectTo);
    await runMailFlow(context, "signinPasswordless", async () => {
      const user = await findOrCreatePasswordlessUser(context, { email: body.email }, body.options);
      return magicLinkMail(context, user, body.email, redirectTo);
    });
    return c.json("OK");
  })

  .post("/signin/otp/email", async (c) => {
    const context = c.var.context;
    const { config } = context;
    const body = await readJsonBody(c.req.raw, passwordlessBody);
    checkOptions(context, body.options);
    await runMailFlow(context, "signinOtp", async () => {
      const user = await findOrCreatePasswordlessUser(context, { email: body.email }, body.options);
      const code = randomNumericCode(config.emailOtpDigits);
      await codesFor(context, body.email).issue(
        await oneTimeCodeDigest(config.refreshTokenSecret, body.email, code),
        Date.now() + config.emailOtpTtlSeconds * 1000,
        config.otpMaxAttempts,
      );
      return {
        kind: "signinOtp",
        to: body.email,
        locale: user.locale,
        variables: {
          displayName: user.displayName,
          email: body.email,
          code,
          ttlMinutes: Math.round(config.emailOtpTtlSeconds / 60),
        },
      };
    });
    return c.json("OK");
  })

  .post("/signin/otp/email/verify", async (c) => {
    const context = c.var.context;
    const { db, realm } = context;
    const body = await readJsonBody(c.req.raw, otpVerifyBody);
    // Every guess is counted by the address's code store, whether or not the
    // address has an account, so the answer is the same for both.
    const verdict = await codesFor(context, body.email).check(await oneTimeCodeDigest(context.config.refreshTokenSecret, body.email, body.otp), Date.now());
    if (verdict !== "accepted") throw new AuthError("invalid-otp");
    const user = await findUserByEmail(db, realm.id, body.email);
    if (user === null) throw new AuthError("invalid-otp");
    if (user.disabled) throw new AuthError("disabled-user");

    // The code reached the mailbox: the address is verified.
    const now = Date.now();
    const verifiedEmail = db.update(users).set({ emailVerified: true, updatedAt: now }).where(and(eq(users.realm, realm.id), eq(users.id, user.id)));
    // A mailbox is one factor: a user with TOTP finishes at /signin/mfa/totp (the
    // spec's response has no `mfa` branch here; we add it rather than let a mailbox
    // alone get past a second factor).
    const outcome = await afterFirstFactor(context, user);
    await db.batch([outcome.statement, verifiedEmail]);
    return c.json(await signInAnswer(context, { ...user, emailVerified: true }, outcome));
  });
