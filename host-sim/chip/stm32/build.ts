/*
 * `onenet-led chip build stm32 | zephyr/<board>`: the firmware image for an STM32 board, built the
 * way Moddable builds for Zephyr (`mcconfig -m -p zephyr/<board> -t build`), from the committed
 * manifest.json, the config given as mcconfig's key=value overrides.
 *
 * Targets:
 *   stm32 = zephyr/olimex_stm32_h405   the STM32F405 board QEMU emulates (machine netduinoplus2);
 *                                      its Moddable target folder is ours (chip/zephyr/targets/...,
 *                                      passed as -p zephyr:<folder>), with chip/zephyr/qemu-stm32
 *                                      added as a Zephyr module (what QEMU lacks: see its README)
 *   zephyr/nucleo_f413zh               a real board, with Moddable's own target
 *   zephyr/stm32f4_disco               a real board, with our target folder (its board file
 *                                      leaves USART6, the ESP8266's, off: our overlay enables it)
 *
 * Nothing in the SDKs is edited. Two CMake shims (chip/zephyr/cmake) go on CMAKE_PREFIX_PATH only
 * where this machine needs them: without the Zephyr SDK (ZEPHYR_TOOLCHAIN_VARIANT other than
 * "zephyr", e.g. gnuarmemb), Moddable's `find_package(Zephyr-sdk REQUIRED)` is answered by a stand-in;
 * with Zephyr 4.3 (what Moddable's documentation asks for) where Moddable's CMake asks for a newer
 * one, Zephyr 4.3 is accepted. Each applied shim is reported in the result.
 *
 * Output: build/chip/<name>/ (a manifest that includes the project's, the build log, zephyr.elf
 * and zephyr.bin, also copied to build/chip/images/<variant>/ when asked), mcconfig's own tree
 * under build/chip/<name>/out (nothing is written into $MODDABLE).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import {
  buildEnvironment,
  ChipBuildError,
  type Creation,
  type ImageSizes,
  imageSizes,
  moddableProblems,
  PROJECT_ROOT,
  runMcconfig,
  typescriptProblems,
  which,
} from "../build.js";

export { ChipBuildError, type Creation, PROJECT_ROOT };
export const ZEPHYR_DIR = join(PROJECT_ROOT, "chip/zephyr");

export interface ZephyrTarget {
  /** The manifest's platform key ("zephyr/olimex_stm32_h405"). */
  platform: string;
  /** Zephyr's board name. */
  board: string;
  /** mcconfig's -p argument. */
  mcconfigPlatform: string;
  /** Runs in QEMU (adds the qemu-stm32 Zephyr module). */
  emulated: boolean;
  description: string;
}

const targets: Record<string, ZephyrTarget> = {
  "zephyr/olimex_stm32_h405": {
    platform: "zephyr/olimex_stm32_h405",
    board: "olimex_stm32_h405",
    mcconfigPlatform: `zephyr:${join(ZEPHYR_DIR, "targets/olimex_stm32_h405")}`,
    emulated: true,
    description: "Olimex STM32-H405 (STM32F405RG), the board QEMU's netduinoplus2 emulates",
  },
  "zephyr/nucleo_f413zh": {
    platform: "zephyr/nucleo_f413zh",
    board: "nucleo_f413zh",
    mcconfigPlatform: "zephyr/nucleo_f413zh",
    emulated: false,
    description: "ST NUCLEO-F413ZH (STM32F413ZH)",
  },
  "zephyr/stm32f4_disco": {
    platform: "zephyr/stm32f4_disco",
    board: "stm32f4_disco",
    mcconfigPlatform: `zephyr:${join(ZEPHYR_DIR, "targets/stm32f4_disco")}`,
    emulated: false,
    description: "ST STM32F4DISCOVERY (STM32F407VG)",
  },
};

export const ZEPHYR_TARGET_NAMES = ["stm32", ...Object.keys(targets)];

/** "stm32" is the emulated board; "zephyr/<board>" names any of ours. */
export function zephyrTarget(name: string): ZephyrTarget | undefined {
  return targets[name === "stm32" ? "zephyr/olimex_stm32_h405" : name];
}

export type BuildKind = "release" | "instrument";

