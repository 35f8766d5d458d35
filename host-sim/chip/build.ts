/*
 * `onenet-led chip build pico`: the firmware image a user flashes, built the way a user builds it
 * (`mcconfig -m -p pico -t build`, Moddable's own tool), with the config given as mcconfig's
 * key=value overrides. The project's manifest.json is used as committed; variants (a debug build,
 * a different memory budget for an experiment) go through a generated manifest that includes it,
 * in build/chip/<name>/ (mcconfig names the build after that folder).
 *
 * Before anything runs, the environment is checked and every missing piece is named at once:
 * MODDABLE and its host tools, the Pico SDK variables Moddable's make.pico.mk reads, the ARM GCC,
 * bash (make.pico.mk's version check needs it as make's shell: we pass SHELL=/bin/bash), and
 * TypeScript >= 6 (mcconfig runs `tsc`; ours comes first on PATH).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync, createWriteStream } from "node:fs";
import { join, relative } from "node:path";
import { execFileSync, spawn } from "node:child_process";

export const PROJECT_ROOT = join(import.meta.dirname, "../..");

export type ChipTarget = "pico";
export type BuildKind = "release" | "debug" | "instrument";

export interface Creation {
  static: number;
  chunk: { initial: number; incremental: number };
  heap: { initial: number; incremental: number };
  stack: number;
}

export interface ChipBuildOptions {
  target: ChipTarget;
  kind?: BuildKind;
  /** mc/config overrides (key=value on mcconfig's command line). Values may be secrets: never printed. */
  config?: Record<string, string | number | boolean>;
  /** Another memory budget than the manifest's (experiments: the smallest that works). */
  creation?: Creation;
  /**
   * The build tree's name (mcconfig names it after the folder of the manifest it builds, here
   * build/chip/<name>): images that differ only in config or memory budget share one tree and
   * rebuild in seconds. Default "onenet-led".
   */
  name?: string;
  /** Where the image is copied: build/chip/images/<variant>/ (default: <name>-<kind>). */
  variant?: string;
  env?: NodeJS.ProcessEnv;
  /** Each line of mcconfig's output (the whole log is also in build/chip/<name>/build.log). */
  onOutput?: (line: string) => void;
}

export interface ChipImage {
  uf2: string;
  elf: string;
  log: string;
  sizes: ImageSizes;
}

export interface ImageSizes {
  /** arm-none-eabi-size of the ELF. */
  text: number;
  data: number;
  bss: number;
  /** The XS archive linked into flash (mc.xs.c: preloaded heap and every module's bytecode). */
  archive: number;
  /** Bytecode of this project's modules (firmware/), and of everything else Moddable links in. */
  appBytecode: number;
  appModules: number;
  sdkBytecode: number;
}

export class ChipBuildError extends Error {}

interface Check {
  ok: boolean;
  what: string;
}

export const which = (cmd: string, env: NodeJS.ProcessEnv): string | undefined => {
  for (const dir of (env.PATH ?? "").split(":")) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
};

