/** `POST /token`, `POST /signout`, `POST /token/verify`, `POST /token/exchange` (PKCE). */
import { Hono } from "hono";
import * as z from "zod/mini";
import { boundedString } from "../lib/schema";
import type { AppEnv } from "../context";
import { revokeAllPatsStatement } from "../db/personal-access-tokens";
import { revokeAllForUserStatement, revokeFamily } from "../db/refresh-tokens";
import { revokeLinkTicketsStatement } from "../db/tickets";
import { AuthError } from "../errors";
import { readJsonBody } from "../lib/body";
import { recordAudit } from "../services/audit";
import { familyOf, rotate } from "../tokens/refresh-token";
import { buildSession } from "../tokens/session";
import { optionalAccessToken, requireAccessToken, serverVerifier } from "../tokens/verify";
import { exchangeAuthorizationCode } from "../tokens/authorization-code";
import { codeVerifierSchema } from "../lib/pkce";
import type { SessionPayload } from "../../shared/api";

const refreshBody = z.strictObject({ refreshToken: boundedString(0, 256) });
const signOutBody = z.strictObject({ refreshToken: z.optional(boundedString(0, 256)), all: z.optional(z.boolean()) });
const verifyBody = z.strictObject({ token: z.optional(boundedString(0, 16_384)) });
const exchangeBody = z.strictObject({ code: boundedString(1, 256), codeVerifier: codeVerifierSchema });

export const sessionRoutes = new Hono<AppEnv>()
  .post("/token", async (c) => {
    const context = c.var.context;
    const body = await readJsonBody(c.req.raw, refreshBody);
    const { issued, user } = await rotate(context, body.refreshToken);
    return c.json(await buildSession(context, user, issued));
  })

  .post("/signout", async (c) => {
    const context = c.var.context;
    const body = await readJsonBody(c.req.raw, signOutBody);
    const now = Date.now();
    if (body.all === true) {
      // Ending every session needs proof of who is asking: the access token
      // (missing, it is a malformed request, as Nhost answers).
      if (c.req.header("authorization") === undefined) throw new AuthError("invalid-request", "all requires a bearer token");
      const claims = await requireAccessToken(context, c.req.raw);
      const { db, realm } = context;
      // Everywhere includes the personal access tokens and the links still in mailboxes.
      await db.batch([
        revokeAllForUserStatement(db, realm.id, claims.sub, now),
        revokeAllPatsStatement(db, realm.id, claims.sub, now),
        revokeLinkTicketsStatement(db, realm.id, claims.sub, now),
      ]);
      recordAudit(context, { type: "signout", outcome: "success", userId: claims.sub, detail: { scope: "all" } });
      return c.json("OK");
    }
    if (body.refreshToken === undefined) throw new AuthError("invalid-request", "refreshToken or all is required");
    const family = await familyOf(context, body.refreshToken);
    if (family === null) throw new AuthError("invalid-refresh-token");
    await revokeFamily(context.db, context.realm.id, family.familyId, now);
    recordAudit(context, { type: "signout", outcome: "success", userId: family.userId, detail: { scope: "session", sessionId: family.familyId } });
    return c.json("OK");
  })

  .post("/token/verify", async (c) => {
    const context = c.var.context;
    const body = await readJsonBody(c.req.raw, verifyBody, { optional: true });
    if (body.token !== undefined) {
      const token = body.token.replace(/^Bearer /, "");
      const result = await serverVerifier(context).verify(token);
      if (!result.ok) throw new AuthError("unauthenticated-user");
      return c.json("OK");
    }
    if ((await optionalAccessToken(context, c.req.raw)) === null) throw new AuthError("unauthenticated-user");
    return c.json("OK");
  })

  .post("/token/exchange", async (c) => {
    const context = c.var.context;
    const body = await readJsonBody(c.req.raw, exchangeBody);
    const { user, issued } = await exchangeAuthorizationCode(context, body.code, body.codeVerifier);
    // The sign-in was audited where the code was issued (`GET /verify`).
    return c.json({ session: await buildSession(context, user, issued) } satisfies SessionPayload);
  });

/** The request schemas, for the end-user OpenAPI document (routes/openapi.ts). */
export { refreshBody, signOutBody, verifyBody as verifyTokenBody, exchangeBody as tokenExchangeBody };