export interface ZephyrBuildOptions {
  target: ZephyrTarget;
  kind?: BuildKind;
  /** mc/config overrides (key=value on mcconfig's command line). Values may be secrets: never printed. */
  config?: Record<string, string | number | boolean>;
  /** Another memory budget than the manifest's (experiments). */
  creation?: Creation;
  /** Extra Kconfig settings over the manifest's zephyrConfig (experiments: the heap pool). */
  zephyrConfig?: Record<string, string>;
  /**
   * The build tree: build/chip/<name> (mcconfig names the build after it). Images that differ
   * only in config or memory budget share one tree and rebuild in a minute or two.
   */
  name?: string;
  /** Where the image is also copied: build/chip/images/<variant>/ (default: only the tree's folder). */
  variant?: string;
  env?: NodeJS.ProcessEnv;
  onOutput?: (line: string) => void;
  /** Start from an empty build folder (mcconfig otherwise rebuilds only what changed). */
  clean?: boolean;
}

export interface ZephyrImage {
  elf: string;
  bin: string;
  log: string;
  sizes: ZephyrSizes;
  /** The CMake shims this machine needed (see chip/zephyr/README.md). */
  shims: string[];
}

export interface ZephyrSizes extends ImageSizes {
  /** Zephyr's link report: FLASH and RAM used / region size, in bytes. */
  flash: { used: number; size: number };
  ram: { used: number; size: number };
}

interface Version {
  major: number;
  minor: number;
  patch: number;
}

const versionText = (v: Version) => `${v.major}.${v.minor}.${v.patch}`;
const versionLess = (a: Version, b: Version) => a.major - b.major || a.minor - b.minor || a.patch - b.patch;

