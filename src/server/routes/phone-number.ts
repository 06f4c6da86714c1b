/**
 * `POST /user/phone-number/change` and `/change/verify` (both elevated where the
 * user has a second factor, or under ELEVATION_REQUIRED), and
 * `POST /user/deanonymize/sms`. The logic is services/phone-number.ts.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../context";
import type { UserWithRoles } from "../db/users";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { normalizeE164 } from "../lib/phone";
import { boundedString } from "../lib/schema";
import { resolveSignUpOptions, signUpOptionsSchema } from "../lib/sign-up-options";
import { recordAudit } from "../services/audit";
import { confirmPhoneNumberChange, requestPhoneNumberChange, stageSmsDeanonymization } from "../services/phone-number";
import { requireElevation } from "../tokens/elevation";
import { requireSessionUser } from "../tokens/verify";
import { auditSignUpFailure, noteSignInSubject } from "./audit-sign-in";

const phoneNumberSchema = boundedString(1, 32);
const changeBody = z.strictObject({ newPhoneNumber: phoneNumberSchema });
const changeVerifyBody = z.strictObject({ newPhoneNumber: phoneNumberSchema, otp: boundedString(1, 32) });
const deanonymizeSmsBody = z.strictObject({ phoneNumber: phoneNumberSchema, options: z.optional(signUpOptionsSchema) });

/** A regular, enabled user may change its number. */
function checkMayChange(user: UserWithRoles): void {
  if (user.disabled) throw new AuthError("disabled-user");
  if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
}

export const phoneNumberRoutes = new Hono<AppEnv>()
  .post("/user/phone-number/change", async (c) => {
    const context = c.var.context;
    // The body is checked before the bearer token, as Nhost's request validation does.
    const body = await readJsonBody(c.req.raw, changeBody);
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    await requireElevation(context, claims, user);
    checkMayChange(user);
    const phoneNumber = normalizeE164(body.newPhoneNumber);
    if (phoneNumber === null) throw new AuthError("cannot-send-sms");
    await requestPhoneNumberChange(context, user, phoneNumber);
    return c.json("OK");
  })

  .post("/user/phone-number/change/verify", async (c) => {
    const context = c.var.context;
    // The body is checked before the bearer token, as Nhost's request validation does.
    const body = await readJsonBody(c.req.raw, changeVerifyBody);
    const { claims, user } = await requireSessionUser(context, c.req.raw);
    await requireElevation(context, claims, user);
    checkMayChange(user);
    const phoneNumber = normalizeE164(body.newPhoneNumber);
    if (phoneNumber === null) throw new AuthError("invalid-otp");
    await confirmPhoneNumberChange(context, user, phoneNumber, body.otp);
    recordAudit(context, { type: "factor-change", outcome: "success", userId: user.id, detail: { factor: "phone-number", change: "changed" } });
    return c.json("OK");
  })

  .post("/user/deanonymize/sms", auditSignUpFailure("deanonymize"), async (c) => {
    const context = c.var.context;
    const body = await readJsonBody(c.req.raw, deanonymizeSmsBody);
    const { user } = await requireSessionUser(context, c.req.raw);
    noteSignInSubject(c, { userId: user.id });
    if (user.disabled) throw new AuthError("disabled-user");
    if (!user.isAnonymous) throw new AuthError("user-not-anonymous");
    const phoneNumber = normalizeE164(body.phoneNumber);
    if (phoneNumber === null) throw new AuthError("cannot-send-sms");
    const options = resolveSignUpOptions(body.options, context.config);
    if (!options.ok) throw new AuthError(options.code);
    await stageSmsDeanonymization(context, user, phoneNumber, options.value, body.options?.metadata !== undefined);
    return c.json("OK");
  });

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { changeBody as phoneNumberChangeBody, changeVerifyBody as phoneNumberChangeVerifyBody, deanonymizeSmsBody };
