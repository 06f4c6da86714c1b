/**
 * The email flows driven by the published Nhost client (`@nhost/nhost-js` 4.x),
 * its requests routed into the Worker: password reset (by link and by ticket),
 * verification mails, email change, magic links and email codes. The mail is
 * read from the dev outbox and its link followed as a browser would; the client
 * then finishes the flow as an application does.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createClient, type NhostClient } from "@nhost/nhost-js";
import { MemoryStorage } from "@nhost/nhost-js/session";
import { describe, expect, it } from "vitest";
import { api, GOOD_PASSWORD, uniqueEmail, workerFetch, appFetch } from "./helpers";
import { expectAuthError } from "./support/nhost-errors";

const NEW_PASSWORD = "a different but equally long passphrase";
const REDIRECT_TO = "https://app.example.com/auth/callback";

/**
 * A client as an application would build it, its network replaced by the
 * Worker. With `settings`, requests go to the same app under other bindings
 * and each waits for its background work (the mail).
 */
function newClient(settings?: Record<string, string>): NhostClient {
  const nhost = createClient({ authUrl: "http://localhost", storage: new MemoryStorage() });
  if (settings === undefined) {
    nhost.auth.pushChainFunction(() => (url, init) => workerFetch(url, init));
  } else {
    const bindings = { ...env, ...settings } as Env;
    nhost.auth.pushChainFunction(() => async (url, init) => {
      const ctx = createExecutionContext();
      const response = await appFetch(new Request(url, init), bindings, ctx);
      const body = await response.arrayBuffer();
      await waitOnExecutionContext(ctx);
      return new Response(body, response);
    });
  }
  return nhost;
}

interface Mail {
  channel: string;
  to: string;
  subject: string;
  text: string;
  links: string[];
}

