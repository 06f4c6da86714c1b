/** The Hono app, built once at module scope (style habit 1). */
import { Hono, type Context, type ErrorHandler } from "hono";
import { cors } from "hono/cors";
import { configFor } from "./config";
import { createRequestContext, databaseOf, type AppEnv, type RequestContext } from "./context";
import { AuthError, errorSurfaceOf, renderError, shownError, tooManyRequests } from "./errors";
import { withAnswerHeaders } from "./lib/answer-headers";
import { clientIpOf } from "./limits/limits";
import { configForRealm, defaultRealm, resolveRealm } from "./realm";
import { adminKeyRoutes } from "./routes/admin-keys";
import { adminApiKeyRoutes } from "./routes/admin/api-keys";
import { adminOpenApiRoutes } from "./routes/admin/openapi";
import { adminRealmRoutes } from "./routes/admin/realms";
import { adminRealmSigningKeyRoutes } from "./routes/admin/signing-keys";
import { adminUserRoutes } from "./routes/admin/users";
import { adminAuditRoutes } from "./routes/admin/audit";
import { anonymousRoutes } from "./routes/anonymous";
import { patRoutes } from "./routes/pat";
import { mfaRoutes } from "./routes/mfa";
import { passwordlessSmsRoutes } from "./routes/passwordless-sms";
import { devRoutes } from "./routes/dev";
import { emailRoutes } from "./routes/email";
import { passwordlessEmailRoutes } from "./routes/passwordless-email";
import { emailPasswordRoutes } from "./routes/email-password";
import { sessionRoutes } from "./routes/session";
import { systemRoutes } from "./routes/system";
import { userRoutes } from "./routes/user";
import { webauthnRoutes } from "./routes/webauthn";
import { elevationRoutes } from "./routes/elevation";
import { phoneNumberRoutes } from "./routes/phone-number";
import { providerRoutes } from "./routes/provider";
import { idTokenRoutes } from "./routes/idtoken";
import { endUserOpenApiRoutes } from "./routes/openapi";

export const app = new Hono<AppEnv>();

/** A user agent is kept with sessions and audit events; any longer is noise or abuse. */
const USER_AGENT_MAX_LENGTH = 256;

app.use(async (c, next) => {
  const config = configFor(c.env);
  // The default realm until a realm's path says otherwise (below).
  const waitUntil = (promise: Promise<unknown>) => c.executionCtx.waitUntil(promise);
  const client = { ip: clientIpOf(c.req.raw), userAgent: c.req.header("user-agent")?.slice(0, USER_AGENT_MAX_LENGTH) ?? null };
  c.set("context", createRequestContext(c.env, config, defaultRealm(config), client, waitUntil));
  await next();
  const answer = withAnswerHeaders(c.res);
  if (answer !== c.res) c.res = answer;
});

// A realm's path resolves the realm before CORS, so that its own allowed origins
// answer its preflights. A realm that does not exist answers 404 after CORS (below),
// with the deployment's CORS headers, so a browser app can read why.
app.use("/realms/:realm/*", async (c, next) => {
  const context = c.var.context;
  let realm;
  try {
    realm = await resolveRealm(context.deploymentDb, context.config, c.req.param("realm"));
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    c.set("realmRefusal", error);
    return next();
  }
  const config = configForRealm(c.env, context.config, realm);
  c.set("context", { ...context, realm, config, db: databaseOf(c.env, config, context.deploymentDb) });
  await next();
});

