/** One Worker script from its entry point, bundled as wrangler would, for the Node-side tests that run it in Miniflare. */
import { builtinModules } from "node:module";
import { build } from "esbuild";

/**
 * The bundled ES module text of `entry` (relative to `directory`). With
 * `nodejsCompat`, Node's modules stay imports, as they do under wrangler's
 * `nodejs_compat`: the runtime provides them.
 */
export async function bundleWorker(directory: string, entry: string, { nodejsCompat = false } = {}): Promise<string> {
  const bundle = await build({
    absWorkingDir: directory,
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    ...(nodejsCompat ? { external: ["cloudflare:*", "node:*", ...builtinModules] } : {}),
    logLevel: "silent",
  });
  return bundle.outputFiles[0]!.text;
}
