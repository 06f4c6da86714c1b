/**
 * Realms through the admin API (README, "Admin API"): create, list, read, change
 * and delete. A realm's settings are overrides of the deployment's `[vars]`, by
 * setting name, checked by the same parser as `[vars]` (config.ts
 * `validateRealmSettings`): a realm can never hold a value the deployment would
 * refuse at startup.
 */
import { Hono, type MiddlewareHandler } from "hono";
import * as z from "zod/mini";
import { configFor, validateRealmSettings } from "../../config";
import { databaseOf, type AppEnv, type RequestContext } from "../../context";
import { findRealm, insertRealm, insertRealmReference, listRealms, markRealmDeleted, updateRealm, type RealmRecord } from "../../db/realms";
import { AuthError } from "../../errors";
import { readJsonBody } from "../../lib/body";
import { boundedString } from "../../lib/schema";
import { DEFAULT_REALM, REALM_ID_PATTERN, configForRealm, defaultRealm, forgetRealm } from "../../realm";
import { continueRealmDeletionsLogged } from "../../services/realm-deletion";
import { adminRealm, authenticateAdmin, requireAdminSecret, requireScope } from "./access";
import { recordAdminAction } from "./admin-action";
import type { AdminOperation } from "./operations";

const DISPLAY_NAME_MAX_LENGTH = 200;
/** Longer than any setting needs (a list of origins); a cap on what a row holds. */
const SETTING_VALUE_MAX_LENGTH = 4096;

const settingValue = z.string().check(z.maxLength(SETTING_VALUE_MAX_LENGTH));

export const createRealmBody = z.object({
  id: z.string().check(z.regex(REALM_ID_PATTERN, "must be a lowercase slug: a-z, 0-9 and -, at most 63 characters")),
  displayName: z.optional(boundedString(0, DISPLAY_NAME_MAX_LENGTH)),
  /** Setting name → value, as `[vars]` takes them. */
  settings: z.optional(z.record(z.string(), settingValue)),
});

export const updateRealmBody = z.object({
  displayName: z.optional(boundedString(0, DISPLAY_NAME_MAX_LENGTH)),
  /** Merged into the realm's settings; a setting set to null goes back to the deployment's value. */
  settings: z.optional(z.record(z.string(), z.nullable(settingValue))),
});

/**
 * What a realm's secret settings (a provider's `PROVIDER_<NAME>_CLIENT_SECRET`)
 * read as: any key of the realm may read the realm, whatever its scopes, so the
 * value never leaves; that it is set does.
 */
export const MASKED_SETTING_VALUE = "********";
const SECRET_REALM_SETTING = /_CLIENT_SECRET$/;

function shownSettings(settings: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).map(([name, value]) => [name, SECRET_REALM_SETTING.test(name) ? MASKED_SETTING_VALUE : value]));
}

function describeRealm(realm: RealmRecord) {
  return { id: realm.id, displayName: realm.displayName, settings: shownSettings(realm.settings), createdAt: new Date(realm.createdAt).toISOString() };
}

function checkSettings(env: Env, settings: Record<string, string>): void {
  // A read-modify-write of the masked answer would store the mask as the secret.
  const masked = Object.keys(settings).filter((name) => SECRET_REALM_SETTING.test(name) && settings[name] === MASKED_SETTING_VALUE);
  if (masked.length > 0) throw new AuthError("invalid-realm-settings", `${masked.join(", ")}: send the secret itself, or leave the setting out to keep it`);
  const checked = validateRealmSettings(env, settings);
  if (!checked.ok) throw new AuthError("invalid-realm-settings", checked.problem);
}

/** Reading one realm: the admin secret, or any key of that realm (secret settings are masked). */
const requireKeyOfRealm: MiddlewareHandler<AppEnv> = async (c, next) => {
  const admin = c.var.admin;
  if (admin?.type === "admin-key" && admin.realm !== c.var.context.realm.id) {
    throw new AuthError("admin-forbidden", `the key belongs to realm ${admin.realm}`);
  }
  return next();
};

/** The default realm's log, the deployment's: a realm's actions about itself would go with its rows. */
function deploymentLog(context: RequestContext): RequestContext {
  const config = configFor(context.env);
  return { ...context, realm: defaultRealm(config), config, db: databaseOf(context.env, config, context.deploymentDb) };
}

/**
 * Settings that hold only from a realm's creation: `DATABASE` places its rows,
 * which would stay behind in the old database if it changed.
 */
const CREATION_ONLY_SETTINGS = ["DATABASE"];

