/**
 * The admin API's users of a realm (README, "Admin API: users and sessions"):
 * `GET|POST /admin/realms/{realm}/users`, `GET|PATCH|DELETE /admin/realms/{realm}/users/{id}`.
 * The user's sessions and impersonation are in ./user-sessions.ts, mounted here.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppContext, AppEnv } from "../../context";
import { deleteUser, listUsers, updateUser, type UserChange } from "../../db/admin-users";
import { isUniqueViolation, USER_EMAIL_UNIQUE_INDEX } from "../../db/unique-violation";
import { findUserByEmail, findUserByPhone, type UserWithRoles } from "../../db/users";
import { AuthError } from "../../errors";
import { readJsonBody } from "../../lib/body";
import { checkNewPassword, emailSchema, passwordSchema } from "../../lib/credentials";
import { normalizeE164 } from "../../lib/phone";
import { boundedString } from "../../lib/schema";
import { displayNameSchema, signUpOptionsSchema } from "../../lib/sign-up-options";
import { createAccount } from "../../services/accounts";
import { BCRYPT_MAX_COST, bcryptCost, isBcryptHash } from "../../services/bcrypt";
import { hashIterations } from "../../services/password";
import { isMemoryHardHash, parseMemoryHardHash } from "../../services/memory-hard-hashes";
import { passwordHasherFor } from "../../services/passwords";
import { adminRealm, authenticateAdmin, requireScope } from "./access";
import { adminUserResponse, auditAdminAction, requireUser, type AdminOperation } from "./user-helpers";
import { adminUserSessionOperations, adminUserSessionRoutes } from "./user-sessions";

/** Users per page when `limit` is not given, and the most a page may ask for. */
export const USER_PAGE_LIMIT_DEFAULT = 50;
export const USER_PAGE_LIMIT_MAX = 200;

const roleSchema = boundedString(1, 64);
const rolesSchema = z.array(roleSchema).check(z.maxLength(32));
const phoneNumberSchema = boundedString(1, 32);
const localeSchema = boundedString(2, 3);
const metadataSchema = signUpOptionsSchema.shape.metadata;

export const listUsersQuery = z.strictObject({
  /** Case-insensitive prefix of the email, display name or phone number. */
  search: z.optional(boundedString(1, 254)),
  role: z.optional(roleSchema),
  disabled: z.optional(z.enum(["true", "false"])),
  limit: z.optional(z.string().check(z.regex(/^\d{1,3}$/, "must be a whole number"))),
  /** `nextCursor` of the previous page. */
  cursor: z.optional(boundedString(1, 256)),
});

export const createUserBody = z.strictObject({
  email: z.optional(emailSchema),
  phoneNumber: z.optional(phoneNumberSchema),
  password: z.optional(passwordSchema),
  /** An imported hash: bcrypt (`$2a$`, `$2b$`, `$2y$`, cost 4..12), argon2id or scrypt PHC strings, or edgeauth's `pbkdf2-sha256$...`. */
  passwordHash: z.optional(boundedString(1, 512)),
  displayName: z.optional(displayNameSchema),
  locale: z.optional(localeSchema),
  roles: z.optional(rolesSchema),
  defaultRole: z.optional(roleSchema),
  metadata: metadataSchema,
  emailVerified: z.optional(z.boolean()),
  disabled: z.optional(z.boolean()),
});

export const updateUserBody = z.strictObject({
  email: z.optional(emailSchema),
  emailVerified: z.optional(z.boolean()),
  phoneNumber: z.optional(phoneNumberSchema),
  phoneNumberVerified: z.optional(z.boolean()),
  displayName: z.optional(displayNameSchema),
  locale: z.optional(localeSchema),
  roles: z.optional(rolesSchema),
  defaultRole: z.optional(roleSchema),
  metadata: metadataSchema,
  disabled: z.optional(z.boolean()),
  password: z.optional(passwordSchema),
});

function parseQuery<Schema extends z.ZodMiniType>(c: AppContext, schema: Schema): z.output<Schema> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new AuthError("invalid-request", issue === undefined ? "invalid query" : `${issue.path.join(".") || "query"}: ${issue.message}`);
  }
  return result.data;
}

// The cursor is the last listed id, base64url-encoded: opaque to clients, so the
// ordering can change later without breaking a documented format.
function encodeCursor(id: string): string {
  return btoa(id).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string): string {
  try {
    const id = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    if (/^[\w-]{1,128}$/.test(id)) return id;
  } catch {
    // Not base64: refused below.
  }
  throw new AuthError("invalid-request", "cursor: not one this API gave out");
}

function phoneNumberOf(input: string): string {
  const phoneNumber = normalizeE164(input);
  if (phoneNumber === null) throw new AuthError("invalid-request", "phoneNumber: must be an E.164 number");
  return phoneNumber;
}