/** $ZEPHYR_BASE/VERSION. */
export function zephyrVersion(base: string): Version | undefined {
  try {
    const text = readFileSync(join(base, "VERSION"), "utf8");
    const get = (key: string) => Number(new RegExp(`^${key}\\s*=\\s*(\\d+)`, "m").exec(text)?.[1]);
    const v = { major: get("VERSION_MAJOR"), minor: get("VERSION_MINOR"), patch: get("PATCHLEVEL") };
    return Number.isFinite(v.major) && Number.isFinite(v.minor) && Number.isFinite(v.patch) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The Zephyr version Moddable's CMake prefix asks for (`find_package(Zephyr X.Y.Z REQUIRED`). */
export function moddableZephyrVersion(moddable: string): Version | undefined {
  try {
    const text = readFileSync(join(moddable, "build/devices/zephyr/config/CMakeLists.txt.prefix"), "utf8");
    const m = /find_package\(\s*Zephyr\s+(\d+)\.(\d+)\.(\d+)/.exec(text);
    return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
  } catch {
    return undefined;
  }
}

export const ZEPHYR_MINIMUM: Version = { major: 4, minor: 3, patch: 0 };

/** Zephyr modules named in ZEPHYR_MODULES / ZEPHYR_EXTRA_MODULES, or in a west workspace beside ZEPHYR_BASE. */
function moduleFound(env: NodeJS.ProcessEnv, name: string, workspacePath: string): boolean {
  const listed = `${env.ZEPHYR_MODULES ?? ""};${env.ZEPHYR_EXTRA_MODULES ?? ""}`.split(/[;:]/).filter(Boolean);
  for (const dir of listed) {
    try {
      const yml = readFileSync(join(dir, "zephyr/module.yml"), "utf8");
      if (new RegExp(`^name:\\s*${name}\\s*$`, "m").test(yml) || dir.replace(/\/$/, "").endsWith(workspacePath)) return true;
    } catch {
      if (dir.replace(/\/$/, "").endsWith(workspacePath) && existsSync(dir)) return true;
    }
  }
  return env.ZEPHYR_BASE !== undefined && existsSync(join(env.ZEPHYR_BASE, "..", workspacePath));
}

/** What a Zephyr build needs, each missing piece named with where to get it. */
export function checkZephyrEnvironment(env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  const docs = "see README, \"STM32 through Zephyr\", and Moddable's documentation/devices/zephyr.md";
  problems.push(...moddableProblems(env));
  const moddable = env.MODDABLE;
  if (moddable && existsSync(join(moddable, "xs"))) need(existsSync(join(moddable, "build/devices/zephyr")), `MODDABLE=${moddable} has no Zephyr port (build/devices/zephyr): update the Moddable SDK`);
  const base = env.ZEPHYR_BASE;
  need(!!base, `ZEPHYR_BASE is not set: set up Zephyr (${docs}) and export ZEPHYR_BASE=<workspace>/zephyr`);
  if (base) {
    const version = zephyrVersion(base);
    need(version !== undefined, `ZEPHYR_BASE=${base} is not a Zephyr tree (no VERSION file)`);
    if (version) need(versionLess(version, ZEPHYR_MINIMUM) >= 0, `Zephyr ${versionText(version)} at ZEPHYR_BASE is too old: Moddable needs ${versionText(ZEPHYR_MINIMUM)} or newer`);
    need(moduleFound(env, "hal_stm32", "modules/hal/stm32"), "the Zephyr module hal_stm32 is missing: `west update` in the Zephyr workspace (or list it in ZEPHYR_MODULES)");
    need(moduleFound(env, "cmsis_6", "modules/hal/cmsis_6"), "the Zephyr module cmsis_6 is missing: `west update` in the Zephyr workspace (or list it in ZEPHYR_MODULES)");
  }
  need(which("west", env) !== undefined, `west is not on PATH: activate the Zephyr workspace's Python environment (${docs})`);
  for (const [tool, pkg] of [["cmake", "cmake"], ["ninja", "ninja-build"], ["dtc", "device-tree-compiler"]] as const) {
    need(which(tool, env) !== undefined, `${tool} is not on PATH (apt-get install ${pkg})`);
  }
  const variant = env.ZEPHYR_TOOLCHAIN_VARIANT;
  if (variant === undefined || variant === "zephyr") {
    const sdk = env.ZEPHYR_SDK_INSTALL_DIR;
    const home = env.HOME ?? "";
    const candidates = [sdk, ...["", "/opt", "/usr/local"].flatMap((d) => {
      const dir = d || home;
      try {
        return readdirSync(dir).filter((n) => n.startsWith("zephyr-sdk")).map((n) => join(dir, n));
      } catch {
        return [];
      }
    })].filter((d): d is string => !!d);
    need(candidates.some((d) => existsSync(join(d, "cmake/Zephyr-sdkConfig.cmake"))),
      "no Zephyr SDK found (ZEPHYR_TOOLCHAIN_VARIANT is " + (variant ?? "unset") + "): install it (`west sdk install`, " + docs + "), " +
        "or build with the distribution's ARM GCC: ZEPHYR_TOOLCHAIN_VARIANT=gnuarmemb GNUARMEMB_TOOLCHAIN_PATH=/usr");
  } else if (variant === "gnuarmemb") {
    const gcc = join(env.GNUARMEMB_TOOLCHAIN_PATH ?? "", "bin/arm-none-eabi-gcc");
    need(!!env.GNUARMEMB_TOOLCHAIN_PATH && existsSync(gcc), `ZEPHYR_TOOLCHAIN_VARIANT=gnuarmemb needs GNUARMEMB_TOOLCHAIN_PATH with bin/arm-none-eabi-gcc (apt-get install gcc-arm-none-eabi; GNUARMEMB_TOOLCHAIN_PATH=/usr)`);
    // Distribution newlib builds lack the retargetable locking Zephyr requires: the manifest asks for picolibc, built from its module.
    need(moduleFound(env, "picolibc", "modules/lib/picolibc"), "the Zephyr module picolibc is missing (gnuarmemb builds use it as the C library): `west update` in the Zephyr workspace (or list it in ZEPHYR_MODULES)");
  }
  problems.push(...typescriptProblems());
  return problems;
}

/** The environment mcconfig and west run in, and the shims it applied. */
export function zephyrBuildEnvironment(target: ZephyrTarget, env: NodeJS.ProcessEnv = process.env): { env: NodeJS.ProcessEnv; shims: string[] } {
  const moddable = env.MODDABLE ?? "";
  const out = buildEnvironment(env);
  const shims: string[] = [];
  const prefix: string[] = [];
  const variant = env.ZEPHYR_TOOLCHAIN_VARIANT;
  if (variant !== undefined && variant !== "zephyr") {
    prefix.push(join(ZEPHYR_DIR, "cmake/gnuarmemb"));
    shims.push(`no Zephyr SDK: Moddable's find_package(Zephyr-sdk) answered for ZEPHYR_TOOLCHAIN_VARIANT=${variant}`);
  }
  const have = env.ZEPHYR_BASE ? zephyrVersion(env.ZEPHYR_BASE) : undefined;
  const wanted = moddableZephyrVersion(moddable);
  if (have && wanted && versionLess(have, wanted) < 0 && versionLess(have, ZEPHYR_MINIMUM) >= 0) {
    prefix.push(join(ZEPHYR_DIR, "cmake/zephyr-4.3"));
    shims.push(`Zephyr ${versionText(have)} accepted where Moddable's CMake asks for ${versionText(wanted)}`);
  }
  if (prefix.length) out.CMAKE_PREFIX_PATH = [...prefix, env.CMAKE_PREFIX_PATH ?? ""].filter(Boolean).join(":");
  if (target.emulated) {
    out.ZEPHYR_EXTRA_MODULES = [join(ZEPHYR_DIR, "qemu-stm32"), env.ZEPHYR_EXTRA_MODULES ?? ""].filter(Boolean).join(";");
  }
  return { env: out, shims };
}

/** The folder under build/chip/<name> where mcconfig builds. */
export function buildFolder(name: string): string {
  return join(PROJECT_ROOT, "build/chip", name);
}

export async function buildZephyrImage(options: ZephyrBuildOptions): Promise<ZephyrImage> {
  const env = options.env ?? process.env;
  const target = options.target;
  const problems = checkZephyrEnvironment(env);
  if (problems.length) throw new ChipBuildError(`cannot build for ${target.platform}:\n  - ${problems.join("\n  - ")}`);
  const kind = options.kind ?? "release";
  const name = options.name ?? `onenet-led-${target.board.replace(/_/g, "-")}`;
  for (const n of [name, options.variant ?? name]) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(n)) throw new ChipBuildError(`build name ${JSON.stringify(n)}: lower-case letters, digits and "-" only`);
  }
  const dir = buildFolder(name);
  const outDir = join(dir, "out");
  if (options.clean) rmSync(dir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const manifest: Record<string, unknown> = { include: [relative(dir, join(PROJECT_ROOT, "manifest.json"))] };
  const variant: Record<string, unknown> = {};
  if (options.creation) variant.creation = options.creation;
  if (options.zephyrConfig) variant.zephyrConfig = options.zephyrConfig;
  if (Object.keys(variant).length) manifest.platforms = { [target.platform]: variant };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest, null, "\t") + "\n");

  const args = ["-m", "-p", target.mcconfigPlatform, "-o", outDir, "-t", "build"];
  if (kind === "instrument") args.push("-i");
  args.push("manifest.json");
  for (const [key, value] of Object.entries(options.config ?? {})) args.push(`${key}=${String(value)}`);

  const { env: buildEnv, shims } = zephyrBuildEnvironment(target, env);
  for (const shim of shims) options.onOutput?.(`onenet-led: ${shim} (chip/zephyr/cmake)`);
  const log = await runMcconfig(args, dir, buildEnv, options.onOutput);

  const tmp = join(outDir, "tmp/zephyr", target.board, kind, name);
  const built = join(tmp, "build/zephyr");
  const out = options.variant ? join(PROJECT_ROOT, "build/chip/images", options.variant) : dir;
  mkdirSync(out, { recursive: true });
  const elf = join(out, "zephyr.elf");
  const bin = join(out, "zephyr.bin");
  copyFileSync(join(built, "zephyr.elf"), elf);
  copyFileSync(join(built, "zephyr.bin"), bin);
  return { elf, bin, log, sizes: zephyrSizes(elf, readFileSync(log, "utf8"), tmp, env), shims };
}

const UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 * 1024, GB: 1024 * 1024 * 1024 };

/** Zephyr's "Memory region  Used Size  Region Size" report: the last one in the log. */
export function linkReport(log: string): Record<string, { used: number; size: number }> {
  const out: Record<string, { used: number; size: number }> = {};
  for (const m of log.matchAll(/^\s*(\w+):\s+(\d+)\s*(B|KB|MB|GB)\s+(\d+)\s*(B|KB|MB|GB)\s+[\d.]+%/gm)) {
    out[m[1]] = { used: Number(m[2]) * UNITS[m[3]], size: Number(m[4]) * UNITS[m[5]] };
  }
  return out;
}

/** The ELF's sizes, the XS archive and bytecode (as for every chip), and Zephyr's link report. */
export function zephyrSizes(elf: string, log: string, tmp: string, env: NodeJS.ProcessEnv = process.env): ZephyrSizes {
  const report = linkReport(log);
  return {
    ...imageSizes(elf, tmp, env, findFile(join(tmp, "build/CMakeFiles/app.dir"), "mc.xs.c.obj") ?? ""),
    flash: report.FLASH ?? { used: 0, size: 0 },
    ram: report.RAM ?? { used: 0, size: 0 },
  };
}

/** The first file named `name` under `dir` (CMake nests objects under their source's path). */
function findFile(dir: string, name: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) {
      const hit = findFile(p, name);
      if (hit) return hit;
    } else if (entry === name) return p;
  }
  return undefined;
}
