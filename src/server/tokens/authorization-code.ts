/**
 * The PKCE variant of a redirect sign-in (`codeChallenge` on
 * `/signin/provider/{provider}`): the callback hands the app a short-lived,
 * single-use code instead of a refresh token, and only the holder of the
 * verifier can turn it into a session (`POST /token/exchange`, RFC 7636). A
 * refresh token in a URL ends up in browser history and server logs; a code
 * without its verifier is worth nothing.
 *
 * This is the one call the provider callback makes; the exchange route belongs
 * to the PKCE work (issue 10) and redeems these tickets (purpose
 * `authorizationCode`, payload: the S256 challenge).
 */
import type { RequestContext } from "../context";
import { newTicket } from "./tickets";

/** How long an authorization code can be exchanged (RFC 6749 §4.1.2 recommends at most 10 minutes). */
export const AUTHORIZATION_CODE_TTL_SECONDS = 60;

export async function issueAuthorizationCode(context: RequestContext, userId: string, codeChallenge: string) {
  const { ticket, statement } = await newTicket(context, "authorizationCode", userId, AUTHORIZATION_CODE_TTL_SECONDS, { payload: codeChallenge });
  return { code: ticket, statement };
}
