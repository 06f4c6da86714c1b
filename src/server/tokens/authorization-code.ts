/**
 * The PKCE variant of a redirect sign-in (`codeChallenge` on
 * `/signin/provider/{provider}`): the callback hands the app a short-lived,
 * single-use code instead of a refresh token, and only the holder of the
 * verifier can turn it into a session (`POST /token/exchange`, RFC 7636). A
 * refresh token in a URL ends up in browser history and server logs; a code
 * without its verifier is worth nothing.
 *
 * The code is a ticket (purpose `authorizationCode`, stored as its SHA-256, the
 * challenge as payload). The exchange route belongs to the PKCE work (issue 10),
 * which has a module of this name with the same `newAuthorizationCode`: at a
 * merge, its version replaces this one and the provider callback keeps calling it.
 */
import type { RequestContext } from "../context";
import { insertTicketStatement } from "../db/tickets";
import type { Statement } from "../db/users";
import { sha256Hex } from "../lib/crypto";
import { base64url } from "jose";

/** Long enough for a redirect and one request back. */
export const AUTHORIZATION_CODE_TTL_SECONDS = 300;

/** A new code for `userId` bound to `codeChallenge`: the statement to batch, and the code to hand out once. */
export async function newAuthorizationCode(context: RequestContext, userId: string, codeChallenge: string): Promise<{ code: string; statement: Statement }> {
  const code = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  const now = Date.now();
  const statement = insertTicketStatement(context.db, {
    ticketHash: await sha256Hex(code),
    realm: context.realm.id,
    userId,
    purpose: "authorizationCode",
    payload: codeChallenge,
    redirectTo: null,
    createdAt: now,
    expiresAt: now + AUTHORIZATION_CODE_TTL_SECONDS * 1000,
  });
  return { code, statement };
}
