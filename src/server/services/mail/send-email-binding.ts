/**
 * Mail through Cloudflare's `send_email` binding (Email Routing): the binding
 * takes a raw MIME message whose From header matches the envelope sender and
 * which carries a Message-ID; {@link buildMimeMessage} writes both.
 */
import { EmailMessage } from "cloudflare:email";
import type { Mailer } from "../mailer";
import { buildMimeMessage, parseMailbox } from "./mime";

/**
 * A {@link Mailer} over a `send_email` binding. Which recipients it may reach
 * is set by the binding's configuration and the Cloudflare account, not here.
 *
 * @param from `Name <address>` or a bare address on a domain with Email Routing enabled
 * @example
 * // wrangler.toml: send_email = [{ name = "SEND_EMAIL" }]
 * const mailer = createSendEmailBindingMailer(env.SEND_EMAIL, "edgeauth <no-reply@example.com>");
 */
export function createSendEmailBindingMailer(binding: SendEmail, from: string): Mailer {
  const sender = parseMailbox(from);
  return {
    async send(message) {
      const to = parseMailbox(message.to).address;
      await binding.send(new EmailMessage(sender.address, to, buildMimeMessage(sender, message)));
    },
  };
}
