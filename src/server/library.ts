/**
 * Library mode (README, "Inside an existing Worker"): edgeauth as a Hono sub-app
 * that an application mounts in its own Worker, next to its own routes.
 *
 * @example
 * import { Hono } from "hono";
 * import { createEdgeAuth } from "edgeauth";
 * export { KeyStore, OneTimeCodes, AttemptCounter, RateLimiter } from "edgeauth";
 *
 * const auth = createEdgeAuth({ PUBLIC_URL: "https://app.example.com/auth", ALLOWED_ROLES: ["user", "me"] });
 * const app = new Hono().get("/", (c) => c.text("my app")).route("/auth", auth);
 * export default { fetch: app.fetch, scheduled: auth.scheduled };
 */
import { Hono } from "hono";
import { answerError, app } from "./app";
import type { AppEnv } from "./context";
import { AuthError } from "./errors";
import worker from "./index";
import type { AttemptCounter } from "./otp/attempt-counter";
import type { KeyStore } from "./keys/key-store";
import type { OneTimeCodes } from "./otp/one-time-codes";
import type { RateLimiter } from "./limits/rate-limiter";
import {
  ConfigError,
  configFor,
  parseConfig,
  SECRET_SETTING_NAMES,
  SETTING_NAMES,
  type SecretSettingName,
  type SettingName,
} from "./config";

export { KeyStore } from "./keys/key-store";
export { OneTimeCodes } from "./otp/one-time-codes";
export { AttemptCounter } from "./otp/attempt-counter";
export { RateLimiter } from "./limits/rate-limiter";
export { ConfigError } from "./config";

/** A setting an application may give in code: every setting but the secrets. */
export type EdgeAuthSettingName = Exclude<SettingName, SecretSettingName>;

/**
 * edgeauth's settings (README, "Settings"), by the names `[vars]` uses. Numbers,
 * booleans and lists are written as such (`ACCESS_TOKEN_TTL_SECONDS: 600`,
 * `ALLOWED_ROLES: ["user", "me"]`) or as the strings `[vars]` would hold. They
 * are checked by the parser that checks `[vars]`: a bad one is a `ConfigError`
 * naming it. The application's own `[vars]` are not read, so names it uses for
 * itself (`ENVIRONMENT`, `PUBLIC_URL`) cannot leak in; secrets come from the
 * Worker's secrets only (`wrangler secret put REFRESH_TOKEN_SECRET`).
 *
 * @example { PUBLIC_URL: "https://app.example.com/auth", CLIENT_URL: "https://app.example.com", WEBAUTHN_ENABLED: true }
 */
export type EdgeAuthOptions = { readonly [Name in EdgeAuthSettingName]?: string | number | boolean | readonly string[] };

/** The bindings the application's Worker gives edgeauth (its wrangler.toml; README, "Inside an existing Worker"). */
export interface EdgeAuthBindings {
  DB: D1Database;
  KEY_STORE: DurableObjectNamespace<KeyStore>;
  ONE_TIME_CODES: DurableObjectNamespace<OneTimeCodes>;
  ATTEMPT_COUNTER: DurableObjectNamespace<AttemptCounter>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  /** The coarse per-IP request limit (`[[ratelimits]]`), optional. */
  REQUEST_RATE_LIMITER?: RateLimit;
  /** For `MAIL_TRANSPORT: "binding"`. */
  SEND_EMAIL?: SendEmail;
  /** Secret, required: 32+ characters. */
  REFRESH_TOKEN_SECRET?: string;
  ADMIN_SECRET?: string;
  PASSWORD_PEPPER?: string;
  TOTP_ENCRYPTION_KEY?: string;
  SMTP_PASSWORD?: string;
  MAIL_API_KEY?: string;
  SMS_AUTH_TOKEN?: string;
}

/** The sub-app to mount, and the daily purge for the Worker's `scheduled` handler (a Cron Trigger). */
export type EdgeAuth = Hono<{ Bindings: EdgeAuthBindings }> & {
  scheduled(controller: ScheduledController, env: EdgeAuthBindings, ctx: ExecutionContext): Promise<void>;
};

const SECRETS: readonly string[] = SECRET_SETTING_NAMES;
const SETTINGS: readonly string[] = SETTING_NAMES;

/**
 * The secrets come from the Worker at run time; these stand-ins let every other
 * option be checked when `createEdgeAuth` runs. Only their presence and length
 * matter to the parser.
 */
const SECRET_STAND_INS = { REFRESH_TOKEN_SECRET: "s".repeat(32), MAIL_API_KEY: "stand-in", SMS_AUTH_TOKEN: "stand-in" };

