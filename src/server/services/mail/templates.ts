/**
 * Mail templates: one per kind, HTML and plain text, per locale with `en` as the
 * fallback. Operators override any of them without forking by inserting rows into
 * the `email_templates` table (see the README); a row wins over the built-in one.
 *
 * Placeholders are `{{name}}`. In HTML every value is escaped; in the subject and
 * text they are inserted as they are.
 */
import { findTemplateOverrides } from "../../db/email-templates";
import type { Database } from "../../db/users";

export type MailKind = "emailVerify" | "emailConfirmChange" | "signinPasswordless" | "passwordReset" | "signinOtp";

export interface MailTemplate {
  subject: string;
  text: string;
  html: string;
}

/** Values a template may use. */
export interface MailVariables {
  displayName: string;
  email: string;
  /** The action link (tickets), absent for codes. */
  link?: string;
  /** The one-time code, absent for links. */
  code?: string;
  /** How long the link or code stays valid. */
  ttlMinutes: number;
}

const layout = (body: string) =>
  `<!doctype html><html><body style="font-family:system-ui,sans-serif;line-height:1.5;max-width:560px;margin:auto;padding:24px">${body}</body></html>`;
const button = (label: string) =>
  `<p><a href="{{link}}" style="display:inline-block;padding:10px 18px;background:#1f6feb;color:#fff;text-decoration:none;border-radius:6px">${label}</a></p><p style="color:#555;font-size:13px">Or open this link: {{link}}</p>`;

const BUILT_IN: Record<string, Record<MailKind, MailTemplate>> = {
  en: {
    emailVerify: {
      subject: "Verify your email",
      text: "Hello {{displayName}},\n\nConfirm your email address by opening this link:\n{{link}}\n\nThe link works once and expires in {{ttlMinutes}} minutes.",
      html: layout(`<p>Hello {{displayName}},</p><p>Confirm your email address.</p>${button("Verify email")}<p>The link works once and expires in {{ttlMinutes}} minutes.</p>`),
    },
    emailConfirmChange: {
      subject: "Confirm your new email address",
      text: "Hello {{displayName}},\n\nConfirm {{email}} as your new email address by opening this link:\n{{link}}\n\nIf you did not ask for this, ignore this mail.",
      html: layout(`<p>Hello {{displayName}},</p><p>Confirm <b>{{email}}</b> as your new email address.</p>${button("Confirm email")}<p>If you did not ask for this, ignore this mail.</p>`),
    },
    signinPasswordless: {
      subject: "Your sign-in link",
      text: "Hello {{displayName}},\n\nSign in by opening this link:\n{{link}}\n\nThe link works once and expires in {{ttlMinutes}} minutes. If you did not ask for it, ignore this mail.",
      html: layout(`<p>Hello {{displayName}},</p>${button("Sign in")}<p>The link works once and expires in {{ttlMinutes}} minutes. If you did not ask for it, ignore this mail.</p>`),
    },
    passwordReset: {
      subject: "Reset your password",
      text: "Hello {{displayName}},\n\nChoose a new password by opening this link:\n{{link}}\n\nThe link works once and expires in {{ttlMinutes}} minutes. If you did not ask for it, ignore this mail.",
      html: layout(`<p>Hello {{displayName}},</p><p>Choose a new password.</p>${button("Reset password")}<p>The link works once and expires in {{ttlMinutes}} minutes. If you did not ask for it, ignore this mail.</p>`),
    },
    signinOtp: {
      subject: "Your sign-in code: {{code}}",
      text: "Hello {{displayName}},\n\nYour sign-in code is {{code}}.\n\nIt expires in {{ttlMinutes}} minutes. If you did not ask for it, ignore this mail.",
      html: layout(`<p>Hello {{displayName}},</p><p>Your sign-in code is</p><p style="font-size:28px;letter-spacing:4px"><b>{{code}}</b></p><p>It expires in {{ttlMinutes}} minutes. If you did not ask for it, ignore this mail.</p>`),
    },
  },
  fr: {
    emailVerify: {
      subject: "Vérifiez votre adresse e-mail",
      text: "Bonjour {{displayName}},\n\nConfirmez votre adresse e-mail en ouvrant ce lien :\n{{link}}\n\nLe lien ne sert qu'une fois et expire dans {{ttlMinutes}} minutes.",
      html: layout(`<p>Bonjour {{displayName}},</p><p>Confirmez votre adresse e-mail.</p>${button("Vérifier l'adresse")}<p>Le lien ne sert qu'une fois et expire dans {{ttlMinutes}} minutes.</p>`),
    },
    emailConfirmChange: {
      subject: "Confirmez votre nouvelle adresse e-mail",
      text: "Bonjour {{displayName}},\n\nConfirmez {{email}} comme nouvelle adresse en ouvrant ce lien :\n{{link}}\n\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message.",
      html: layout(`<p>Bonjour {{displayName}},</p><p>Confirmez <b>{{email}}</b> comme nouvelle adresse.</p>${button("Confirmer")}<p>Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.</p>`),
    },
    signinPasswordless: {
      subject: "Votre lien de connexion",
      text: "Bonjour {{displayName}},\n\nConnectez-vous en ouvrant ce lien :\n{{link}}\n\nLe lien ne sert qu'une fois et expire dans {{ttlMinutes}} minutes.",
      html: layout(`<p>Bonjour {{displayName}},</p>${button("Se connecter")}<p>Le lien ne sert qu'une fois et expire dans {{ttlMinutes}} minutes.</p>`),
    },
    passwordReset: {
      subject: "Réinitialisez votre mot de passe",
      text: "Bonjour {{displayName}},\n\nChoisissez un nouveau mot de passe en ouvrant ce lien :\n{{link}}\n\nLe lien ne sert qu'une fois et expire dans {{ttlMinutes}} minutes.",
      html: layout(`<p>Bonjour {{displayName}},</p>${button("Nouveau mot de passe")}<p>Le lien ne sert qu'une fois et expire dans {{ttlMinutes}} minutes.</p>`),
    },
    signinOtp: {
      subject: "Votre code de connexion : {{code}}",
      text: "Bonjour {{displayName}},\n\nVotre code de connexion est {{code}}.\n\nIl expire dans {{ttlMinutes}} minutes.",
      html: layout(`<p>Bonjour {{displayName}},</p><p>Votre code de connexion est</p><p style="font-size:28px;letter-spacing:4px"><b>{{code}}</b></p><p>Il expire dans {{ttlMinutes}} minutes.</p>`),
    },
  },
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function fill(template: string, variables: MailVariables, escape: (value: string) => string): string {
  return template.replace(/\{\{(\w+)\}\}/g, (placeholder, name: string) => {
    const value = (variables as unknown as Record<string, unknown>)[name];
    return value === undefined ? "" : escape(String(value));
  });
}

/** The template for `kind` in `locale`: an operator's row, else the built-in one, each falling back to `en`. */
export async function findTemplate(db: Database, realm: string, kind: MailKind, locale: string): Promise<MailTemplate> {
  const overrides = await findTemplateOverrides(db, realm, kind, [locale, "en"]);
  const override = overrides.find((row) => row.locale === locale) ?? overrides.find((row) => row.locale === "en");
  if (override !== undefined) return override;
  return (BUILT_IN[locale] ?? BUILT_IN.en!)[kind];
}

export function renderTemplate(template: MailTemplate, variables: MailVariables): MailTemplate {
  const raw = (value: string) => value;
  return {
    subject: fill(template.subject, variables, raw).replace(/[\r\n]+/g, " "),
    text: fill(template.text, variables, raw),
    html: fill(template.html, variables, escapeHtml),
  };
}
