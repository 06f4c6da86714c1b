/**
 * Development-only pages: the mail outbox as JSON (`GET /_dev/outbox`) and as a
 * page (`GET /_dev/mail`). Both answer 404 unless ENVIRONMENT=development and the
 * request came to a loopback host.
 */
import { Hono } from "hono";
import { isLoopbackHost } from "../config";
import type { AppEnv } from "../context";
import { AuthError } from "../errors";
import { listOutbox } from "../services/mail/dev-outbox";
import { escapeHtml } from "../services/mail/templates";

export const devRoutes = new Hono<AppEnv>()
  .use("/_dev/*", async (c, next) => {
    // The host check stands even if a deployment says `development` by mistake: a
    // deployed Worker is reached by its public hostname, never by a loopback one.
    const reachedLocally = isLoopbackHost(new URL(c.req.url).hostname);
    if (c.var.context.config.environment !== "development" || !reachedLocally) throw new AuthError("not-found");
    await next();
  })
  .get("/_dev/outbox", async (c) => {
    const { db, realm } = c.var.context;
    return c.json({ mails: await listOutbox(db, realm.id) });
  })
  .get("/_dev/mail", async (c) => {
    const { db, realm } = c.var.context;
    const mails = await listOutbox(db, realm.id);
    const items = mails
      .map(
        (mail) => `<article>
  <h2>${escapeHtml(mail.subject)}</h2>
  <p class="meta">to ${escapeHtml(mail.to)} · ${escapeHtml(mail.createdAt)}</p>
  ${mail.links.map((link) => `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>`).join("")}
  <details><summary>HTML</summary><iframe sandbox srcdoc="${escapeHtml(mail.html)}"></iframe></details>
  <details><summary>Text</summary><pre>${escapeHtml(mail.text)}</pre></details>
</article>`,
      )
      .join("\n");
    return c.html(`<!doctype html>
<html><head><meta charset="utf-8"><title>edgeauth dev outbox</title>
<style>body{font-family:system-ui,sans-serif;max-width:860px;margin:auto;padding:16px}article{border-bottom:1px solid #ddd;padding:8px 0}.meta{color:#666}iframe{width:100%;height:320px;border:1px solid #ddd}</style>
</head><body><h1>Outbox (${mails.length})</h1>${items || "<p>No mail yet.</p>"}</body></html>`);
  });