// Browser apps on other origins call the end-user API with bearer tokens. No
// cookies are involved, so credentials stay off and `*` is a safe default. Each
// realm answers with its own CORS_ALLOWED_ORIGINS. The admin API takes no
// preflighted method beyond these: its credentials belong in a back office's
// server, not in a browser.
app.use(
  cors({
    origin: (origin, c) => {
      const allowed = c.var.context.config.corsAllowedOrigins;
      return allowed.includes("*") ? "*" : allowed.includes(origin) ? origin : null;
    },
    allowHeaders: ["authorization", "content-type"],
    allowMethods: ["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
    maxAge: 86_400,
  }),
);

/**
 * The coarse per-IP limit on every request, before any route work. The Workers
 * Rate Limiting binding counts at each location without a Durable Object call,
 * so the hot paths (refresh, `GET /user`, the JWKS) pay no round trip for it. It
 * does not say when its window ends: the answer names the longest it can be.
 */
const REQUEST_RATE_LIMIT_PERIOD_MS = 60_000;

async function limitRequestsPerIp(env: Env, clientIp: string): Promise<void> {
  if (env.REQUEST_RATE_LIMITER === undefined) return;
  const { success } = await env.REQUEST_RATE_LIMITER.limit({ key: clientIp });
  if (!success) throw tooManyRequests(REQUEST_RATE_LIMIT_PERIOD_MS);
}

app.use("/realms/:realm/*", async (c, next) => {
  const refusal = c.get("realmRefusal");
  if (refusal !== undefined) throw refusal;
  await next();
});

// After CORS, so that a browser app can read the 429; preflights are not counted.
app.use(async (c, next) => {
  await limitRequestsPerIp(c.env, c.var.context.clientIp);
  await next();
});

/**
 * The end-user API, one sub-app served twice (design §7): for the default realm at
 * the root, and for realm `r` under `/realms/r`, where every route, the JWKS and
 * the dev outbox answer for that realm alone.
 */
export const endUserApi = new Hono<AppEnv>()
  .route("/", systemRoutes)
  .route("/", emailPasswordRoutes)
  .route("/", sessionRoutes)
  .route("/", userRoutes)
  .route("/", emailRoutes)
  .route("/", passwordlessEmailRoutes)
  .route("/", anonymousRoutes)
  .route("/", patRoutes)
  .route("/", mfaRoutes)
  .route("/", passwordlessSmsRoutes)
  .route("/", webauthnRoutes)
  .route("/", elevationRoutes)
  .route("/", phoneNumberRoutes)
  .route("/", providerRoutes)
  .route("/", idTokenRoutes)
  .route("/", endUserOpenApiRoutes)
  .route("/", devRoutes);

app.route("/realms/:realm", endUserApi);
app.route("/", endUserApi);
// The admin API is the deployment's: at the root only.
app.route("/", adminOpenApiRoutes);
app.route("/", adminKeyRoutes);
app.route("/", adminRealmRoutes);
app.route("/", adminApiKeyRoutes);
app.route("/", adminRealmSigningKeyRoutes);
app.route("/", adminUserRoutes);
app.route("/admin/realms/:realm", adminAuditRoutes);

app.notFound((c) => c.json(renderError(new AuthError("not-found"), errorSurfaceOf(pathInService(c))), 404));

/**
 * The request's path as edgeauth's routes see it: mounted in an application's
 * Worker (library.ts), without the mount path, which is PUBLIC_URL's path.
 */
function pathInService(c: Context<AppEnv>): string {
  const context = c.var.context as RequestContext | undefined;
  if (context === undefined) return c.req.path;
  const basePath = new URL(context.config.publicUrl).pathname.replace(/\/+$/, "");
  return basePath !== "" && c.req.path.startsWith(`${basePath}/`) ? c.req.path.slice(basePath.length) : c.req.path;
}

/**
 * The only place an error becomes a response (style habit 3), in the shape of the
 * API surface the request was for. An AuthError's reason is logged here and
 * nowhere sent; anything else is a logged 500.
 */
export const answerError: ErrorHandler = (error, c) => {
  if (error instanceof AuthError) {
    if (error.reason !== null) console.warn(`${c.req.method} ${c.req.path}: ${error.code}: ${error.reason}`);
    if (error.retryAfterSeconds !== null) c.header("retry-after", String(error.retryAfterSeconds));
    const surface = errorSurfaceOf(pathInService(c));
    // CONCEAL_ERRORS is the end-user API's (Nhost's); the admin API always says what failed.
    const shown = surface === "end-user" ? shownError(error, c.var.context?.config.concealErrors ?? false) : error;
    return withAnswerHeaders(c.json(renderError(shown, surface), shown.status));
  }
  console.error("unhandled error:", error instanceof Error ? `${error.name}: ${error.message}` : "non-error thrown");
  const internal = new AuthError("internal-server-error");
  return withAnswerHeaders(c.json(renderError(internal, errorSurfaceOf(pathInService(c))), 500));
};

app.onError(answerError);
