/** `GET /user` and `POST /user/password`. */
import { Hono } from "hono";
import * as z from "zod/mini";
import { boundedString } from "../lib/schema";
import type { AppEnv } from "../context";
import { revokeAllForUserStatement } from "../db/refresh-tokens";
import { revokeAllPatsStatement } from "../db/personal-access-tokens";
import { findUserById, updatePasswordStatement } from "../db/users";
import { firstProofStatements } from "../db/address-proof";
import { revokeLinkTicketsStatement } from "../db/tickets";
import { markEmailVerifiedStatement, runBatch } from "../db/users";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { recordAudit } from "../services/audit";
import { passwordHasherFor } from "../services/passwords";
import { consumeTicket } from "../tokens/tickets";
import { requireAccessToken, requireSessionUser } from "../tokens/verify";
import { requireElevation } from "../tokens/elevation";
import { toUserResponse } from "../tokens/session";
import { checkNewPassword, passwordSchema } from "../lib/credentials";

const changePasswordBody = z.strictObject({ newPassword: passwordSchema, ticket: z.optional(boundedString(1, 512)) });

export const userRoutes = new Hono<AppEnv>()
  .get("/user", async (c) => {
    const context = c.var.context;
    const claims = await requireAccessToken(context, c.req.raw);
    const user = await findUserById(context.db, context.realm.id, claims.sub);
    if (user === null) throw new AuthError("unauthenticated-user");
    if (user.disabled) throw new AuthError("disabled-user");
    return c.json(toUserResponse(user));
  })

  .post("/user/password", async (c) => {
    const context = c.var.context;
    const { db, realm, config } = context;
    const body = await readJsonBody(c.req.raw, changePasswordBody);
    await checkNewPassword(body.newPassword, context);
    const now = Date.now();
    const passwordHash = await passwordHasherFor(config).hash(body.newPassword);

    if (body.ticket !== undefined) {
      // A reset ticket proves control of the email: every session, PAT and link
      // ends, and a first proof also clears what was set up before it.
      const { userId } = await consumeTicket(context, "passwordReset", body.ticket);
      const user = await findUserById(db, realm.id, userId);
      if (user === null) throw new AuthError("invalid-ticket");
      await runBatch(db, [
        ...firstProofStatements(db, user, "email", { keepsSignUpCredentials: false, now }),
        updatePasswordStatement(db, realm.id, userId, passwordHash, now),
        revokeAllForUserStatement(db, realm.id, userId, now),
        revokeAllPatsStatement(db, realm.id, userId, now),
        revokeLinkTicketsStatement(db, realm.id, userId, now),
        markEmailVerifiedStatement(db, realm.id, userId, now),
      ]);
      recordAudit(context, { type: "password-change", outcome: "success", userId, detail: { via: "reset" } });
      return c.json("OK");
    }

    const { claims, user } = await requireSessionUser(context, c.req.raw);
    await requireElevation(context, claims, user);
    if (user.disabled) throw new AuthError("disabled-user");
    if (user.isAnonymous) throw new AuthError("forbidden-anonymous");
    // As the latest spec says, the change ends every session of the user, the
    // caller's too, in the same batch as the new hash; the answer is "OK", so the
    // app signs in again with the new password. We also end every PAT and every
    // outstanding link (Nhost keeps PATs): a password change is what a user does
    // when they fear someone else is in.
    await db.batch([
      updatePasswordStatement(db, realm.id, user.id, passwordHash, now),
      revokeAllForUserStatement(db, realm.id, user.id, now),
      revokeAllPatsStatement(db, realm.id, user.id, now),
      revokeLinkTicketsStatement(db, realm.id, user.id, now),
    ]);
    recordAudit(context, { type: "password-change", outcome: "success", userId: user.id, detail: { via: "signed-in" } });
    return c.json("OK");
  });

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { changePasswordBody };
