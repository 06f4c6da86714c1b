/**
 * Real mail servers on loopback for the transport tests (runs in Node, once per
 * run): `smtp-server` instances for the SMTP client, and one HTTP server that
 * plays a mail API and reports what everything received, since the tests run
 * inside workerd and cannot share memory with this process.
 *
 * Ports and the TLS certificate reach the tests through `provide`/`inject`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket as TcpSocket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { SMTPServer, type SMTPServerOptions } from "smtp-server";
import type { TestProject } from "vitest/node";
import { SMTP_PASSWORD, SMTP_USERNAME, type ReceivedMail, type ReceivedRequest } from "./mail-fixtures";

declare module "vitest" {
  export interface ProvidedContext {
    smtpPorts: { plain: number; loginOnly: number; implicitTls: number; silent: number };
    /** The CA that signed the servers' certificate (PEM). */
    smtpCaCertificate: string;
    mailHttpPort: number;
  }
}

const mails: ReceivedMail[] = [];
const requests: ReceivedRequest[] = [];

/**
 * A private CA and a server certificate for localhost and 127.0.0.1 that it
 * signed, made fresh for each run so no key lives in the repo.
 */
function makeCertificates(): { ca: string; key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "edgeauth-smtp-"));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    openssl("req", "-x509", ...ecKey, "-days", "2", "-subj", "/CN=edgeauth test CA", "-keyout", file("ca.key"), "-out", file("ca.pem"));
    openssl("req", "-new", ...ecKey, "-subj", "/CN=localhost", "-keyout", file("key.pem"), "-out", file("server.csr"));
    writeFileSync(file("server.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n");
    openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial",
      "-days", "2", "-extfile", file("server.ext"), "-out", file("cert.pem"));
    return { ca: readFileSync(file("ca.pem"), "utf8"), key: readFileSync(file("key.pem"), "utf8"), cert: readFileSync(file("cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function startSmtpServer(name: string, options: SMTPServerOptions): Promise<{ server: SMTPServer; port: number }> {
  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USERNAME && auth.password === SMTP_PASSWORD) return callback(null, { user: { username: auth.username, method: auth.method } });
      callback(Object.assign(new Error("Invalid username or password"), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith("reject")) {
        return callback(Object.assign(new Error("5.1.1 Mailbox unavailable"), { responseCode: 550 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        simpleParser(raw).then(
          (parsed) => {
            mails.push({
              server: name,
              mailFrom: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
              rcptTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
              secure: session.secure,
              authMethod: (session.user as { method?: string } | undefined)?.method ?? null,
              raw,
              parsed: {
                subject: parsed.subject ?? "",
                from: parsed.from?.text ?? "",
                to: Array.isArray(parsed.to) ? parsed.to.map((to) => to.text).join(", ") : (parsed.to?.text ?? ""),
                text: parsed.text ?? "",
                html: typeof parsed.html === "string" ? parsed.html : "",
                messageId: parsed.messageId ?? "",
                date: parsed.date?.toISOString() ?? null,
              },
            });
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
    ...options,
  });
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.server.address() as AddressInfo).port }));
  });
}

/** Accepts connections and never says a word: for the client's timeout. */
function startSilentServer(): Promise<{ server: TcpServer; sockets: Set<TcpSocket>; port: number }> {
  const sockets = new Set<TcpSocket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, sockets, port: (server.address() as AddressInfo).port })));
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * GET /smtp?to=ADDRESS: the mails the SMTP servers received for ADDRESS.
 * GET /api?to=ADDRESS: the mail API requests whose body names ADDRESS.
 * Any other request is a mail or SMS API call: recorded, answered with `?status=`
 * or a `/status/NNN/` path prefix (default 200).
 */
function startHttpServer(): Promise<{ server: HttpServer; port: number }> {
  const server = createHttpServer(async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const to = url.searchParams.get("to") ?? "";
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    };
    if (request.method === "GET" && url.pathname === "/smtp") return reply(200, mails.filter((mail) => mail.rcptTo.includes(to)));
    if (request.method === "GET" && url.pathname === "/api") {
      return reply(200, requests.filter((recorded) => JSON.stringify(recorded.body).includes(to)));
    }
    requests.push({ method: request.method ?? "", path: url.pathname, headers: request.headers, body: await readBody(request) });
    // `?status=NNN`, or a `/status/NNN/` path prefix for clients that build their own paths (SMS).
    const status = Number(url.searchParams.get("status") ?? /^\/status\/(\d{3})\//.exec(url.pathname)?.[1] ?? 200);
    reply(status, status < 300 ? { id: `message-${requests.length}` } : { message: `rejected ${JSON.stringify(requests.at(-1)?.body)}` });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port })));
}

export default async function setup(project: TestProject) {
  const { ca, key, cert } = makeCertificates();
  // Offers STARTTLS and AUTH PLAIN/LOGIN; the client decides whether to upgrade.
  const plain = await startSmtpServer("plain", { key, cert, authMethods: ["PLAIN", "LOGIN"] });
  // No PLAIN, and no STARTTLS: a client told to use STARTTLS must refuse it.
  const loginOnly = await startSmtpServer("login-only", { authMethods: ["LOGIN"], hideSTARTTLS: true });
  const implicitTls = await startSmtpServer("implicit-tls", { key, cert, secure: true, authMethods: ["PLAIN", "LOGIN"] });
  const silent = await startSilentServer();
  const http = await startHttpServer();

  project.provide("smtpPorts", { plain: plain.port, loginOnly: loginOnly.port, implicitTls: implicitTls.port, silent: silent.port });
  project.provide("smtpCaCertificate", ca);
  project.provide("mailHttpPort", http.port);

  return async () => {
    for (const socket of silent.sockets) socket.destroy();
    await Promise.all([
      ...[plain, loginOnly, implicitTls].map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))),
      new Promise<void>((resolve) => silent.server.close(() => resolve())),
      new Promise<void>((resolve) => {
        http.server.closeAllConnections();
        http.server.close(() => resolve());
      }),
    ]);
  };
}
