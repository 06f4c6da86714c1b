/**
 * The raw MIME message the SMTP and `send_email` transports put on the wire:
 * multipart/alternative (text, then HTML, RFC 2046 §5.1.4: the preferred part
 * last), UTF-8 bodies in quoted-printable so every line stays 7-bit and short,
 * and RFC 2047 encoded words for non-ASCII header text.
 */
import type { MailMessage } from "../mailer";

/** RFC 5322 §2.1.1: lines SHOULD stay within 78 characters. */
const MAX_HEADER_LINE_CHARS = 78;
/** RFC 2045 §6.7 rule 5: encoded lines are at most 76 characters, the soft break's "=" included. */
const MAX_QP_LINE_CHARS = 76;
/** Bytes per encoded word: 36 bytes are 48 base64 characters, a 60-character word that fits a folded line. */
const ENCODED_WORD_BYTES = 36;

const encoder = new TextEncoder();

/** A sender or recipient: the bare address (for the envelope) and an optional display name. */
export interface Mailbox {
  name?: string;
  address: string;
}

/**
 * Reads `Name <address>` or a bare address. Refuses anything that could break
 * out of a header line or an SMTP command (CR, LF, angle brackets, spaces).
 *
 * @example parseMailbox("edgeauth <no-reply@example.com>") // { name: "edgeauth", address: "no-reply@example.com" }
 */
export function parseMailbox(value: string): Mailbox {
  const named = /^\s*(.*?)\s*<([^<>]*)>\s*$/s.exec(value);
  const address = toAsciiAddress((named ? named[2]! : value).trim());
  const name = named?.[1]?.replace(/^"(.*)"$/s, "$1").replace(/\\(.)/gs, "$1");
  if (name !== undefined && /[\r\n]/.test(name)) throw new Error("invalid mailbox: line break in the display name");
  return name ? { name, address } : { address };
}

function toAsciiAddress(address: string): string {
  const at = address.lastIndexOf("@");
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (at <= 0 || local.includes("@") || /[\s<>()\[\]\\,;:"\x00-\x1f\x7f]/.test(local) || !/^[\p{L}\p{M}\p{N}.-]+$/u.test(domain)) {
    throw new Error("invalid mail address");
  }
  // A non-ASCII local part needs SMTPUTF8 (RFC 6531), which is not supported;
  // a non-ASCII domain has an ASCII form (IDNA), which URL parsing computes.
  if (/[^\x00-\x7f]/.test(local)) throw new Error("invalid mail address: non-ASCII local part");
  if (!/[^\x00-\x7f]/.test(domain)) return address;
  const ascii = new URL(`http://${domain}`).hostname;
  return `${local}@${ascii}`;
}

/**
 * The complete message, CRLF line endings, ready for SMTP DATA (before
 * dot-stuffing) or an `EmailMessage`.
 *
 * @param from the sender, as parsed by {@link parseMailbox}
 * @param now the Date header's time
 */
export function buildMimeMessage(from: Mailbox, message: MailMessage, now: Date = new Date()): string {
  const to = parseMailbox(message.to);
  const boundary = `=_edgeauth_${crypto.randomUUID().replaceAll("-", "")}`;
  const domain = from.address.slice(from.address.lastIndexOf("@") + 1);
  const headers = [
    `From: ${formatMailbox(from)}`,
    `To: ${formatMailbox(to)}`,
    encodeHeader("Subject", message.subject.replace(/\s*[\r\n]+\s*/g, " ")),
    `Date: ${formatDate(now)}`,
    `Message-ID: <${crypto.randomUUID()}@${domain}>`,
    "MIME-Version: 1.0",
    // "=_" cannot occur in quoted-printable text, so the boundary never collides with a body.
    `Content-Type: multipart/alternative;\r\n boundary="${boundary}"`,
  ];
  return [
    ...headers,
    "",
    `--${boundary}`,
    ...bodyPart("text/plain", message.text),
    `--${boundary}`,
    ...bodyPart("text/html", message.html),
    `--${boundary}--`,
    "",
  ].join("\r\n");
}

function bodyPart(type: string, content: string): string[] {
  return [`Content-Type: ${type}; charset=utf-8`, "Content-Transfer-Encoding: quoted-printable", "", encodeQuotedPrintable(content)];
}

function formatMailbox(mailbox: Mailbox): string {
  if (mailbox.name === undefined) return mailbox.address;
  return `${formatDisplayName(mailbox.name)} <${mailbox.address}>`;
}

function formatDisplayName(name: string): string {
  if (/[^\x20-\x7e]/.test(name)) return encodeWords(name).join(" ");
  // RFC 5322 §3.2.3: atext and spaces may stand bare; anything else is quoted.
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(name)) return name;
  return `"${name.replace(/(["\\])/g, "\\$1")}"`;
}

/** One header line, or encoded words folded over several when it is not short ASCII. */
function encodeHeader(name: string, value: string): string {
  const line = `${name}: ${value}`;
  if (!/[^\x20-\x7e]/.test(value) && line.length <= MAX_HEADER_LINE_CHARS) return line;
  return `${name}: ${encodeWords(value).join("\r\n ")}`;
}

/** RFC 2047 B-encoded words, split on character boundaries so no word holds half a UTF-8 sequence. */
function encodeWords(value: string): string[] {
  const words: string[] = [];
  let chunk: number[] = [];
  for (const character of value) {
    const bytes = encoder.encode(character);
    if (chunk.length + bytes.length > ENCODED_WORD_BYTES) {
      words.push(encodedWord(chunk));
      chunk = [];
    }
    chunk.push(...bytes);
  }
  if (chunk.length > 0 || words.length === 0) words.push(encodedWord(chunk));
  return words;
}

function encodedWord(bytes: number[]): string {
  return `=?UTF-8?B?${btoa(String.fromCharCode(...bytes))}?=`;
}

/** RFC 5322 §3.3, always in UTC: `Tue, 03 Nov 2026 09:05:00 +0000`. */
function formatDate(date: Date): string {
  return date.toUTCString().replace(/GMT$/, "+0000");
}

/** RFC 2045 §6.7, with every line break of the input as a hard CRLF break. */
function encodeQuotedPrintable(text: string): string {
  return text.split(/\r\n|\r|\n/).map(encodeQuotedPrintableLine).join("\r\n");
}

function encodeQuotedPrintableLine(line: string): string {
  const bytes = encoder.encode(line);
  const lines: string[] = [];
  let current = "";
  bytes.forEach((byte, index) => {
    // Rule 3: a space or tab that ends a line is encoded, since transports may strip it.
    const whitespace = (byte === 0x20 || byte === 0x09) && index < bytes.length - 1;
    const token =
      whitespace || (byte >= 0x21 && byte <= 0x7e && byte !== 0x3d)
        ? String.fromCharCode(byte)
        : `=${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    if (current.length + token.length > MAX_QP_LINE_CHARS - 1) {
      lines.push(`${current}=`);
      current = "";
    }
    current += token;
  });
  lines.push(current);
  return lines.join("\r\n");
}
