/**
 * PKCE authorization codes (RFC 7636): what a redirect carries instead of a
 * refresh token when the request that started the flow sent a `codeChallenge`.
 * A code is 256 random bits, stored only as its SHA-256 in the tickets table
 * (purpose `authorizationCode`) with the challenge it is bound to, lives
 * AUTHORIZATION_CODE_TTL_SECONDS and is consumed by a conditional update, so
 * it works once. What ends the user's links (a password change or reset,
 * signing out everywhere) ends its codes too. `POST /token/exchange` turns it and the verifier into a session.
 */
import type { RequestContext } from "../context";
import { AUTHORIZATION_CODE_PURPOSE, consumeTicketRow } from "../db/tickets";
import { findUserById, type Statement, type UserWithRoles } from "../db/users";
import { AuthError } from "../errors";
import { sha256Hex } from "../lib/crypto";
import { randomAuthorizationCode, verifierMatches } from "../lib/pkce";
import { checkMaySignIn } from "./may-sign-in";
import { newSessionToken, type IssuedRefreshToken } from "./refresh-token";
import { storeSecretStatement } from "./tickets";

/** Long enough for a redirect and one request back; Nhost's codes live as long. */
export const AUTHORIZATION_CODE_TTL_SECONDS = 300;

const PURPOSE = AUTHORIZATION_CODE_PURPOSE;

/** A new code for `userId` bound to `codeChallenge`: the statement to batch, and the code to hand out once. */
export async function newAuthorizationCode(
  context: RequestContext,
  userId: string,
  codeChallenge: string,
): Promise<{ code: string; statement: Statement }> {
  const code = randomAuthorizationCode();
  const statement = storeSecretStatement(context, await sha256Hex(code), PURPOSE, userId, AUTHORIZATION_CODE_TTL_SECONDS, { codeChallenge });
  return { code, statement };
}

/**
 * Redeems `code` with `codeVerifier` for a new session. The code is used up
 * before the verifier is checked, so a wrong verifier burns it too (a code is
 * tried once, by whoever holds it). An unknown, used or expired code, and a
 * verifier that does not answer the challenge, are `invalid-request`, as Nhost
 * answers; the log says which.
 */
export async function exchangeAuthorizationCode(
  context: RequestContext,
  code: string,
  codeVerifier: string,
): Promise<{ user: UserWithRoles; issued: IssuedRefreshToken }> {
  const { db, realm, config } = context;
  const row = await consumeTicketRow(db, realm.id, { ticketHash: await sha256Hex(code), purpose: PURPOSE, now: Date.now() });
  if (row === null) throw new AuthError("invalid-request", undefined, { reason: "unknown, used or expired authorization code" });
  if (row.codeChallenge === null || !(await verifierMatches(row.codeChallenge, codeVerifier))) {
    throw new AuthError("invalid-request", undefined, { reason: "PKCE verifier mismatch" });
  }
  const user = await findUserById(db, realm.id, row.userId);
  if (user === null) throw new AuthError("invalid-request", undefined, { reason: "the authorization code's user is gone" });
  checkMaySignIn(config, user);
  const session = await newSessionToken(context, user.id);
  await db.batch([session.statement]);
  return { user, issued: session.issued };
}