export const adminRealmRoutes = new Hono<AppEnv>()
  .post("/admin/realms", authenticateAdmin, requireAdminSecret, async (c) => {
    const body = await readJsonBody(c.req.raw, createRealmBody);
    const context = c.var.context;
    if (body.id === DEFAULT_REALM) throw new AuthError("realm-already-exists", DEFAULT_REALM);
    const settings = body.settings ?? {};
    checkSettings(c.env, settings);
    const realm: RealmRecord = { id: body.id, displayName: body.displayName ?? "", settings, createdAt: Date.now() };
    // A realm still being deleted keeps its id until its rows are gone.
    if (!(await insertRealm(context.deploymentDb, realm))) throw new AuthError("realm-already-exists", body.id);
    const realmDb = databaseOf(context.env, configForRealm(context.env, context.config, { id: realm.id, issuer: "", overrides: settings }), context.deploymentDb);
    if (realmDb !== context.deploymentDb) await insertRealmReference(realmDb, realm.id, realm.createdAt);
    forgetRealm(realm.id);
    recordAdminAction(c, "realm.create", { realm: realm.id, settings: Object.keys(settings) }, deploymentLog(context));
    return c.json(describeRealm(realm), 201);
  })
  .get("/admin/realms", authenticateAdmin, requireAdminSecret, async (c) => {
    return c.json({ realms: (await listRealms(c.var.context.deploymentDb)).map(describeRealm) });
  })
  .get("/admin/realms/:realm", authenticateAdmin, adminRealm, requireKeyOfRealm, async (c) => {
    const realm = await findRealm(c.var.context.deploymentDb, c.var.context.realm.id);
    if (realm === null) throw new AuthError("not-found");
    return c.json(describeRealm(realm));
  })
  .patch("/admin/realms/:realm", authenticateAdmin, adminRealm, requireScope("realm:write"), async (c) => {
    const body = await readJsonBody(c.req.raw, updateRealmBody);
    const context = c.var.context;
    const current = await findRealm(context.deploymentDb, context.realm.id);
    if (current === null) throw new AuthError("not-found");
    let settings: Record<string, string> | undefined;
    if (body.settings !== undefined) {
      if (current.id === DEFAULT_REALM) {
        throw new AuthError("invalid-realm-settings", "the default realm's settings are the deployment's [vars]; change them there");
      }
      const fixed = CREATION_ONLY_SETTINGS.filter((name) => name in body.settings! && body.settings![name] !== current.settings[name]);
      if (fixed.length > 0) throw new AuthError("invalid-realm-settings", `${fixed.join(", ")}: set only when the realm is created`);
      settings = { ...current.settings };
      for (const [name, value] of Object.entries(body.settings)) {
        if (value === null) delete settings[name];
        else settings[name] = value;
      }
      checkSettings(c.env, settings);
    }
    if (!(await updateRealm(context.deploymentDb, current.id, { displayName: body.displayName, settings }))) throw new AuthError("not-found");
    // This isolate runs the realm with its new settings at once; others within REALM_CACHE_SECONDS.
    forgetRealm(current.id);
    recordAdminAction(c, "realm.update", { realm: current.id, settings: Object.keys(body.settings ?? {}) });
    return c.json(describeRealm({ ...current, displayName: body.displayName ?? current.displayName, settings: settings ?? current.settings }));
  })
  .delete("/admin/realms/:realm", authenticateAdmin, requireAdminSecret, adminRealm, async (c) => {
    const context = c.var.context;
    const id = context.realm.id;
    if (id === DEFAULT_REALM) throw new AuthError("default-realm-protected");
    if (!(await markRealmDeleted(context.deploymentDb, id, Date.now()))) throw new AuthError("not-found");
    forgetRealm(id);
    recordAdminAction(c, "realm.delete", { realm: id }, deploymentLog(context));
    // Its rows and keys go in the background; the daily purge resumes an interrupted run.
    context.waitUntil(continueRealmDeletionsLogged(context.env, context.deploymentDb));
    return c.json({ id, status: "deleting" }, 202);
  });

export const realmOperations: AdminOperation[] = [
  {
    method: "post",
    path: "/admin/realms",
    summary: "Create a realm",
    access: "admin-secret",
    body: createRealmBody,
    response: { status: 201, description: "The realm: `{ id, displayName, settings, createdAt }`" },
  },
  {
    method: "get",
    path: "/admin/realms",
    summary: "List the realms, the default one first",
    access: "admin-secret",
    response: { status: 200, description: "`{ realms: [{ id, displayName, settings, createdAt }] }`" },
  },
  {
    method: "get",
    path: "/admin/realms/{realm}",
    summary: "Read a realm",
    access: "realm-key",
    response: { status: 200, description: "The realm: `{ id, displayName, settings, createdAt }`" },
  },
  {
    method: "patch",
    path: "/admin/realms/{realm}",
    summary: "Rename a realm or change its settings (merged; null removes an override)",
    access: "realm:write",
    body: updateRealmBody,
    response: { status: 200, description: "The realm as changed" },
  },
  {
    method: "delete",
    path: "/admin/realms/{realm}",
    summary: "Delete a realm: its routes answer 404 at once, its users, data and keys are removed in the background",
    access: "admin-secret",
    response: { status: 202, description: "`{ id, status: \"deleting\" }`" },
  },
];