/** Options as the strings `[vars]` holds; unknown names, secrets and odd types are a ConfigError naming them. */
function settingsOf(options: EdgeAuthOptions): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [name, value] of Object.entries(options as Record<string, unknown>)) {
    if (SECRETS.includes(name)) throw new ConfigError(name, "is a secret: set it with `wrangler secret put`, not in code");
    if (!SETTINGS.includes(name)) throw new ConfigError(name, "is not an edgeauth setting (README, \"Settings\")");
    if (value === undefined) continue;
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") settings[name] = String(value);
    else if (Array.isArray(value) && value.every((item) => typeof item === "string")) settings[name] = value.join(",");
    else throw new ConfigError(name, "must be a string, a number, a boolean or a list of strings");
  }
  return settings;
}

/** Every option checked now, by `parseConfig`, but for `DATABASE`: it names a binding, known per request. */
function checkNow(settings: Record<string, string>): void {
  const { DATABASE: _binding, ...rest } = settings;
  parseConfig({ ...rest, ...SECRET_STAND_INS });
}

/**
 * A Hono sub-app serving edgeauth's whole API (end-user, realms, admin) under the
 * path it is mounted at, which must be the path of `PUBLIC_URL`: tokens' `iss`,
 * links in mails and redirects are built from it. `options` may be a function of
 * the Worker's bindings (typed as yours with `createEdgeAuth<MyBindings>(...)`), to
 * differ between environments; it is called, and its result checked, once per isolate.
 *
 * @throws ConfigError naming the option, when a fixed option is unknown, a secret, or refused by the parser.
 */
export function createEdgeAuth<Bindings extends EdgeAuthBindings = EdgeAuthBindings>(
  options: EdgeAuthOptions | ((env: Bindings) => EdgeAuthOptions) = {},
): EdgeAuth {
  const fixed = typeof options === "function" ? null : settingsOf(options);
  if (fixed !== null) checkNow(fixed);

  // One bindings object per isolate in practice; keyed by it so that configFor's
  // once-per-isolate parse keeps working on what is handed on.
  const environments = new WeakMap<object, { env: Env; basePath: string | null }>();
  const environmentOf = (env: Env) => {
    let entry = environments.get(env);
    if (entry === undefined) {
      const settings = fixed ?? settingsOf((options as (env: Bindings) => EdgeAuthOptions)(env as unknown as Bindings));
      // The application's own values under setting names are dropped: only options set settings.
      const bindings = Object.fromEntries(Object.entries(env).filter(([name]) => SECRETS.includes(name) || !SETTINGS.includes(name)));
      entry = { env: { ...bindings, ...settings } as unknown as Env, basePath: null };
      environments.set(env, entry);
    }
    return entry;
  };

  const edgeAuth = new Hono<AppEnv>()
    .use(async (c, next) => {
      const entry = environmentOf(c.env);
      c.env = entry.env;
      // This middleware's own route is `<mount path>/*`: where the application mounted us.
      entry.basePath ??= checkMountPath(new URL(configFor(entry.env).publicUrl).pathname, c.req.routePath);
      await next();
    })
    .route("/", app)
    // Unknown paths under the mount answer edgeauth's 404, not the application's.
    .all("*", () => {
      throw new AuthError("not-found");
    });
  edgeAuth.onError(answerError);

  const scheduled: EdgeAuth["scheduled"] = async (controller, env, ctx) => {
    await worker.scheduled!(controller, environmentOf(env as unknown as Env).env, ctx);
  };
  return Object.assign(edgeAuth as unknown as Hono<{ Bindings: EdgeAuthBindings }>, { scheduled });
}

/** PUBLIC_URL's path must be the mount path, or tokens and links would name the wrong URL. */
function checkMountPath(publicPath: string, middlewarePath: string): string {
  const mountPath = middlewarePath.replace(/\/?\*$/, "");
  const basePath = publicPath.replace(/\/+$/, "");
  if (basePath !== mountPath) {
    throw new ConfigError(
      "PUBLIC_URL",
      `its path is "${basePath || "/"}" but edgeauth is mounted at "${mountPath || "/"}": PUBLIC_URL is the URL edgeauth answers at, mount path included`,
    );
  }
  return basePath;
}

// A setting added to env.d.ts but to none of config.ts's lists could not be given
// as an option, and the application's value of that name would leak in: this
// line stops the build instead.
type EnvSettingName = { [Name in keyof Env]-?: NonNullable<Env[Name]> extends string ? Name : never }[keyof Env];
const everySettingListed: Exclude<EnvSettingName, SettingName> extends never ? true : never = true;
void everySettingListed;