/**
 * An imported password hash, as it will be stored, or `unsupported-password-hash`
 * naming what is wrong: its format, or parameters above what a Worker verifies
 * within its memory and CPU (services/memory-hard-hashes.ts).
 */
export function importedPasswordHash(stored: string, pepper: string | null): string {
  if (isBcryptHash(stored)) {
    const cost = bcryptCost(stored);
    if (cost === null || cost < 4) throw new AuthError("unsupported-password-hash", "not a valid $2a$, $2b$ or $2y$ bcrypt hash");
    if (cost > BCRYPT_MAX_COST) throw new AuthError("unsupported-password-hash", `bcrypt cost above ${BCRYPT_MAX_COST}`);
    return stored;
  }
  if (stored.startsWith("pbkdf2-sha256$")) {
    if (hashIterations(stored) === null) throw new AuthError("unsupported-password-hash", "not a valid pbkdf2-sha256 hash");
    if (stored.includes(",p=1$") && pepper === null) throw new AuthError("unsupported-password-hash", "peppered, but no PASSWORD_PEPPER is set");
    return stored;
  }
  if (isMemoryHardHash(stored)) {
    const parsed = parseMemoryHardHash(stored);
    if (typeof parsed === "string") throw new AuthError("unsupported-password-hash", parsed);
    return stored;
  }
  throw new AuthError("unsupported-password-hash", "accepted: bcrypt, pbkdf2-sha256, and argon2id and scrypt PHC strings");
}

/** Roles and default role: the default must be one of the roles. Operators may grant any role. */
function checkRoles(roles: string[], defaultRole: string): string[] {
  if (!roles.includes(defaultRole)) throw new AuthError("default-role-must-be-in-allowed-roles");
  return [...new Set(roles)];
}

function checkLocale(c: AppContext, locale: string): string {
  if (!c.var.context.config.allowedLocales.includes(locale)) throw new AuthError("locale-not-allowed");
  return locale;
}

