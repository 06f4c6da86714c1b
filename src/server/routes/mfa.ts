/**
 * TOTP multi-factor: `GET /mfa/totp/generate` (a secret and its QR code),
 * `POST /user/mfa` (activate or deactivate with a code), and
 * `POST /signin/mfa/totp` (the second step of a sign-in that answered
 * `{ mfa: { ticket } }`). The logic is services/totp.ts.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv, RequestContext } from "../context";
import type { UserWithRoles } from "../db/users";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { boundedString } from "../lib/schema";
import { changeTotpActivation, generateTotpSecret, signInWithTotp } from "../services/totp";
import { buildSession } from "../tokens/session";
import { requireSessionUser } from "../tokens/verify";
import { requireElevation } from "../tokens/elevation";
import { recordAudit } from "../services/audit";
import { auditSignIn, noteSignInSubject } from "./audit-sign-in";

// activeMfaType is any string here so that an unknown type answers the spec's
// `mfa-type-not-found` rather than a generic invalid-request.
const changeMfaBody = z.strictObject({ code: boundedString(1, 16), activeMfaType: z.optional(boundedString(0, 32)) });
const signInTotpBody = z.strictObject({ ticket: boundedString(1, 256), otp: boundedString(1, 16) });

async function signedInUser(context: RequestContext, request: Request): Promise<UserWithRoles> {
  const { user } = await requireSessionUser(context, request);
  if (user.disabled) throw new AuthError("disabled-user");
  return user;
}

export const mfaRoutes = new Hono<AppEnv>()
  .get("/mfa/totp/generate", async (c) => {
    const context = c.var.context;
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    if (user.disabled) throw new AuthError("disabled-user");
    // The latest spec marks it BearerAuthElevated: a new secret replaces a pending one.
    // Its own refusals come first: a user with TOTP active cannot generate anyway.
    if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
    if (user.activeMfaType === "totp") throw new AuthError("totp-already-active");
    await requireElevation(context, claims, user);
    return c.json(await generateTotpSecret(context, user));
  })

  .post("/user/mfa", async (c) => {
    const context = c.var.context;
    // The body is checked before the bearer token, as Nhost's request validation does.
    const body = await readJsonBody(c.req.raw, changeMfaBody);
    const user = await signedInUser(context, c.req.raw);
    await changeTotpActivation(context, user, body.code, body.activeMfaType);
    const change = body.activeMfaType === "totp" ? "enabled" : "disabled";
    recordAudit(context, { type: "factor-change", outcome: "success", userId: user.id, detail: { factor: "totp", change } });
    return c.json("OK");
  })

  .post("/signin/mfa/totp", auditSignIn("mfa-totp"), async (c) => {
    const context = c.var.context;
    const body = await readJsonBody(c.req.raw, signInTotpBody);
    const { user, issued } = await signInWithTotp(context, body.ticket, body.otp);
    noteSignInSubject(c, { userId: user.id });
    return c.json({ session: await buildSession(context, user, issued) });
  });

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { changeMfaBody, signInTotpBody };
