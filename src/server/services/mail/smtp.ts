/**
 * An SMTP submission client over `cloudflare:sockets` (RFC 5321), one
 * connection per mail: EHLO, STARTTLS (RFC 3207) or implicit TLS (RFC 8314),
 * AUTH PLAIN or LOGIN (RFC 4954), one envelope, DATA, QUIT.
 *
 * Errors name the step and the server's reply code, never the reply text: a
 * server may echo the command it refuses, and AUTH commands carry the password.
 */
import { connect as connectSocket } from "cloudflare:sockets";
import type { Mailer } from "../mailer";
import { buildMimeMessage, parseMailbox } from "./mime";

/** Bounds the whole conversation, connect to QUIT, well inside a `waitUntil`. */
const DEFAULT_TIMEOUT_MS = 30_000;
/** A Worker has no host name of its own; an address literal is valid EHLO syntax (RFC 5321 §4.1.3). */
const DEFAULT_HELO_NAME = "[127.0.0.1]";

const encoder = new TextEncoder();

export interface SmtpOptions {
  host: string;
  port: number;
  /**
   * `starttls` (port 587) upgrades before AUTH and fails if the server does not
   * offer it; `tls` (port 465) is TLS from the first byte; `none` is plain text,
   * for a relay on a private network only.
   */
  security: "starttls" | "tls" | "none";
  /** With a username, AUTH is required: PLAIN if offered, else LOGIN. */
  username?: string;
  password?: string;
  /** `Name <address>` or a bare address; the envelope sender is the address. */
  from: string;
  /** The EHLO name; defaults to `[127.0.0.1]`. */
  heloName?: string;
  /** For the whole exchange; defaults to 30 seconds. */
  timeoutMs?: number;
  /**
   * Opens the TCP connection; defaults to `connect` from `cloudflare:sockets`.
   * A service binding's `connect` routes it elsewhere (tests use one that trusts
   * a private certificate authority).
   */
  connect?: (address: SocketAddress, options: SocketOptions) => Socket;
}

/** A refusal from the server: the step (`RCPT`, `AUTH`, ...) and the reply code. */
export class SmtpError extends Error {
  override readonly name = "SmtpError";

  constructor(
    readonly step: string,
    readonly code: number,
  ) {
    super(`SMTP ${step} was refused with ${code}`);
  }
}

interface Reply {
  code: number;
  lines: string[];
}

/**
 * A {@link Mailer} that delivers each message through an SMTP submission server.
 *
 * @example
 * const mailer = createSmtpMailer({ host: "smtp.example.com", port: 587, security: "starttls",
 *   username: "apikey", password: env.SMTP_PASSWORD, from: "edgeauth <no-reply@example.com>" });
 * await mailer.send({ to: "ada@example.com", subject: "Hi", text: "Hello", html: "<p>Hello</p>" });
 */