/** The newest mail to `to`, polling a bounded number of times (it is sent after the response). */
async function waitForMail(to: string): Promise<Mail> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const mails = (await api("/_dev/outbox")).json.mails as Mail[];
    const mail = mails.find((candidate) => candidate.channel === "email" && candidate.to === to);
    if (mail !== undefined) return mail;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no mail to ${to}`);
}

function linkOf(mail: Mail): URL {
  const link = new URL(mail.links[0]!);
  expect(`${link.origin}${link.pathname}`).toBe("http://localhost/verify");
  return link;
}

/** Opens the link as the browser does and returns the refresh token of the redirect. */
async function followLink(link: URL | string, type: string): Promise<string> {
  const response = await workerFetch(link.toString(), { redirect: "manual" });
  expect(response.status).toBe(302);
  const location = new URL(response.headers.get("location")!);
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_TO);
  expect(location.searchParams.get("type")).toBe(type);
  expect(location.searchParams.get("error")).toBeNull();
  return location.searchParams.get("refreshToken")!;
}

async function signedUpClient(prefix: string) {
  const nhost = newClient();
  const email = uniqueEmail(prefix);
  const response = await nhost.auth.signUpEmailPassword({ email, password: GOOD_PASSWORD });
  const session = response.body.session!;
  expect(session.user).toBeDefined();
  return { nhost, email, session };
}

describe("password reset with @nhost/nhost-js", () => {
  it("sendPasswordResetEmail, then changeUserPassword with the ticket from the mail: old sessions end", async () => {
    const { nhost: signedIn, email, session } = await signedUpClient("nhost-reset-ticket");
    const nhost = newClient();
    const sent = await nhost.auth.sendPasswordResetEmail({ email, options: { redirectTo: REDIRECT_TO } });
    expect(sent.status).toBe(200);
    expect(sent.body).toBe("OK");

    const ticket = linkOf(await waitForMail(email)).searchParams.get("ticket")!;
    const changed = await nhost.auth.changeUserPassword({ newPassword: NEW_PASSWORD, ticket });
    expect(changed.body).toBe("OK");

    await expectAuthError(signedIn.auth.refreshToken({ refreshToken: session.refreshToken }), 401, "invalid-refresh-token");
    await expectAuthError(nhost.auth.signInEmailPassword({ email, password: GOOD_PASSWORD }), 401, "invalid-email-password");
    const again = await nhost.auth.signInEmailPassword({ email, password: NEW_PASSWORD });
    expect(again.body.session!.user!.email).toBe(email);
    expect(nhost.getUserSession()!.user!.id).toBe(session.user!.id);

    await expectAuthError(newClient().auth.changeUserPassword({ newPassword: GOOD_PASSWORD, ticket }), 401, "invalid-ticket");
  });

  it("the link signs the browser in; the client refreshes with its token and sets the password", async () => {
    const { nhost: other, email, session } = await signedUpClient("nhost-reset-link");
    const nhost = newClient();
    await nhost.auth.sendPasswordResetEmail({ email, options: { redirectTo: REDIRECT_TO } });
    const refreshToken = await followLink(linkOf(await waitForMail(email)), "passwordReset");

    const refreshed = await nhost.auth.refreshToken({ refreshToken });
    expect(refreshed.body.user!.id).toBe(session.user!.id);
    expect(nhost.getUserSession()!.refreshToken).toBe(refreshed.body.refreshToken);

    // The stored session's bearer authorises the change.
    expect((await nhost.auth.changeUserPassword({ newPassword: NEW_PASSWORD })).body).toBe("OK");
    await expectAuthError(other.auth.refreshToken({ refreshToken: session.refreshToken }), 401, "invalid-refresh-token");
    expect((await newClient().auth.signInEmailPassword({ email, password: NEW_PASSWORD })).status).toBe(200);
  });

  it("verifyTicketURL builds a link the Worker redeems", async () => {
    const { email } = await signedUpClient("nhost-ticket-url");
    const nhost = newClient();
    await nhost.auth.sendPasswordResetEmail({ email, options: { redirectTo: REDIRECT_TO } });
    const ticket = linkOf(await waitForMail(email)).searchParams.get("ticket")!;
    const url = nhost.auth.verifyTicketURL({ ticket, type: "passwordReset", redirectTo: REDIRECT_TO });
    const refreshToken = await followLink(url, "passwordReset");
    expect((await nhost.auth.refreshToken({ refreshToken })).body.user!.email).toBe(email);
  });

  it("a redirectTo outside the allow-list is redirectTo-not-allowed", async () => {
    const { email } = await signedUpClient("nhost-reset-evil");
    await expectAuthError(
      newClient().auth.sendPasswordResetEmail({ email, options: { redirectTo: "https://app.example.com.evil.com/auth" } }),
      400,
      "redirectTo-not-allowed",
    );
  });
});

describe("email verification with @nhost/nhost-js", () => {
  it("sign-up with REQUIRE_VERIFIED_EMAIL: no session, unverified-user until the link is followed", async () => {
    const nhost = newClient({ REQUIRE_VERIFIED_EMAIL: "true" });
    const email = uniqueEmail("nhost-verify-signup");
    const signedUp = await nhost.auth.signUpEmailPassword({ email, password: GOOD_PASSWORD, options: { redirectTo: REDIRECT_TO } });
    expect(signedUp.body.session).toBeNull();
    expect(nhost.getUserSession()).toBeNull();
    await expectAuthError(nhost.auth.signInEmailPassword({ email, password: GOOD_PASSWORD }), 401, "unverified-user");

    const refreshToken = await followLink(linkOf(await waitForMail(email)), "emailVerify");
    expect((await nhost.auth.refreshToken({ refreshToken })).body.user!.emailVerified).toBe(true);
    const signedIn = await nhost.auth.signInEmailPassword({ email, password: GOOD_PASSWORD });
    expect(signedIn.body.session!.user!.emailVerified).toBe(true);
  });

  it("sendVerificationEmail, follow the link, getUser shows emailVerified", async () => {
    const { nhost, email, session } = await signedUpClient("nhost-send-verify");
    expect(session.user!.emailVerified).toBe(false);
    const sent = await newClient().auth.sendVerificationEmail({ email, options: { redirectTo: REDIRECT_TO } });
    expect(sent.body).toBe("OK");
    const refreshToken = await followLink(linkOf(await waitForMail(email)), "emailVerify");

    const browser = newClient();
    expect((await browser.auth.refreshToken({ refreshToken })).body.user!.id).toBe(session.user!.id);
    expect((await browser.auth.getUser()).body.emailVerified).toBe(true);
    expect((await nhost.auth.getUser()).body.emailVerified).toBe(true);
  });

  it("sendVerificationEmail for a verified user: concealed OK, or email-already-verified when errors are shown", async () => {
    const { email } = await signedUpClient("nhost-verified");
    await newClient().auth.sendVerificationEmail({ email, options: { redirectTo: REDIRECT_TO } });
    await followLink(linkOf(await waitForMail(email)), "emailVerify");
    expect((await newClient().auth.sendVerificationEmail({ email })).body).toBe("OK");
    await expectAuthError(
      newClient({ ENUMERATION_PROTECTION: "false" }).auth.sendVerificationEmail({ email }),
      400,
      "email-already-verified",
    );
  });

  it("changeUserEmail mails the new address; its link switches the email", async () => {
    const { nhost, session } = await signedUpClient("nhost-change");
    const newEmail = uniqueEmail("nhost-change-new");
    expect((await nhost.auth.changeUserEmail({ newEmail, options: { redirectTo: REDIRECT_TO } })).body).toBe("OK");
    const refreshToken = await followLink(linkOf(await waitForMail(newEmail)), "emailConfirmChange");
    expect((await newClient().auth.refreshToken({ refreshToken })).body.user).toMatchObject({ id: session.user!.id, email: newEmail });
    expect((await newClient().auth.signInEmailPassword({ email: newEmail, password: GOOD_PASSWORD })).status).toBe(200);
  });
});

describe("passwordless email with @nhost/nhost-js", () => {
  it("signInPasswordlessEmail: the magic link signs a new user in", async () => {
    const nhost = newClient();
    const email = uniqueEmail("nhost-magic");
    const sent = await nhost.auth.signInPasswordlessEmail({ email, options: { redirectTo: REDIRECT_TO, displayName: "Magic" } });
    expect(sent.body).toBe("OK");
    const refreshToken = await followLink(linkOf(await waitForMail(email)), "signinPasswordless");
    const session = (await nhost.auth.refreshToken({ refreshToken })).body;
    expect(session.user).toMatchObject({ email, displayName: "Magic", emailVerified: true });
    expect(nhost.getUserSession()!.accessToken).toBe(session.accessToken);
  });

  it("signInOTPEmail + verifySignInOTPEmail: the client stores the session; a wrong code is invalid-otp", async () => {
    const nhost = newClient();
    const email = uniqueEmail("nhost-otp");
    expect((await nhost.auth.signInOTPEmail({ email })).body).toBe("OK");
    const mail = await waitForMail(email);
    const otp = /\b(\d{6})\b/.exec(mail.text)![1]!;

    const wrong = String((Number(otp) + 1) % 1_000_000).padStart(6, "0");
    await expectAuthError(nhost.auth.verifySignInOTPEmail({ email, otp: wrong }), 400, "invalid-otp");
    const verified = await nhost.auth.verifySignInOTPEmail({ email, otp });
    expect(verified.body.session!.user).toMatchObject({ email, emailVerified: true });
    expect(nhost.getUserSession()!.refreshToken).toBe(verified.body.session!.refreshToken);
    expect((await nhost.auth.getUser()).body.email).toBe(email);
    await expectAuthError(newClient().auth.verifySignInOTPEmail({ email, otp }), 400, "invalid-otp");
  });
});