const users = new Hono<AppEnv>()
  .get("/admin/realms/:realm/users", requireScope("users:read"), async (c) => {
    const { db, realm } = c.var.context;
    const query = parseQuery(c, listUsersQuery);
    const limit = query.limit === undefined ? USER_PAGE_LIMIT_DEFAULT : Number(query.limit);
    if (limit < 1 || limit > USER_PAGE_LIMIT_MAX) throw new AuthError("invalid-request", `limit: must be 1..${USER_PAGE_LIMIT_MAX}`);
    const page = await listUsers(db, realm.id, {
      search: query.search,
      role: query.role,
      disabled: query.disabled === undefined ? undefined : query.disabled === "true",
      limit,
      afterId: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    });
    const last = page.users.at(-1);
    return c.json({ users: page.users.map(adminUserResponse), nextCursor: page.more && last !== undefined ? encodeCursor(last.id) : null });
  })

  .post("/admin/realms/:realm/users", requireScope("users:write"), async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    const body = await readJsonBody(c.req.raw, createUserBody);
    if (body.email === undefined && body.phoneNumber === undefined) throw new AuthError("invalid-request", "email or phoneNumber is required");
    if (body.password !== undefined && body.passwordHash !== undefined) {
      throw new AuthError("invalid-request", "password and passwordHash are exclusive");
    }
    const phoneNumber = body.phoneNumber === undefined ? null : phoneNumberOf(body.phoneNumber);
    const defaultRole = body.defaultRole ?? config.defaultRole;
    const roles = checkRoles(body.roles ?? (body.defaultRole === undefined ? config.allowedRoles : [defaultRole]), defaultRole);
    const locale = checkLocale(c, body.locale ?? config.defaultLocale);
    let passwordHash: string | null = null;
    if (body.password !== undefined) {
      await checkNewPassword(body.password, context);
      passwordHash = await passwordHasherFor(config).hash(body.password);
    } else if (body.passwordHash !== undefined) {
      passwordHash = importedPasswordHash(body.passwordHash, config.passwordPepper);
    }
    if (body.email !== undefined && (await findUserByEmail(db, realm.id, body.email)) !== null) throw new AuthError("email-already-in-use");
    if (phoneNumber !== null && (await findUserByPhone(db, realm.id, phoneNumber)) !== null) {
      throw new AuthError("phone-number-already-in-use");
    }
    let created: UserWithRoles;
    try {
      ({ user: created } = await createAccount(context, {
        email: body.email ?? null,
        phoneNumber,
        passwordHash,
        displayName: body.displayName ?? body.email ?? phoneNumber ?? "",
        locale,
        defaultRole,
        roles,
        metadata: body.metadata ?? {},
        emailVerified: body.emailVerified ?? false,
        disabled: body.disabled ?? false,
      }));
    } catch (error) {
      if (isUniqueViolation(error, "users.phone_number")) throw new AuthError("phone-number-already-in-use");
      throw error;
    }
    auditAdminAction(c, "user.create", created.id, { imported: body.passwordHash !== undefined });
    return c.json(adminUserResponse(created), 201);
  })

  .get("/admin/realms/:realm/users/:id", requireScope("users:read"), async (c) => c.json(adminUserResponse(await requireUser(c, c.req.param("id")))))

  .patch("/admin/realms/:realm/users/:id", requireScope("users:write"), async (c) => {
    const context = c.var.context;
    const { config, db, realm } = context;
    const body = await readJsonBody(c.req.raw, updateUserBody);
    const user = await requireUser(c, c.req.param("id"));
    const change: UserChange = { now: Date.now() };
    if (body.email !== undefined && body.email !== user.email) {
      const holder = await findUserByEmail(db, realm.id, body.email);
      if (holder !== null && holder.id !== user.id) throw new AuthError("email-already-in-use");
      change.email = body.email;
      // A new address is unproven unless the operator says otherwise; the same address in another case stays proven.
      if (holder === null) change.emailVerified = false;
    }
    if (body.emailVerified !== undefined) change.emailVerified = body.emailVerified;
    if (body.phoneNumber !== undefined) {
      const phoneNumber = phoneNumberOf(body.phoneNumber);
      if (phoneNumber !== user.phoneNumber) {
        if ((await findUserByPhone(db, realm.id, phoneNumber)) !== null) throw new AuthError("phone-number-already-in-use");
        change.phoneNumber = phoneNumber;
        change.phoneNumberVerified = false;
      }
    }
    if (body.phoneNumberVerified !== undefined) change.phoneNumberVerified = body.phoneNumberVerified;
    if (body.displayName !== undefined) change.displayName = body.displayName;
    if (body.locale !== undefined) change.locale = checkLocale(c, body.locale);
    if (body.metadata !== undefined) change.metadata = body.metadata;
    if (body.roles !== undefined || body.defaultRole !== undefined) {
      const defaultRole = body.defaultRole ?? user.defaultRole;
      const roles = checkRoles(body.roles ?? user.roles, defaultRole);
      change.defaultRole = defaultRole;
      if (body.roles !== undefined) change.roles = roles;
    }
    if (body.password !== undefined) {
      await checkNewPassword(body.password, context);
      change.passwordHash = await passwordHasherFor(config).hash(body.password);
      // As after a password reset: whoever held the account is signed out.
      change.endSessions = true;
    }
    if (body.disabled !== undefined) {
      change.disabled = body.disabled;
      if (body.disabled) change.endSessions = true;
    }
    try {
      if (!(await updateUser(db, realm.id, user.id, change))) throw new AuthError("user-not-found");
    } catch (error) {
      if (isUniqueViolation(error, USER_EMAIL_UNIQUE_INDEX)) throw new AuthError("email-already-in-use");
      if (isUniqueViolation(error, "users.phone_number")) throw new AuthError("phone-number-already-in-use");
      throw error;
    }
    // Field names only: the audit log never keeps a password, and addresses stay in the users table.
    auditAdminAction(c, "user.update", user.id, { fields: Object.keys(body).sort(), endedSessions: change.endSessions ?? false });
    return c.json(adminUserResponse(await requireUser(c, user.id)));
  })

  .delete("/admin/realms/:realm/users/:id", requireScope("users:write"), async (c) => {
    const { db, realm } = c.var.context;
    const id = c.req.param("id");
    if (id.length > 128 || !(await deleteUser(db, realm.id, id))) throw new AuthError("user-not-found");
    auditAdminAction(c, "user.delete", id);
    return c.json("OK");
  });

/**
 * Every route under `/admin/realms/{realm}/users`: the caller is authenticated
 * before the realm is looked up, so an unauthenticated caller cannot learn which
 * realms exist; each route then checks its scope on that realm.
 */
export const adminUserRoutes = new Hono<AppEnv>()
  .use("/admin/realms/:realm/users", authenticateAdmin, adminRealm)
  .use("/admin/realms/:realm/users/*", authenticateAdmin, adminRealm)
  .route("/", users)
  .route("/", adminUserSessionRoutes);

export const adminUserOperations: AdminOperation[] = [
  {
    method: "get",
    path: "/admin/realms/{realm}/users",
    summary: "List the realm's users in id order, a page at a time (cursor)",
    scope: "users:read",
    query: listUsersQuery,
  },
  { method: "post", path: "/admin/realms/{realm}/users", summary: "Create a user (password or imported hash)", scope: "users:write", body: createUserBody },
  { method: "get", path: "/admin/realms/{realm}/users/{id}", summary: "Read a user", scope: "users:read" },
  {
    method: "patch",
    path: "/admin/realms/{realm}/users/{id}",
    summary: "Change a user; disabling it or setting its password ends its sessions and PATs",
    scope: "users:write",
    body: updateUserBody,
  },
  { method: "delete", path: "/admin/realms/{realm}/users/{id}", summary: "Delete a user and every row of it", scope: "users:write" },
  ...adminUserSessionOperations,
];
