/**
 * `/admin/realms/{realm}/api-keys`: create, list and revoke the realm's admin API
 * keys (services/admin-api-keys.ts says what a key is and how one is checked).
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../../context";
import { insertAdminApiKey, listAdminApiKeys, revokeAdminApiKey, type AdminApiKeyRecord } from "../../db/admin-api-keys";
import { AuthError } from "../../errors";
import { sha256Hex } from "../../lib/crypto";
import { readJsonBody } from "../../lib/body";
import { boundedString } from "../../lib/schema";
import { ADMIN_API_KEY_PREFIX, ADMIN_SCOPES, newAdminApiKeySecret } from "../../services/admin-api-keys";
import { adminRealm, authenticateAdmin, requireScope } from "./access";
import { recordAdminAction } from "./admin-action";
import type { AdminOperation } from "./operations";

/** Characters of the secret after `eak_` kept in clear, to tell keys apart in a list. */
const LISTED_PREFIX_LENGTH = 8;

export const createApiKeyBody = z.object({
  name: boundedString(1, 100),
  scopes: z.array(z.enum(ADMIN_SCOPES)).check(z.minLength(1)),
  /** When the key stops working (ISO 8601, UTC); never when absent. */
  expiresAt: z.optional(z.iso.datetime()),
});

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function describeKey(key: AdminApiKeyRecord) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    createdAt: new Date(key.createdAt).toISOString(),
    expiresAt: isoOrNull(key.expiresAt),
    lastUsedAt: isoOrNull(key.lastUsedAt),
  };
}

export const adminApiKeyRoutes = new Hono<AppEnv>()
  .post("/admin/realms/:realm/api-keys", authenticateAdmin, adminRealm, requireScope("realm:write"), async (c) => {
    const body = await readJsonBody(c.req.raw, createApiKeyBody);
    const admin = c.var.admin;
    const scopes = [...new Set(body.scopes)];
    // A key hands on at most what it holds.
    if (admin?.type === "admin-key") {
      const missing = scopes.filter((scope) => !admin.scopes.includes(scope));
      if (missing.length > 0) throw new AuthError("admin-forbidden", `the key does not hold ${missing.join(", ")}`);
    }
    const now = Date.now();
    const expiresAt = body.expiresAt === undefined ? null : Date.parse(body.expiresAt);
    if (expiresAt !== null && expiresAt <= now) throw new AuthError("invalid-request", "expiresAt: must be in the future");
    const secret = newAdminApiKeySecret();
    const key: AdminApiKeyRecord = {
      id: crypto.randomUUID(),
      realm: c.var.context.realm.id,
      name: body.name,
      prefix: secret.slice(ADMIN_API_KEY_PREFIX.length, ADMIN_API_KEY_PREFIX.length + LISTED_PREFIX_LENGTH),
      scopes,
      createdAt: now,
      expiresAt,
      lastUsedAt: null,
    };
    await insertAdminApiKey(c.var.context.deploymentDb, { ...key, keyHash: await sha256Hex(secret) });
    recordAdminAction(c, "api-key.create", { keyId: key.id, scopes });
    // The only time the secret leaves: it is not stored.
    return c.json({ ...describeKey(key), key: secret }, 201);
  })
  .get("/admin/realms/:realm/api-keys", authenticateAdmin, adminRealm, requireScope("realm:write"), async (c) => {
    return c.json({ apiKeys: (await listAdminApiKeys(c.var.context.deploymentDb, c.var.context.realm.id)).map(describeKey) });
  })
  .delete("/admin/realms/:realm/api-keys/:id", authenticateAdmin, adminRealm, requireScope("realm:write"), async (c) => {
    const id = c.req.param("id");
    if (id.length > 64 || !(await revokeAdminApiKey(c.var.context.deploymentDb, c.var.context.realm.id, id, Date.now()))) {
      throw new AuthError("not-found");
    }
    recordAdminAction(c, "api-key.revoke", { keyId: id });
    return c.json("OK");
  });

export const apiKeyOperations: AdminOperation[] = [
  {
    method: "post",
    path: "/admin/realms/{realm}/api-keys",
    summary: "Create an admin API key of the realm; its secret is answered this once",
    access: "realm:write",
    body: createApiKeyBody,
    response: { status: 201, description: "`{ id, name, prefix, scopes, createdAt, expiresAt, lastUsedAt, key }`" },
  },
  {
    method: "get",
    path: "/admin/realms/{realm}/api-keys",
    summary: "List the realm's live admin API keys (never their secrets)",
    access: "realm:write",
    response: { status: 200, description: "`{ apiKeys: [{ id, name, prefix, scopes, createdAt, expiresAt, lastUsedAt }] }`" },
  },
  {
    method: "delete",
    path: "/admin/realms/{realm}/api-keys/{id}",
    summary: "Revoke an admin API key, at once",
    access: "realm:write",
    response: { status: 200, description: '`"OK"`' },
  },
];
