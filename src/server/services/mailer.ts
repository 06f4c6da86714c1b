/**
 * Outbound mail behind one method (style habit 10). The transports (dev outbox,
 * SMTP over `cloudflare:sockets`, HTTP mail APIs, the `send_email` binding) and
 * the templates arrive with the email issue; routes send with `waitUntil` and log
 * failures without the message's secrets.
 */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
}
