/**
 * What test/global-setup/smtp-server.ts (Node) and the mail transport tests
 * (workerd) share: the credentials the SMTP servers accept and the shapes of
 * what the servers report they received. No imports, so workerd can load it.
 */
export const SMTP_USERNAME = "mailer";
export const SMTP_PASSWORD = "pa55-Wörd-never-logged";

export interface ReceivedMail {
  server: string;
  mailFrom: string;
  rcptTo: string[];
  /** Whether the session ran over TLS (implicit or after STARTTLS). */
  secure: boolean;
  /** The SASL mechanism used, or null without AUTH. */
  authMethod: string | null;
  raw: string;
  parsed: { subject: string; from: string; to: string; text: string; html: string; messageId: string; date: string | null };
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}
