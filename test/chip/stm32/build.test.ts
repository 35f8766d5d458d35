/*
 * What `onenet-led chip build stm32 | zephyr/<board>` relies on, checked without any SDK: the
 * environment check names every missing piece, the CMake shims answer only where they must (run
 * with `cmake -P`), and our own Zephyr target, overlay and module agree with each other and with
 * manifest.json.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkZephyrEnvironment,
  linkReport,
  moddableZephyrVersion,
  ZEPHYR_DIR,
  zephyrBuildEnvironment,
  zephyrTarget,
  zephyrVersion,
} from "../../../host-sim/chip/stm32/build.js";

let root: string;

/** A fake machine: a Moddable folder, a Zephyr workspace of the given version, tools on PATH. */
function fakeMachine(zephyr: string, moddableWants: string, modules = ["hal/stm32", "hal/cmsis_6", "lib/picolibc"]) {
  const dir = mkdtempSync(join(root, "m-"));
  const moddable = join(dir, "moddable");
  mkdirSync(join(moddable, "xs"), { recursive: true });
  mkdirSync(join(moddable, "build/devices/zephyr/config"), { recursive: true });
  mkdirSync(join(moddable, "build/bin/lin/release"), { recursive: true });
  writeFileSync(join(moddable, "build/bin/lin/release/mcconfig"), "");
  writeFileSync(join(moddable, "build/devices/zephyr/config/CMakeLists.txt.prefix"), `find_package(Zephyr-sdk 1.0.1 REQUIRED)\nfind_package(Zephyr ${moddableWants} REQUIRED HINTS $ENV{ZEPHYR_BASE})\n`);
  const [major, minor, patch] = zephyr.split(".");
  mkdirSync(join(dir, "ws/zephyr"), { recursive: true });
  writeFileSync(join(dir, "ws/zephyr/VERSION"), `VERSION_MAJOR = ${major}\nVERSION_MINOR = ${minor}\nPATCHLEVEL = ${patch}\nVERSION_TWEAK = 0\n`);
  for (const m of modules) mkdirSync(join(dir, "ws/modules", m), { recursive: true });
  const bin = join(dir, "bin");
  mkdirSync(bin);
  for (const tool of ["west", "cmake", "ninja", "dtc", "arm-none-eabi-gcc"]) writeFileSync(join(bin, tool), "");
  return { MODDABLE: moddable, ZEPHYR_BASE: join(dir, "ws/zephyr"), PATH: bin, GNUARMEMB_TOOLCHAIN_PATH: dir, HOME: dir } as NodeJS.ProcessEnv;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "zephyr-build-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const stm32 = zephyrTarget("stm32")!;
const nucleo = zephyrTarget("zephyr/nucleo_f413zh")!;

describe("targets", () => {
  it("stm32 is the emulated board; the real boards use Moddable's own targets", () => {
    expect(stm32).toMatchObject({ platform: "zephyr/olimex_stm32_h405", board: "olimex_stm32_h405", emulated: true });
    expect(stm32.mcconfigPlatform).toBe(`zephyr:${join(ZEPHYR_DIR, "targets/olimex_stm32_h405")}`);
    expect(nucleo).toMatchObject({ mcconfigPlatform: "zephyr/nucleo_f413zh", emulated: false });
    expect(zephyrTarget("zephyr/nope")).toBeUndefined();
  });

  it("the real STM32 boards carry the budget measured on the emulated STM32F405 (same core, same firmware)", () => {
    const manifest = JSON.parse(readFileSync(join(ZEPHYR_DIR, "../../manifest.json"), "utf8"));
    const measured = manifest.platforms["zephyr/olimex_stm32_h405"];
    for (const board of ["zephyr/nucleo_f413zh", "zephyr/stm32f4_disco"]) {
      expect(manifest.platforms[board].creation, board).toEqual(measured.creation);
      expect(manifest.platforms[board].zephyrConfig.CONFIG_HEAP_MEM_POOL_SIZE, board).toBe(measured.zephyrConfig.CONFIG_HEAP_MEM_POOL_SIZE);
    }
  });

  it("each has a manifest.json entry with a creation budget and picolibc", () => {
    const manifest = JSON.parse(readFileSync(join(ZEPHYR_DIR, "../../manifest.json"), "utf8"));
    for (const name of ["stm32", "zephyr/nucleo_f413zh", "zephyr/stm32f4_disco"]) {
      const entry = manifest.platforms[zephyrTarget(name)!.platform];
      expect(entry, name).toBeDefined();
      expect(entry.creation.static, name).toBeGreaterThan(0);
      expect(entry.zephyrConfig, name).toMatchObject({ CONFIG_NEWLIB_LIBC: "n", CONFIG_PICOLIBC: "y" });
    }
  });
});

describe("the environment check", () => {
  it("names every missing piece at once, with where to get it", () => {
    const problems = checkZephyrEnvironment({ PATH: "/nonexistent" });
    const text = problems.join("\n");
    for (const what of ["MODDABLE is not set", "ZEPHYR_BASE is not set", "west is not on PATH", "cmake is not on PATH", "ninja is not on PATH", "dtc is not on PATH", "no Zephyr SDK found"]) {
      expect(text).toContain(what);
    }
    expect(text).toContain("ZEPHYR_TOOLCHAIN_VARIANT=gnuarmemb GNUARMEMB_TOOLCHAIN_PATH=/usr");
  });

  it("passes a complete gnuarmemb machine, and names a missing module or toolchain", () => {
    const env = { ...fakeMachine("4.3.0", "4.4.0"), ZEPHYR_TOOLCHAIN_VARIANT: "gnuarmemb" };
    expect(checkZephyrEnvironment(env)).toEqual([]);
    const noPicolibc = { ...fakeMachine("4.3.0", "4.4.0", ["hal/stm32", "hal/cmsis_6"]), ZEPHYR_TOOLCHAIN_VARIANT: "gnuarmemb" };
    expect(checkZephyrEnvironment(noPicolibc).join("\n")).toMatch(/module picolibc is missing/);
    const noHal = { ...fakeMachine("4.3.0", "4.4.0", ["hal/cmsis_6", "lib/picolibc"]), ZEPHYR_TOOLCHAIN_VARIANT: "gnuarmemb" };
    expect(checkZephyrEnvironment(noHal).join("\n")).toMatch(/module hal_stm32 is missing/);
    const noGcc = { ...env, GNUARMEMB_TOOLCHAIN_PATH: "/nonexistent" };
    expect(checkZephyrEnvironment(noGcc).join("\n")).toMatch(/GNUARMEMB_TOOLCHAIN_PATH/);
  });

  it("refuses a Zephyr older than 4.3 and reads the versions involved", () => {
    const env: NodeJS.ProcessEnv = { ...fakeMachine("4.2.1", "4.4.0"), ZEPHYR_TOOLCHAIN_VARIANT: "gnuarmemb" };
    expect(checkZephyrEnvironment(env).join("\n")).toContain("Zephyr 4.2.1 at ZEPHYR_BASE is too old: Moddable needs 4.3.0 or newer");
    expect(zephyrVersion(env.ZEPHYR_BASE!)).toEqual({ major: 4, minor: 2, patch: 1 });
    expect(moddableZephyrVersion(env.MODDABLE!)).toEqual({ major: 4, minor: 4, patch: 0 });
  });
});

describe("the build environment", () => {
  it("adds the CMake shims only where the machine needs them, and the QEMU module only for the emulated board", () => {
    const gnu = { ...fakeMachine("4.3.0", "4.4.0"), ZEPHYR_TOOLCHAIN_VARIANT: "gnuarmemb" };
    const a = zephyrBuildEnvironment(stm32, gnu);
    expect(a.env.CMAKE_PREFIX_PATH).toBe(`${join(ZEPHYR_DIR, "cmake/gnuarmemb")}:${join(ZEPHYR_DIR, "cmake/zephyr-4.3")}`);
    expect(a.shims).toHaveLength(2);
    expect(a.env.ZEPHYR_EXTRA_MODULES).toBe(join(ZEPHYR_DIR, "qemu-stm32"));
    expect(a.env.PATH!.split(":")[0]).toMatch(/node_modules\/\.bin$/);

    const sdk = { ...fakeMachine("4.4.0", "4.4.0"), ZEPHYR_TOOLCHAIN_VARIANT: "zephyr" };
    const b = zephyrBuildEnvironment(nucleo, sdk);
    expect(b.shims).toEqual([]);
    expect(b.env.CMAKE_PREFIX_PATH).toBeUndefined();
    expect(b.env.ZEPHYR_EXTRA_MODULES).toBeUndefined();
  });
});

describe("the CMake shims (cmake -P)", () => {
  beforeAll(() => {
    try {
      execFileSync("cmake", ["--version"], { stdio: "ignore" });
    } catch {
      throw new Error("cmake is missing: apt-get install cmake (.ci/run does)");
    }
  });

  /** Runs a version file as find_package would: "<version> <compatible>". */
  function run(file: string, wanted: string, env: NodeJS.ProcessEnv): string {
    const script = join(mkdtempSync(join(root, "p-")), "probe.cmake");
    writeFileSync(script, `set(PACKAGE_FIND_VERSION "${wanted}")\ninclude("${file}")\nmessage(STATUS "result: \${PACKAGE_VERSION} \${PACKAGE_VERSION_COMPATIBLE}")\n`);
    const out = execFileSync("cmake", ["-P", script], { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" });
    return /result: (.*)/.exec(out)?.[1] ?? out;
  }

  it("Zephyr-sdk: accepted for another toolchain variant, never for the Zephyr SDK's own", () => {
    const file = join(ZEPHYR_DIR, "cmake/gnuarmemb/Zephyr-sdk/Zephyr-sdkConfigVersion.cmake");
    expect(run(file, "1.0.1", { ZEPHYR_TOOLCHAIN_VARIANT: "gnuarmemb" })).toBe("1.0.1 TRUE");
    expect(run(file, "1.0.1", { ZEPHYR_TOOLCHAIN_VARIANT: "zephyr" })).toBe("0 FALSE");
    expect(run(file, "1.0.1", {})).toBe("0 FALSE");
  });

  it("Zephyr: reports ZEPHYR_BASE's real version, compatible from 4.3.0 on", () => {
    const file = join(ZEPHYR_DIR, "cmake/zephyr-4.3/Zephyr/ZephyrConfigVersion.cmake");
    expect(run(file, "4.4.0", { ZEPHYR_BASE: fakeMachine("4.3.0", "4.4.0").ZEPHYR_BASE })).toBe("4.3.0 TRUE");
    expect(run(file, "4.4.0", { ZEPHYR_BASE: fakeMachine("4.2.9", "4.4.0").ZEPHYR_BASE })).toBe("4.2.9 FALSE");
  });
});

describe("our Zephyr files", () => {
  const read = (p: string) => readFileSync(join(ZEPHYR_DIR, p), "utf8");

  it("the emulated target names its board and overlay, and switches the QEMU drivers in for the clock driver", () => {
    const target = JSON.parse(read("targets/olimex_stm32_h405/manifest.json"));
    expect(target.build).toEqual({ ZEPHYR_BOARD: "olimex_stm32_h405", SUBPLATFORM: "olimex_stm32_h405" });
    expect(target.zephyrConfig).toEqual({ CONFIG_QEMU_STM32F4: "y", CONFIG_CLOCK_CONTROL_STM32_CUBE: "n" });
    for (const overlay of target.zephyrOverlay) expect(() => read(join("targets/olimex_stm32_h405", overlay))).not.toThrow();
    expect(read("targets/olimex_stm32_h405/host/provider.js")).toContain('from "mc/devicetree"');
  });

  it("the overlay enables the USART manifest.json gives the ESP8266 and disables the RTC", () => {
    const overlay = read("targets/olimex_stm32_h405/qemu.overlay");
    const manifest = JSON.parse(readFileSync(join(ZEPHYR_DIR, "../../manifest.json"), "utf8"));
    const port = manifest.platforms["zephyr/olimex_stm32_h405"].config.uartPort as string;
    const node = new RegExp(`&${port}\\s*\\{([^}]*)\\}`).exec(overlay);
    expect(node, `&${port} in the overlay`).not.toBeNull();
    expect(node![1]).toMatch(/status = "okay"/);
    expect(node![1]).toMatch(/current-speed = <115200>/);
    expect(overlay).toMatch(/&rtc\s*\{\s*status = "disabled";/);
  });

  it("the qemu-stm32 module builds every source it names, under symbols its Kconfig defines", () => {
    const yml = read("qemu-stm32/zephyr/module.yml");
    expect(yml).toMatch(/kconfig: Kconfig/);
    const kconfig = read("qemu-stm32/Kconfig");
    const cmake = read("qemu-stm32/CMakeLists.txt");
    for (const [, symbol] of cmake.matchAll(/CONFIG_(\w+)/g)) expect(kconfig, symbol).toMatch(new RegExp(`^config ${symbol}$`, "m"));
    for (const [, source] of cmake.matchAll(/(src\/\w+\.c)/g)) expect(() => read(`qemu-stm32/${source}`), source).not.toThrow();
    // The RCC stand-in can only be chosen with Zephyr's own clock driver off.
    expect(kconfig).toMatch(/config QEMU_STM32F4_RCC[\s\S]*?depends on !CLOCK_CONTROL_STM32_CUBE/);
  });
});

const CLI = join(import.meta.dirname, "../../../bin/onenet-led.js");

describe("command line", () => {
  it("`chip build` names every missing piece of the set-up and exits 1, before running anything", () => {
    const result = spawnSync(process.execPath, [CLI, "chip", "build", "zephyr/nucleo_f413zh", "--ssid", "MyWiFi", "--password", "secret123"], {
      encoding: "utf8",
      env: { PATH: dirname(process.execPath), HOME: root },
    });
    expect(result.status).toBe(1);
    for (const what of ["MODDABLE is not set", "ZEPHYR_BASE is not set", "west is not on PATH", "no Zephyr SDK found"]) expect(result.stderr).toContain(what);
    expect(result.stderr + result.stdout).not.toContain("secret123");
  });

  it("`chip build` refuses an unknown board, naming the boards, and --debug for an STM32 image", () => {
    const unknown = spawnSync(process.execPath, [CLI, "chip", "build", "zephyr/nope"], { encoding: "utf8" });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain("(pico, stm32, zephyr/olimex_stm32_h405, zephyr/nucleo_f413zh, zephyr/stm32f4_disco)");
    const debug = spawnSync(process.execPath, [CLI, "chip", "build", "stm32", "--debug"], { encoding: "utf8" });
    expect(debug.status).toBe(1);
    expect(debug.stderr).toContain("release or --instrument builds");
  });

  it("reads Zephyr's link report", () => {
    const log = "Memory region         Used Size  Region Size  %age Used\n           FLASH:      548176 B         1 MB     52.28%\n             RAM:      118208 B       128 KB     90.19%\n           SRAM0:          0 GB       128 KB      0.00%\n";
    expect(linkReport(log)).toEqual({ FLASH: { used: 548176, size: 1048576 }, RAM: { used: 118208, size: 131072 }, SRAM0: { used: 0, size: 131072 } });
  });
});