/** What a Pico build needs, each missing piece named with where to get it. */
export function checkEnvironment(target: ChipTarget, env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  const need = (check: Check) => {
    if (!check.ok) problems.push(check.what);
  };
  problems.push(...moddableProblems(env));
  if (target === "pico") {
    const home = env.HOME ?? "";
    const picoRoot = env.PICO_ROOT ?? join(home, "pico");
    const sdk = env.PICO_SDK_DIR ?? join(picoRoot, "pico-sdk");
    const extras = env.PICO_EXTRAS_DIR ?? join(picoRoot, "pico-extras");
    const gcc = env.PICO_GCC_ROOT ?? "/usr/local";
    const setup = "see Moddable's documentation/devices/pico.md";
    need({ ok: existsSync(picoRoot), what: `PICO_ROOT (${picoRoot}) does not exist: it holds pico-sdk, pico-extras and pico-examples (${setup})` });
    need({ ok: existsSync(join(sdk, "pico_sdk_init.cmake")), what: `PICO_SDK_DIR (${sdk}) is not a Pico SDK 2.2.0 checkout (${setup})` });
    if (existsSync(join(sdk, "pico_sdk_init.cmake"))) {
      need({ ok: existsSync(join(sdk, ".git")), what: `${sdk} is not a git checkout: make.pico.mk reads the SDK version with \`git describe --tags\` (clone it, or git init and tag 2.2.0)` });
      need({ ok: existsSync(join(sdk, "build/pioasm/pioasm")), what: `pioasm is not built at ${sdk}/build/pioasm/pioasm (cmake ${sdk}/tools/pioasm in that folder, then make)` });
      need({ ok: existsSync(join(sdk, "lib/tinyusb/src")), what: `${sdk}/lib/tinyusb is empty: the Pico SDK's submodules are missing (git submodule update --init)` });
    }
    need({ ok: existsSync(extras), what: `PICO_EXTRAS_DIR (${extras}) does not exist: clone raspberrypi/pico-extras (tag sdk-2.2.0) there` });
    need({ ok: existsSync(join(picoRoot, "pico-examples/build/generated/pico_base")), what: `${picoRoot}/pico-examples is not configured: clone raspberrypi/pico-examples there and run cmake in pico-examples/build` });
    need({ ok: existsSync(join(gcc, "bin/arm-none-eabi-gcc")), what: `no arm-none-eabi-gcc in PICO_GCC_ROOT/bin (${gcc}/bin): apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib and set PICO_GCC_ROOT=/usr` });
  }
  need({ ok: which("cmake", env) !== undefined, what: "cmake is not on PATH (apt-get install cmake)" });
  need({ ok: existsSync("/bin/bash"), what: "bash is not installed (/bin/bash): Moddable's makefiles need it as make's shell" });
  problems.push(...typescriptProblems());
  return problems;
}

/** MODDABLE and its host tools (every chip build). */
export function moddableProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const need = (check: Check) => {
    if (!check.ok) problems.push(check.what);
  };
  const moddable = env.MODDABLE;
  need({ ok: !!moddable, what: "MODDABLE is not set: install the Moddable SDK (https://github.com/Moddable-OpenSource/moddable, documentation/Moddable SDK - Getting Started.md) and export MODDABLE=<its folder>" });
  if (moddable) {
    need({ ok: existsSync(join(moddable, "xs")) && existsSync(join(moddable, "build")), what: `MODDABLE=${moddable} is not a Moddable SDK folder (no xs/ or build/)` });
    need({ ok: existsSync(join(moddable, "build/bin/lin/release/mcconfig")), what: `Moddable's host tools are not built: cd ${moddable}/build/makefiles/lin && make (needs libglib2.0-dev)` });
  }
  return problems;
}

/** mcconfig compiles the .ts files with the project's tsc (>= 6). */
export function typescriptProblems(): string[] {
  const tsc = join(PROJECT_ROOT, "node_modules/.bin/tsc");
  return existsSync(tsc) ? [] : ["TypeScript is not installed in this project: run npm install (mcconfig compiles the .ts files with tsc >= 6)"];
}

/** The environment mcconfig runs in: our tsc first on PATH, Moddable's tools next, bash as make's shell. */
export function buildEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const moddable = env.MODDABLE ?? "";
  const path = [join(PROJECT_ROOT, "node_modules/.bin"), join(moddable, "build/bin/lin/release"), env.PATH ?? ""].join(":");
  const makeflags = /(^|\s)SHELL=/.test(env.MAKEFLAGS ?? "") ? env.MAKEFLAGS : `${env.MAKEFLAGS ?? ""} SHELL=/bin/bash`.trim();
  return { ...env, PATH: path, MAKEFLAGS: makeflags };
}

function outputDir(env: NodeJS.ProcessEnv, target: ChipTarget, kind: BuildKind, name: string): string {
  return join(env.MODDABLE ?? "", "build/bin", target, kind, name);
}

function tmpDir(env: NodeJS.ProcessEnv, target: ChipTarget, kind: BuildKind, name: string): string {
  return join(env.MODDABLE ?? "", "build/tmp", target, kind, name);
}

