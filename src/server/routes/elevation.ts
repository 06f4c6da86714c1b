/**
 * Elevation besides passkeys (routes/webauthn.ts has `/elevate/webauthn*`):
 * `GET /elevate` says whether the caller must elevate, how it can, and whether
 * its token already is; `POST /elevate/totp` and the code routes
 * `/elevate/otp/email` (+ `/verify`) and `/elevate/otp/sms` (+ `/verify`) answer
 * an elevated session. The logic is services/elevation.ts.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppContext, AppEnv } from "../context";
import type { SessionPayload } from "../../shared/api";
import { findUserById } from "../db/users";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { boundedString } from "../lib/schema";
import { checkElevationCode, elevatedSession, sendElevationCode, type CodeChannel } from "../services/elevation";
import { checkTotpForElevation } from "../services/totp";
import { elevationMethodsOf, elevationRequiredFor, isElevated } from "../tokens/elevation";
import { requireAccessToken, requireSessionUser } from "../tokens/verify";

const otpBody = z.strictObject({ otp: boundedString(1, 32) });

async function sendCode(c: AppContext, channel: CodeChannel) {
  const context = c.var.context;
  const { user } = await requireSessionUser(context, c.req.raw);
  await sendElevationCode(context, user, channel);
  return c.json("OK");
}

async function verifyCode(c: AppContext, channel: CodeChannel) {
  const context = c.var.context;
  const body = await readJsonBody(c.req.raw, otpBody);
  const { user } = await requireSessionUser(context, c.req.raw);
  await checkElevationCode(context, user, channel, body.otp);
  return c.json({ session: await elevatedSession(context, user) } satisfies SessionPayload);
}

export const elevationRoutes = new Hono<AppEnv>()
  .get("/elevate", async (c) => {
    const context = c.var.context;
    const claims = await requireAccessToken(context, c.req.raw);
    const user = await findUserById(context.db, context.realm.id, claims.sub);
    if (user === null) throw new AuthError("unauthenticated-user");
    const [methods, elevationRequired] = await Promise.all([elevationMethodsOf(context, user), elevationRequiredFor(context, user)]);
    return c.json({
      elevationRequired,
      methods,
      sessionElevated: isElevated(claims, context.config.elevationTtlSeconds, Date.now()),
    });
  })

  .post("/elevate/totp", async (c) => {
    const context = c.var.context;
    // The body is checked before the bearer token, as Nhost's request validation does.
    const body = await readJsonBody(c.req.raw, otpBody);
    const { user } = await requireSessionUser(context, c.req.raw);
    if (user.disabled) throw new AuthError("disabled-user");
    await checkTotpForElevation(context, user, body.otp);
    return c.json({ session: await elevatedSession(context, user) } satisfies SessionPayload);
  })

  .post("/elevate/otp/email", (c) => sendCode(c, "email"))
  .post("/elevate/otp/email/verify", (c) => verifyCode(c, "email"))
  .post("/elevate/otp/sms", (c) => sendCode(c, "sms"))
  .post("/elevate/otp/sms/verify", (c) => verifyCode(c, "sms"));

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { otpBody as elevationOtpBody };