export function createSmtpMailer(options: SmtpOptions): Mailer {
  const from = parseMailbox(options.from);
  return {
    async send(message) {
      const to = parseMailbox(message.to).address;
      const data = toDataPayload(buildMimeMessage(from, message));
      const session = SmtpSession.open(options);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`SMTP exchange with ${options.host}:${options.port} timed out after ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([deliver(session, options, from.address, to, data), timeout]);
      } finally {
        if (timer !== undefined) clearTimeout(timer);
        await session.close();
      }
    },
  };
}

async function deliver(session: SmtpSession, options: SmtpOptions, from: string, to: string, data: string): Promise<void> {
  await session.opened(options.host, options.port);
  await session.expect("greeting", 220);
  let extensions = await session.hello(options.heloName ?? DEFAULT_HELO_NAME);
  if (options.security === "starttls") {
    // Never fall back to plain text: that is the downgrade STARTTLS stripping relies on.
    if (!extensions.has("STARTTLS")) throw new Error("SMTP server does not offer STARTTLS");
    await session.command("STARTTLS", "STARTTLS", 220);
    session.upgrade();
    extensions = await session.hello(options.heloName ?? DEFAULT_HELO_NAME);
  }
  if (options.username !== undefined) await authenticate(session, extensions, options.username, options.password ?? "");
  await session.command(`MAIL FROM:<${from}>`, "MAIL", 250);
  await session.command(`RCPT TO:<${to}>`, "RCPT", 250, 251);
  await session.command("DATA", "DATA", 354);
  await session.send(data, "DATA", 250);
  // The mail is accepted once DATA is; a failed goodbye changes nothing.
  await session.command("QUIT", "QUIT", 221).catch(() => undefined);
}

async function authenticate(session: SmtpSession, extensions: Map<string, string[]>, username: string, password: string): Promise<void> {
  const mechanisms = extensions.get("AUTH") ?? [];
  if (mechanisms.includes("PLAIN")) {
    await session.command(`AUTH PLAIN ${base64(`\0${username}\0${password}`)}`, "AUTH", 235);
  } else if (mechanisms.includes("LOGIN")) {
    await session.command("AUTH LOGIN", "AUTH", 334);
    await session.command(base64(username), "AUTH", 334);
    await session.command(base64(password), "AUTH", 235);
  } else {
    throw new Error(`SMTP server offers no supported AUTH mechanism (PLAIN, LOGIN)${mechanisms.length ? `, only ${mechanisms.join(" ")}` : ""}`);
  }
}

/** RFC 5321 §4.5.2 dot-stuffing over CRLF lines, then the end-of-data line. */
function toDataPayload(message: string): string {
  const lines = message.replace(/\r\n|\r|\n/g, "\r\n").replace(/\r\n$/, "");
  return `${lines.replace(/^\./gm, "..")}\r\n.\r\n`;
}

function base64(text: string): string {
  return btoa(String.fromCharCode(...encoder.encode(text)));
}

/** One connection and its reply parser. */
class SmtpSession {
  #socket: Socket;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #decoder = new TextDecoder();
  #buffer = "";
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.#reader = socket.readable.getReader();
    this.#writer = socket.writable.getWriter();
  }

  static open(options: SmtpOptions): SmtpSession {
    const connect = options.connect ?? connectSocket;
    const secureTransport = { starttls: "starttls", tls: "on", none: "off" }[options.security];
    return new SmtpSession(connect({ hostname: options.host, port: options.port }, { secureTransport, allowHalfOpen: false }));
  }

  async opened(host: string, port: number): Promise<void> {
    try {
      await this.#socket.opened;
    } catch (error) {
      throw new Error(`SMTP connection to ${host}:${port} failed`, { cause: error });
    }
  }

  /** EHLO, or HELO from a server that does not know it; the extensions it announced, keyword → parameters. */
  async hello(name: string): Promise<Map<string, string[]>> {
    await this.#write(`EHLO ${name}\r\n`);
    const reply = await this.#read("EHLO");
    if (reply.code !== 250) {
      await this.command(`HELO ${name}`, "HELO", 250);
      return new Map();
    }
    // RFC 4954 §4's keyword, and the "AUTH=LOGIN" spelling some older servers still send.
    return new Map(
      reply.lines.slice(1).map((line) => {
        const [keyword = "", ...parameters] = line.toUpperCase().split(/[ =]/);
        return [keyword, parameters.filter(Boolean)];
      }),
    );
  }

  async expect(step: string, ...codes: number[]): Promise<Reply> {
    const reply = await this.#read(step);
    if (!codes.includes(reply.code)) throw new SmtpError(step, reply.code);
    return reply;
  }

  async command(line: string, step: string, ...codes: number[]): Promise<Reply> {
    await this.#write(`${line}\r\n`);
    return this.expect(step, ...codes);
  }

  async send(data: string, step: string, ...codes: number[]): Promise<Reply> {
    await this.#write(data);
    return this.expect(step, ...codes);
  }

  /** Swaps the plain streams for TLS ones (after the server's 220 to STARTTLS). */
  upgrade(): void {
    this.#reader.releaseLock();
    this.#writer.releaseLock();
    // The certificate is checked against the host given to connect().
    this.#socket = this.#socket.startTls();
    this.#reader = this.#socket.readable.getReader();
    this.#writer = this.#socket.writable.getWriter();
    this.#buffer = "";
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#socket.close().catch(() => undefined);
  }

  async #write(text: string): Promise<void> {
    await this.#writer.write(encoder.encode(text));
  }

  /** One reply, however many lines (RFC 5321 §4.2.1: "250-" continues, "250 " ends). */
  async #read(step: string): Promise<Reply> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.#readLine(step);
      const match = /^(\d{3})([ -]|$)(.*)$/.exec(line);
      if (!match) throw new Error(`SMTP ${step}: malformed reply from the server`);
      lines.push(match[3]!);
      if (match[2] !== "-") return { code: Number(match[1]), lines };
    }
  }

  async #readLine(step: string): Promise<string> {
    for (;;) {
      const end = this.#buffer.indexOf("\n");
      if (end !== -1) {
        const line = this.#buffer.slice(0, end).replace(/\r$/, "");
        this.#buffer = this.#buffer.slice(end + 1);
        return line;
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new Error(`SMTP server closed the connection during ${step}`);
      this.#buffer += this.#decoder.decode(value, { stream: true });
    }
  }
}