export async function buildChipImage(options: ChipBuildOptions): Promise<ChipImage> {
  const env = options.env ?? process.env;
  const problems = checkEnvironment(options.target, env);
  if (problems.length) throw new ChipBuildError(`cannot build for ${options.target}:\n  - ${problems.join("\n  - ")}`);
  const kind = options.kind ?? "release";
  const name = options.name ?? "onenet-led";
  const variant = options.variant ?? `${name}-${kind}`;
  for (const n of [name, variant]) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(n)) throw new ChipBuildError(`build name ${JSON.stringify(n)}: lower-case letters, digits and "-" only`);
  }
  const dir = join(PROJECT_ROOT, "build/chip", name);
  mkdirSync(dir, { recursive: true });
  const manifest: Record<string, unknown> = { include: [relative(dir, join(PROJECT_ROOT, "manifest.json"))] };
  if (options.creation) manifest.platforms = { [options.target]: { creation: options.creation } };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest, null, "\t") + "\n");

  const args = ["-m", "-p", options.target, "-t", "build"];
  if (kind === "debug") args.push("-d");
  if (kind === "instrument") args.push("-i");
  args.push("manifest.json");
  for (const [key, value] of Object.entries(options.config ?? {})) args.push(`${key}=${String(value)}`);

  const log = await runMcconfig(args, dir, buildEnvironment(env), options.onOutput);

  const built = outputDir(env, options.target, kind, name);
  const out = join(PROJECT_ROOT, "build/chip/images", variant);
  mkdirSync(out, { recursive: true });
  const uf2 = join(out, "xs_pico.uf2");
  const elf = join(out, "xs_pico.elf");
  copyFileSync(join(built, "xs_pico.uf2"), uf2);
  copyFileSync(join(built, "xs_pico.elf"), elf);
  return { uf2, elf, log, sizes: imageSizes(elf, tmpDir(env, options.target, kind, name), env) };
}

/**
 * Runs mcconfig in `dir` (where the build's manifest is), its output in `dir`/build.log and, line
 * by line, to `onOutput`; returns the log's path, or throws ChipBuildError naming it.
 */
export async function runMcconfig(args: string[], dir: string, env: NodeJS.ProcessEnv, onOutput?: (line: string) => void): Promise<string> {
  const log = join(dir, "build.log");
  const code = await new Promise<number>((resolve, reject) => {
    const out = createWriteStream(log);
    const child = spawn("mcconfig", args, { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    let partial = "";
    const onChunk = (chunk: Buffer) => {
      out.write(chunk);
      partial += chunk.toString("utf8");
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) onOutput?.(line);
    };
    child.stdout.on("data", onChunk);
    child.stderr.on("data", onChunk);
    child.on("error", (error) => reject(new ChipBuildError(`mcconfig did not start: ${error.message}`)));
    child.on("close", (status) => out.end(() => resolve(status ?? 1)));
  });
  if (code !== 0) throw new ChipBuildError(`mcconfig failed (exit ${code}); the whole log is in ${relative(process.cwd(), log) || log}`);
  return log;
}

/** Flash and RAM of the ELF, the XS archive, and the bytecode of our modules against the SDK's. */
export function imageSizes(elf: string, tmp: string, env: NodeJS.ProcessEnv = process.env, archiveObject = join(tmp, "mc.xs.c.o")): ImageSizes {
  const size = (file: string) => {
    const gcc = env.PICO_GCC_ROOT ?? "/usr";
    const tool = existsSync(join(gcc, "bin/arm-none-eabi-size")) ? join(gcc, "bin/arm-none-eabi-size") : "arm-none-eabi-size";
    const out = execFileSync(tool, [file], { encoding: "utf8" }).split("\n")[1]?.trim().split(/\s+/) ?? [];
    return { text: Number(out[0] ?? 0), data: Number(out[1] ?? 0), bss: Number(out[2] ?? 0) };
  };
  const whole = size(elf);
  const archive = existsSync(archiveObject) ? size(archiveObject).text : 0;
  let appBytecode = 0;
  let appModules = 0;
  let sdkBytecode = 0;
  const ours = new Set(projectModules());
  const walk = (d: string, prefix: string) => {
    if (!existsSync(d)) return;
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${entry}/`);
      else if (entry.endsWith(".xsb")) {
        const bytes = statSync(p).size;
        if (ours.has(prefix + entry.slice(0, -4))) {
          appBytecode += bytes;
          appModules++;
        } else sdkBytecode += bytes;
      }
    }
  };
  walk(join(tmp, "modules"), "");
  return { ...whole, archive, appBytecode, appModules, sdkBytecode };
}

/** Module specifiers of firmware/ as the manifest names them (main, app, mqtt/client, ...). */
export function projectModules(): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) {
        if (entry !== "lin") walk(p, `${prefix}${entry}/`);
      } else if (entry.endsWith(".ts") && !entry.endsWith(".d.ts")) out.push(prefix + entry.slice(0, -3));
    }
  };
  walk(join(PROJECT_ROOT, "firmware"), "");
  return out;
}

