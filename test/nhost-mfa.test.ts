/**
 * The published `@nhost/nhost-js` client (4.x) driving TOTP MFA against the
 * Worker unchanged: `changeUserMfa` (generate), `verifyChangeUserMfa` (activate,
 * deactivate), `signInEmailPassword` answering an MFA ticket, and
 * `verifySignInMfaTotp` finishing the sign-in. Requests go into
 * `exports.default.fetch`; the client's own session middleware stays in place.
 */
import { createClient, type NhostClient } from "@nhost/nhost-js";
import { MemoryStorage } from "@nhost/nhost-js/session";
import { describe, expect, it } from "vitest";
import { base32Decode, hotp, timeStep } from "../src/server/lib/totp";
import { GOOD_PASSWORD, uniqueEmail, withClockHeld, workerFetch } from "./helpers";
import { expectAuthError } from "./support/nhost-errors";

/** The code an authenticator app would show for `secret` at `atMs`. */
async function codeFor(totpSecret: string, atMs = Date.now()): Promise<string> {
  return hotp(base32Decode(totpSecret)!, timeStep(atMs));
}

function newClient(): { nhost: NhostClient; sent: { url: string; body: unknown }[] } {
  const nhost = createClient({ authUrl: "http://localhost", storage: new MemoryStorage() });
  const sent: { url: string; body: unknown }[] = [];
  nhost.auth.pushChainFunction(() => async (url, init = {}) => {
    sent.push({ url, body: typeof init.body === "string" ? JSON.parse(init.body) : init.body });
    return workerFetch(url, init);
  });
  return { nhost, sent };
}

/** A user who turned TOTP on through the client; the current step's code is still unused. */
async function userWithTotpThroughClient() {
  const { nhost } = newClient();
  const email = uniqueEmail("nhost-mfa");
  await nhost.auth.signUpEmailPassword({ email, password: GOOD_PASSWORD });
  const generated = await nhost.auth.changeUserMfa();
  expect(generated.body.imageUrl).toMatch(/^data:image\//);
  const totpSecret = generated.body.totpSecret;
  await withClockHeld(async () => nhost.auth.verifyChangeUserMfa({ code: await codeFor(totpSecret, Date.now() - 30_000), activeMfaType: "totp" }));
  expect((await nhost.auth.getUser()).body.activeMfaType).toBe("totp");
  return { nhost, email, totpSecret };
}

describe("@nhost/nhost-js driving TOTP MFA", () => {
  it("generate, activate, then signInEmailPassword → mfa ticket → verifySignInMfaTotp → a stored, working session", async () => {
    const { email, totpSecret } = await userWithTotpThroughClient();

    const { nhost: fresh, sent } = newClient();
    const first = await fresh.auth.signInEmailPassword({ email, password: GOOD_PASSWORD });
    expect(first.body.session).toBeFalsy();
    expect(first.body.mfa!.ticket).toMatch(/^mfaTotp:/);
    // No session yet, so none stored: the client is still signed out.
    expect(fresh.getUserSession()).toBeNull();

    const second = await fresh.auth.verifySignInMfaTotp({ ticket: first.body.mfa!.ticket, otp: await codeFor(totpSecret) });
    expect(sent.at(-1)).toMatchObject({ url: "http://localhost/signin/mfa/totp", body: { ticket: first.body.mfa!.ticket } });
    expect(second.body.session!.user).toMatchObject({ email, activeMfaType: "totp" });
    expect(fresh.getUserSession()?.user?.email).toBe(email);
    // The stored session is a real one: the client uses and refreshes it.
    expect((await fresh.auth.getUser()).body.email).toBe(email);
    const refreshed = await fresh.refreshSession(0);
    expect(refreshed?.refreshToken).not.toBe(second.body.session!.refreshToken);
  });

  it("surfaces the server's errors: a wrong code is invalid-totp, a used ticket invalid-ticket", async () => {
    const { email, totpSecret } = await userWithTotpThroughClient();
    const { nhost } = newClient();
    const ticket = (await nhost.auth.signInEmailPassword({ email, password: GOOD_PASSWORD })).body.mfa!.ticket;
    const right = await codeFor(totpSecret);
    await expectAuthError(nhost.auth.verifySignInMfaTotp({ ticket, otp: right === "000000" ? "111111" : "000000" }), 401, "invalid-totp");
    await nhost.auth.verifySignInMfaTotp({ ticket, otp: right });
    await expectAuthError(nhost.auth.verifySignInMfaTotp({ ticket, otp: right }), 401, "invalid-ticket");
  });

  it("verifyChangeUserMfa with activeMfaType \"\" turns TOTP off: the next sign-in answers a session", async () => {
    const { nhost, email, totpSecret } = await userWithTotpThroughClient();
    await expectAuthError(nhost.auth.changeUserMfa(), 400, "totp-already-active");
    await nhost.auth.verifyChangeUserMfa({ code: await codeFor(totpSecret), activeMfaType: "" });
    const { nhost: fresh } = newClient();
    const signedIn = await fresh.auth.signInEmailPassword({ email, password: GOOD_PASSWORD });
    expect(signedIn.body.mfa).toBeFalsy();
    expect(signedIn.body.session!.user!.activeMfaType).toBeNull();
  });
});
