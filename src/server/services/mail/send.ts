/**
 * Sending a mail from a route: render the template, pick the configured
 * transport, send in `waitUntil` so the response does not wait on delivery, and
 * log a failure without the mail's content (it carries links and codes).
 */
import type { RequestContext } from "../../context";
import type { Mailer } from "../mailer";
import { createDevOutboxMailer } from "./dev-outbox";
import { createHttpApiMailer } from "./http-api";
import { createSendEmailBindingMailer } from "./send-email-binding";
import { createSmtpMailer } from "./smtp";
import { findTemplate, renderTemplate, type MailKind, type MailVariables } from "./templates";

const dropMail: Mailer = {
  async send() {
    console.warn("mail not sent: no MAIL_TRANSPORT is configured");
  },
};

/** The transport MAIL_TRANSPORT chose (config.ts checked that its settings are complete). */
export function mailerFor(context: RequestContext): Mailer {
  const { config, db, env, realm } = context;
  const { transport, from, smtp, httpApi } = config.mail;
  switch (transport) {
    case "dev":
      return createDevOutboxMailer(db, realm.id);
    case "smtp":
      return smtp === null ? dropMail : createSmtpMailer({ ...smtp, from });
    case "http":
      return httpApi === null ? dropMail : createHttpApiMailer({ ...httpApi, from });
    case "binding":
      if (env.SEND_EMAIL === undefined) throw new Error("MAIL_TRANSPORT is binding but no SEND_EMAIL binding exists");
      return createSendEmailBindingMailer(env.SEND_EMAIL, from);
    case "none":
      return dropMail;
  }
}

export interface OutgoingMail {
  kind: MailKind;
  to: string;
  locale: string;
  variables: MailVariables;
}

/** Renders and sends; throws on failure. */
export async function deliverMail(context: RequestContext, mail: OutgoingMail): Promise<void> {
  const template = await findTemplate(context.db, context.realm.id, mail.kind, mail.locale);
  const rendered = renderTemplate(template, mail.variables);
  await mailerFor(context).send({ to: mail.to, ...rendered });
}

/** Queues `work` (ticket writes and the mail) after the response; failures are logged, never thrown. */
export function sendInBackground(context: RequestContext, kind: MailKind, work: () => Promise<void>): void {
  context.waitUntil(
    work().catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : "unknown error";
      console.error(`mail "${kind}" failed: ${reason}`);
    }),
  );
}
