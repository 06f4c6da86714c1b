/**
 * Passkeys (WebAuthn): sign-up and sign-in (`/signup/webauthn*`,
 * `/signin/webauthn*`), adding keys (`/user/webauthn/add`,
 * `/user/webauthn/verify`), elevation (`/elevate/webauthn*`); ours: `GET
 * /user/webauthn` lists the caller's keys and `DELETE /user/webauthn/:id` removes
 * one. The ceremonies are services/passkeys.ts.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../context";
import type { SessionPayload } from "../../shared/api";
import { readJsonBody } from "../lib/body";
import { emailSchema } from "../lib/credentials";
import { boundedString } from "../lib/schema";
import { signUpOptionsSchema } from "../lib/sign-up-options";
import { codeChallengeSchema } from "../lib/pkce";
import { recordAudit } from "../services/audit";
import { auditSignIn, auditSignUpFailure, noteSignInSubject } from "./audit-sign-in";
import {
  finishAddingPasskey,
  finishElevation,
  finishPasskeySignIn,
  finishPasskeySignUp,
  listPasskeys,
  passkeyAssertionSchema,
  passkeyCreationSchema,
  removePasskey,
  requireEnabled,
  startAddingPasskey,
  startElevation,
  startPasskeySignIn,
  startPasskeySignUp,
} from "../services/passkeys";
import { buildSession } from "../tokens/session";
import { requireAccessToken, requireSessionUser } from "../tokens/verify";

const nicknameSchema = boundedString(1, 64);

const signUpBody = z.strictObject({ email: emailSchema, options: z.optional(signUpOptionsSchema) });
const signUpVerifyBody = z.strictObject({
  credential: passkeyCreationSchema,
  options: z.optional(signUpOptionsSchema),
  nickname: z.optional(nicknameSchema),
  codeChallenge: z.optional(codeChallengeSchema),
});
const signInBody = z.strictObject({ email: z.optional(emailSchema) });
// `email` is deprecated in the spec and ignored: the credential names its user.
const assertionBody = z.strictObject({ email: z.optional(emailSchema), credential: passkeyAssertionSchema });
const addVerifyBody = z.strictObject({ credential: passkeyCreationSchema, nickname: z.optional(nicknameSchema) });

export const webauthnRoutes = new Hono<AppEnv>()
  .post("/signup/webauthn", auditSignUpFailure("passkey"), async (c) => {
    const context = c.var.context;
    const body = await readJsonBody(c.req.raw, signUpBody);
    return c.json(await startPasskeySignUp(context, body.email, body.options));
  })

  .post("/signup/webauthn/verify", auditSignUpFailure("passkey"), async (c) => {
    const context = c.var.context;
    const body = await readJsonBody(c.req.raw, signUpVerifyBody);
    return c.json((await finishPasskeySignUp(context, body.credential, body.options, body.nickname, body.codeChallenge ?? null)) satisfies SessionPayload);
  })

  .post("/signin/webauthn", async (c) => {
    const context = c.var.context;
    const body = await readJsonBody(c.req.raw, signInBody, { optional: true });
    return c.json(await startPasskeySignIn(context, body.email));
  })

  .post("/signin/webauthn/verify", auditSignIn("passkey"), async (c) => {
    const context = c.var.context;
    const body = await readJsonBody(c.req.raw, assertionBody);
    const { user, issued } = await finishPasskeySignIn(context, body.credential);
    noteSignInSubject(c, { userId: user.id });
    return c.json({ session: await buildSession(context, user, issued) } satisfies SessionPayload);
  })

  .post("/elevate/webauthn", async (c) => {
    const context = c.var.context;
    requireEnabled(context);
    const { user } = await requireSessionUser(context, c.req.raw);
    return c.json(await startElevation(context, user));
  })

  .post("/elevate/webauthn/verify", async (c) => {
    const context = c.var.context;
    // The body is checked before the bearer token, as Nhost's request validation does.
    const body = await readJsonBody(c.req.raw, assertionBody);
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    const elevation = await finishElevation(context, user, claims, body.credential);
    return c.json({ session: await buildSession(context, user, elevation.issued, elevation.claims) } satisfies SessionPayload);
  })

  .post("/user/webauthn/add", async (c) => {
    const context = c.var.context;
    requireEnabled(context);
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    return c.json(await startAddingPasskey(context, user, claims));
  })

  .post("/user/webauthn/verify", async (c) => {
    const context = c.var.context;
    const body = await readJsonBody(c.req.raw, addVerifyBody);
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    const added = await finishAddingPasskey(context, user, claims, body.credential, body.nickname);
    recordAudit(context, { type: "factor-change", outcome: "success", userId: user.id, detail: { factor: "passkey", change: "added", passkeyId: added.id } });
    return c.json({ id: added.id, ...(added.nickname === null ? {} : { nickname: added.nickname }) });
  })

  .get("/user/webauthn", async (c) => {
    const context = c.var.context;
    requireEnabled(context);
    const claims = await requireAccessToken(context, c.req.raw);
    return c.json({ securityKeys: await listPasskeys(context, claims.sub) });
  })

  .delete("/user/webauthn/:id", async (c) => {
    const context = c.var.context;
    requireEnabled(context);
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    await removePasskey(context, claims, user, c.req.param("id"));
    recordAudit(context, { type: "factor-change", outcome: "success", userId: claims.sub, detail: { factor: "passkey", change: "removed", passkeyId: c.req.param("id") } });
    return c.json("OK");
  });

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { signUpBody as signUpWebauthnBody, signUpVerifyBody as signUpWebauthnVerifyBody, signInBody as signInWebauthnBody, assertionBody as webauthnAssertionBody, addVerifyBody as addPasskeyVerifyBody };
