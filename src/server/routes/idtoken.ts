/**
 * Sign-in with an ID token a native or browser app got from Apple or Google
 * itself (`POST /signin/idtoken`, `/signup/idtoken`, `/link/idtoken`). The token
 * is checked against the provider's JWKS: signature, issuer, audience (one of
 * the configured client ids), expiry and, when the app sends one, the nonce
 * (Apple's SHA-256-hashed form too). The identity then follows the same linking
 * rules as the redirect flow (services/oauth/social-accounts.ts).
 */
import { Hono, type Context } from "hono";
import * as z from "zod/mini";
import type { AppEnv, RequestContext } from "../context";
import { runBatch } from "../db/users";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { boundedString } from "../lib/schema";
import { resolveSignUpOptions, signUpOptionsSchema } from "../lib/sign-up-options";
import { resolveProvider, validateIdToken } from "../services/oauth/engine";
import { ID_TOKEN_PROVIDERS, type ProviderProfile } from "../services/oauth/presets";
import { recordAudit } from "../services/audit";
import { userForIdentity } from "../services/oauth/social-accounts";
import { requireElevation } from "../tokens/elevation";
import { afterFirstFactor, signInAnswer } from "../tokens/first-factor";
import { checkMaySignIn } from "../tokens/may-sign-in";
import { requireSessionUser } from "../tokens/verify";
import { auditSignIn, noteSignInSubject } from "./audit-sign-in";

/** A JWT is a few kilobytes; anything larger is not an ID token. */
const ID_TOKEN_MAX_LENGTH = 16 * 1024;

const idTokenFields = {
  provider: z.enum(ID_TOKEN_PROVIDERS),
  idToken: boundedString(1, ID_TOKEN_MAX_LENGTH),
  nonce: z.optional(boundedString(1, 512)),
};
export const signInIdTokenBody = z.strictObject({ ...idTokenFields, options: z.optional(signUpOptionsSchema) });
export const linkIdTokenBody = z.strictObject(idTokenFields);

/** The verified identity an ID token speaks for. */
async function identityOf(context: RequestContext, body: { provider: string; idToken: string; nonce?: string | undefined }): Promise<ProviderProfile> {
  const provider = await resolveProvider(context.config.providers, body.provider);
  if (provider === null) throw new AuthError("disabled-endpoint", undefined, { reason: `provider ${body.provider} is not enabled` });
  const claims = await validateIdToken(provider, body.idToken, body.nonce ?? null);
  const profile = provider.preset.profile({ user: null, emails: null, idToken: claims as Record<string, unknown>, tokenResponse: {} });
  if (profile === null) throw new AuthError("invalid-request", "invalid ID token", { reason: "ID token without a subject" });
  return profile;
}

async function signInWithIdToken(c: Context<AppEnv>, flow: "signin" | "signup") {
  const context = c.var.context;
  const body = await readJsonBody(c.req.raw, signInIdTokenBody);
  const resolved = resolveSignUpOptions(body.options, context.config);
  if (!resolved.ok) throw new AuthError(resolved.code);
  const profile = await identityOf(context, body);
  const { user } = await userForIdentity(context, body.provider, profile, { flow, options: resolved.value, method: "idtoken" });
  noteSignInSubject(c, { userId: user.id });
  checkMaySignIn(context.config, user);
  const outcome = await afterFirstFactor(context, user);
  noteSignInSubject(c, { userId: user.id, secondFactorDue: outcome.kind === "mfa" });
  await runBatch(context.db, [outcome.statement]);
  return c.json(await signInAnswer(context, user, outcome));
}

export const idTokenRoutes = new Hono<AppEnv>()
  .post("/signin/idtoken", auditSignIn("idtoken"), (c) => signInWithIdToken(c, "signin"))
  .post("/signup/idtoken", auditSignIn("idtoken"), (c) => signInWithIdToken(c, "signup"))

  // The spec asks for an elevated token: a user with a second factor proves it again first.
  .post("/link/idtoken", async (c) => {
    const context = c.var.context;
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
    await requireElevation(context, claims, user);
    const body = await readJsonBody(c.req.raw, linkIdTokenBody);
    const profile = await identityOf(context, body);
    await userForIdentity(context, body.provider, profile, { flow: "link", userId: user.id });
    recordAudit(context, { type: "factor-change", outcome: "success", userId: user.id, detail: { factor: "provider", change: "linked", provider: body.provider } });
    return c.json("OK");
  });
