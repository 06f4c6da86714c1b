/**
 * The account-takeover paths closed by the hardening issue:
 * - links die with the credential: a password change or reset, a sign-out
 *   everywhere and an email change revoke the user's outstanding link tickets,
 *   and a newer link voids the older one of the same purpose;
 * - the address owner wins (pre-hijacked accounts): the first proof of an
 *   address ends the sessions and PATs made before it and removes the password,
 *   passkeys and TOTP set before it, except what the sign-up set when the proof
 *   is a verification link. The same for a phone number.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DEFAULT_REALM } from "../src/server/db/schema";
import { GOOD_PASSWORD, api, signIn, signUp, uniqueEmail, workerFetch } from "./helpers";

const APP = "https://app.example.com/auth/done";
const NEW_PASSWORD = "another horse battery staple";

interface Mail {
  id: string;
  channel: string;
  to: string;
  subject: string;
  text: string;
  links: string[];
}

async function mailsTo(to: string): Promise<Mail[]> {
  const response = await api("/_dev/outbox");
  return (response.json.mails as Mail[]).filter((mail) => mail.to === to.toLowerCase());
}

/** The newest mail to `to` matching `subject`, once it has arrived (mails go out after the answer). */
async function newestMail(to: string, subject: RegExp, seen: string[] = []): Promise<Mail> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const mail = (await mailsTo(to)).find((candidate) => subject.test(candidate.subject) && !seen.includes(candidate.id));
    if (mail !== undefined) return mail;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no mail to ${to} matching ${subject}`);
}

function linkIn(mail: Mail): string {
  const link = mail.links.find((candidate) => candidate.includes("/verify?"));
  expect(link, mail.text).toBeDefined();
  return link!;
}

/** Follows a mailed link as a browser would; answers where it redirected. */
async function follow(link: string): Promise<URL> {
  const response = await workerFetch(link, { redirect: "manual" });
  expect(response.status, await response.text()).toBe(302);
  return new URL(response.headers.get("location")!);
}

async function expectDeadLink(link: string) {
  expect((await follow(link)).searchParams.get("error")).toBe("invalid-ticket");
}

async function requestLink(route: string, body: Record<string, unknown>, to: string, subject: RegExp, token?: string): Promise<string> {
  const seen = (await mailsTo(to)).map((mail) => mail.id);
  const response = await api(route, { body: { ...body, options: { redirectTo: APP } }, ...(token === undefined ? {} : { token }) });
  expect(response.status, response.text).toBe(200);
  return linkIn(await newestMail(to, subject, seen));
}

const magicLink = (email: string) => requestLink("/signin/passwordless/email", { email }, email, /sign/i);
const resetLink = (email: string) => requestLink("/user/password/reset", { email }, email, /reset/i);
const verificationLink = (email: string) => requestLink("/user/email/send-verification-email", { email }, email, /verif/i);
const emailChangeLink = (token: string, newEmail: string) => requestLink("/user/email/change", { newEmail }, newEmail, /change|confirm/i, token);

async function refreshWorks(refreshToken: string): Promise<boolean> {
  return (await api("/token", { body: { refreshToken } })).status === 200;
}

async function patWorks(personalAccessToken: string): Promise<boolean> {
  return (await api("/signin/pat", { body: { personalAccessToken } })).status === 200;
}

async function createPat(accessToken: string): Promise<string> {
  const response = await api("/pat", { token: accessToken, body: { expiresAt: new Date(Date.now() + 86_400_000).toISOString() } });
  expect(response.status, response.text).toBe(200);
  return response.json.personalAccessToken;
}

async function userRow(id: string) {
  return env.DB.prepare(
    "SELECT email, email_verified AS emailVerified, phone_number_verified AS phoneVerified, password_hash AS passwordHash, active_mfa_type AS activeMfaType FROM users WHERE id = ?",
  )
    .bind(id)
    .first<{ email: string; emailVerified: number; phoneVerified: number; passwordHash: string | null; activeMfaType: string | null }>();
}

async function markEmailVerified(id: string) {
  await env.DB.prepare("UPDATE users SET email_verified = 1 WHERE id = ?").bind(id).run();
}

/** A passkey row as a registration writes it, `createdAt` after the sign-up. */
async function addPasskeyRow(userId: string, createdAt: number): Promise<string> {
  const id = crypto.randomUUID().replaceAll("-", "");
  await env.DB.prepare("INSERT INTO webauthn_credentials (id, realm, user_id, public_key, created_at) VALUES (?, ?, ?, ?, ?)")
    .bind(id, DEFAULT_REALM, userId, "pQECAyYgASFYIA", createdAt)
    .run();
  return id;
}

async function passkeyIds(userId: string): Promise<string[]> {
  const rows = await env.DB.prepare("SELECT id FROM webauthn_credentials WHERE user_id = ?").bind(userId).all<{ id: string }>();
  return rows.results.map((row) => row.id);
}

describe("links die with the credential", () => {
  it("a newer link voids the older one of the same purpose, not those of other purposes", async () => {
    const { email, session } = await signUp(uniqueEmail("links-newer"));
    await markEmailVerified(session.user.id);
    const olderReset = await resetLink(email);
    const magic = await magicLink(email);
    const newerReset = await resetLink(email);
    await expectDeadLink(olderReset);
    expect((await follow(newerReset)).searchParams.has("refreshToken")).toBe(true);
    expect((await follow(magic)).searchParams.has("refreshToken")).toBe(true);
  });

  it("a signed-in password change revokes every outstanding link", async () => {
    const { email, session } = await signUp(uniqueEmail("links-change"));
    await markEmailVerified(session.user.id);
    const links = [await resetLink(email), await magicLink(email), await emailChangeLink(session.accessToken, uniqueEmail("links-change-new"))];
    expect((await api("/user/password", { token: session.accessToken, body: { newPassword: NEW_PASSWORD } })).status).toBe(200);
    for (const link of links) await expectDeadLink(link);
  });

  it("a password reset revokes every other outstanding link, an intruder's email change above all", async () => {
    const { email, session } = await signUp(uniqueEmail("links-reset"));
    await markEmailVerified(session.user.id);
    // An intruder holding a session asks to move the account to its own address.
    const intruderAddress = uniqueEmail("intruder");
    const intruderLink = await emailChangeLink(session.accessToken, intruderAddress);
    const magic = await magicLink(email);
    // The owner resets the password with the reset ticket.
    const reset = new URL(await resetLink(email));
    const changed = await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket: reset.searchParams.get("ticket") } });
    expect(changed.status, changed.text).toBe(200);
    await expectDeadLink(intruderLink);
    await expectDeadLink(magic);
    expect((await userRow(session.user.id))!.email).toBe(email);
    expect((await signIn(email, NEW_PASSWORD)).status).toBe(200);
  });

  it("signing out everywhere revokes every outstanding link", async () => {
    const { email, session } = await signUp(uniqueEmail("links-signout"));
    await markEmailVerified(session.user.id);
    const links = [await resetLink(email), await emailChangeLink(session.accessToken, uniqueEmail("links-signout-new"))];
    expect((await api("/signout", { token: session.accessToken, body: { all: true } })).status).toBe(200);
    for (const link of links) await expectDeadLink(link);
  });

  it("an email change revokes the links mailed to the old address", async () => {
    const { email, session } = await signUp(uniqueEmail("links-email-change"));
    await markEmailVerified(session.user.id);
    const oldReset = await resetLink(email);
    const newEmail = uniqueEmail("links-email-changed");
    const change = await emailChangeLink(session.accessToken, newEmail);
    expect((await follow(change)).searchParams.get("type")).toBe("emailConfirmChange");
    expect((await userRow(session.user.id))!.email).toBe(newEmail);
    await expectDeadLink(oldReset);
  });
});

describe("the address owner wins: a squatter's account is the owner's after the first proof", () => {
  /** Someone signs up with the owner's address, keeps a session, a PAT, TOTP and a passkey. */
  async function squattedAccount() {
    const email = uniqueEmail("squatted");
    const squatter = await signUp(email, "the squatter's own password");
    const pat = await createPat(squatter.session.accessToken);
    await env.DB.prepare("UPDATE users SET active_mfa_type = 'totp', totp_secret_encrypted = 'x' WHERE id = ?").bind(squatter.session.user.id).run();
    const passkey = await addPasskeyRow(squatter.session.user.id, Date.now() + 1);
    return { email, userId: squatter.session.user.id, refreshToken: squatter.session.refreshToken, pat, passkey };
  }

  async function expectSquatterOut(account: Awaited<ReturnType<typeof squattedAccount>>) {
    expect(await refreshWorks(account.refreshToken)).toBe(false);
    expect(await patWorks(account.pat)).toBe(false);
    expect((await signIn(account.email, "the squatter's own password")).status).toBe(401);
    const row = await userRow(account.userId);
    expect(row).toMatchObject({ emailVerified: 1, passwordHash: null, activeMfaType: null });
    expect(await passkeyIds(account.userId)).toEqual([]);
  }

  it("by magic link: the owner lands signed in (no TOTP asked), the squatter is out", async () => {
    const account = await squattedAccount();
    const landed = await follow(await magicLink(account.email));
    const refreshToken = landed.searchParams.get("refreshToken");
    expect(refreshToken, landed.toString()).not.toBeNull();
    expect(landed.searchParams.has("mfaTicket")).toBe(false);
    await expectSquatterOut(account);
    expect(await refreshWorks(refreshToken!)).toBe(true);
  });

  it("by email code", async () => {
    const account = await squattedAccount();
    const seen = (await mailsTo(account.email)).map((mail) => mail.id);
    expect((await api("/signin/otp/email", { body: { email: account.email } })).status).toBe(200);
    const code = /\b(\d{6})\b/.exec((await newestMail(account.email, /code/i, seen)).text)![1];
    const verified = await api("/signin/otp/email/verify", { body: { email: account.email, otp: code } });
    expect(verified.status, verified.text).toBe(200);
    expect(verified.json.session).not.toBeNull();
    await expectSquatterOut(account);
  });

  it("by password reset link", async () => {
    const account = await squattedAccount();
    const landed = await follow(await resetLink(account.email));
    expect(landed.searchParams.has("refreshToken")).toBe(true);
    await expectSquatterOut(account);
  });

  it("by a reset ticket used directly at POST /user/password: the new password is the owner's", async () => {
    const account = await squattedAccount();
    const ticket = new URL(await resetLink(account.email)).searchParams.get("ticket");
    expect((await api("/user/password", { body: { newPassword: NEW_PASSWORD, ticket } })).status).toBe(200);
    expect(await refreshWorks(account.refreshToken)).toBe(false);
    expect(await patWorks(account.pat)).toBe(false);
    expect(await userRow(account.userId)).toMatchObject({ emailVerified: 1, activeMfaType: null });
    expect(await passkeyIds(account.userId)).toEqual([]);
    expect((await signIn(account.email, NEW_PASSWORD)).status).toBe(200);
  });

  it("a verification link keeps what the sign-up set (the password, a sign-up passkey), ends the sessions, drops what came later", async () => {
    const { email, session } = await signUp(uniqueEmail("verify-keeps"));
    const userId = session.user.id;
    const created = (await env.DB.prepare("SELECT created_at AS createdAt FROM users WHERE id = ?").bind(userId).first<{ createdAt: number }>())!.createdAt;
    const signUpPasskey = await addPasskeyRow(userId, created);
    await addPasskeyRow(userId, created + 1000);
    const landed = await follow(await verificationLink(email));
    expect(landed.searchParams.get("type")).toBe("emailVerify");
    expect(landed.searchParams.has("refreshToken")).toBe(true);
    expect(await refreshWorks(session.refreshToken)).toBe(false);
    expect((await signIn(email)).status).toBe(200);
    expect(await passkeyIds(userId)).toEqual([signUpPasskey]);
  });

  it("a verification link does not keep a password changed after the sign-up", async () => {
    const { email, session } = await signUp(uniqueEmail("verify-changed"));
    expect((await api("/user/password", { token: session.accessToken, body: { newPassword: NEW_PASSWORD } })).status).toBe(200);
    await follow(await verificationLink(email));
    expect((await signIn(email, NEW_PASSWORD)).status).toBe(401);
    expect((await userRow(session.user.id))!.passwordHash).toBeNull();
  });

  it("an account whose address is already proven keeps its sessions and credentials at the next link", async () => {
    const { email, session } = await signUp(uniqueEmail("proven"));
    await markEmailVerified(session.user.id);
    const pat = await createPat(session.accessToken);
    await follow(await magicLink(email));
    expect(await refreshWorks(session.refreshToken)).toBe(true);
    expect(await patWorks(pat)).toBe(true);
    expect((await signIn(email)).status).toBe(200);
  });

  it("the same for a phone number: the first SMS code ends what was set up before it", async () => {
    // An account holding a number it never proved (imported, say), with a password and a session.
    const { email, session } = await signUp(uniqueEmail("phone-squatted"));
    const phoneNumber = `+1555${String(Math.floor(Math.random() * 10_000_000)).padStart(7, "0")}`;
    await env.DB.prepare("UPDATE users SET phone_number = ? WHERE id = ?").bind(phoneNumber, session.user.id).run();
    const pat = await createPat(session.accessToken);
    expect((await api("/signin/passwordless/sms", { body: { phoneNumber } })).status).toBe(200);
    let code: string | undefined;
    for (let attempt = 0; attempt < 100 && code === undefined; attempt++) {
      const mails = (await api("/_dev/outbox")).json.mails as Mail[];
      code = mails.find((mail) => mail.channel === "sms" && mail.to === phoneNumber)?.text.match(/\b(\d{6})\b/)?.[1];
      if (code === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const verified = await api("/signin/passwordless/sms/otp", { body: { phoneNumber, otp: code } });
    expect(verified.status, verified.text).toBe(200);
    expect(verified.json.session.user.phoneNumberVerified).toBe(true);
    expect(await refreshWorks(session.refreshToken)).toBe(false);
    expect(await patWorks(pat)).toBe(false);
    expect((await signIn(email, GOOD_PASSWORD)).status).toBe(401);
    expect(await userRow(session.user.id)).toMatchObject({ phoneVerified: 1, passwordHash: null });
  });
});
