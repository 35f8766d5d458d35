/*
 * Bundles firmware modules into one classic script for the XS worker (esbuild, synchronous).
 *
 * The script starts with the harness (runtime.ts: proxy board, handleCommand, globals a Moddable
 * device lacks removed), then each requested module, exposed to test code as
 * `xsHarness.modules[name]`. Importing a Node builtin, or anything outside the allowed roots
 * (firmware/ and this folder), fails the build: firmware/ must run on a bare XS.
 */
import { buildSync } from "esbuild";
import { dirname, isAbsolute, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (two levels above this file). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface XsBundleOptions {
  /** Global name inside XS (xsHarness.modules[name]) -> module path, relative to the repo root. */
  modules: Record<string, string>;
  /** Leave the harness out (for measuring the firmware's own size). Default false. */
  withoutHarness?: boolean;
  minify?: boolean;
  /**
   * Folders imports may resolve into (relative to the repo root, or absolute). Default firmware/,
   * host-sim/xs/, and the host's plain-code tools next to the firmware's modules (no Node APIs):
   * host-sim/mqtt/ (the codec's server role) and host-sim/onenet/ (the token as a string).
   */
  allowedRoots?: string[];
  /** Bare module names mapped to files (esbuild `alias`): Moddable modules shimmed for xsnap. */
  alias?: Record<string, string>;
}

export interface XsBundle {
  code: string;
  /** UTF-8 size of `code`. */
  bytes: number;
  /** Source files in the bundle, relative to the repo root. */
  inputs: string[];
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BundleError";
  }
}

/** Builds the script; throws BundleError with esbuild's messages when it cannot. */
export function bundleForXs(options: XsBundleOptions): XsBundle {
  const roots = options.allowedRoots ?? ["firmware", join("host-sim", "xs"), join("host-sim", "mqtt"), join("host-sim", "onenet")];
  const lines: string[] = [];
  if (!options.withoutHarness) lines.push(`import { expose } from "./host-sim/xs/runtime.js";`);
  let i = 0;
  for (const [name, path] of Object.entries(options.modules)) {
    const spec = isAbsolute(path) ? path : "./" + path.replace(/\\/g, "/").replace(/\.ts$/, ".js");
    lines.push(`import * as m${i} from ${JSON.stringify(spec)};`);
    if (!options.withoutHarness) lines.push(`expose(${JSON.stringify(name)}, m${i});`);
    else lines.push(`globalThis[${JSON.stringify(name)}] = m${i};`);
    i++;
  }
  let result;
  try {
    result = buildSync({
      stdin: { contents: lines.join("\n"), resolveDir: REPO_ROOT, sourcefile: "xs-entry.js", loader: "js" },
      bundle: true,
      write: false,
      format: "iife",
      target: "es2022",
      platform: "neutral",
      minify: options.minify ?? false,
      legalComments: "none",
      charset: "utf8",
      metafile: true,
      logLevel: "silent",
      absWorkingDir: REPO_ROOT,
      ...(options.alias ? { alias: options.alias } : {}),
    });
  } catch (error) {
    const failure = error as { errors?: { text: string }[] };
    const text = failure.errors?.map((e) => e.text).join("\n") ?? String(error);
    throw new BundleError(text);
  }
  const code = result.outputFiles[0].text;
  const inputs = Object.keys(result.metafile?.inputs ?? {}).filter((f) => f !== "xs-entry.js");
  // esbuild already refuses Node builtins on the neutral platform (they do not resolve); packages
  // from node_modules would resolve, so the inputs are checked against the allowed roots.
  const absoluteRoots = roots.map((root) => resolve(REPO_ROOT, root) + sep);
  const outside = inputs.filter((f) => !absoluteRoots.some((root) => resolve(REPO_ROOT, f).startsWith(root)));
  if (outside.length) throw new BundleError(`imports outside ${roots.join(", ")}: ${outside.join(", ")}`);
  return { code, bytes: Buffer.byteLength(code, "utf8"), inputs };
}
