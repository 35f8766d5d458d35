/*
 * The chip commands as a user runs them, without an SDK: `onenet-led chip build pico` names what is
 * missing, `onenet-led run --chip pico` checks its image and bootrom before anything starts and
 * runs a UF2 (our bare-metal program, with a stand-in bootrom it never calls) on the emulated Pico.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { startCli } from "../helpers/cli.js";
import { bareMetalUf2 } from "./baremetal.js";

const dir = mkdtempSync(join(tmpdir(), "onenet-led-chip-cli-"));
const uf2 = join(dir, "echo.uf2");
const notUf2 = join(dir, "firmware.bin");
/** Shaped like the RP2040's ROM (its first word, 16 KB) but empty: our program never calls the ROM. */
const standInRom = join(dir, "rom.bin");

beforeAll(() => {
  writeFileSync(uf2, bareMetalUf2());
  writeFileSync(notUf2, new Uint8Array(1024));
  const rom = Buffer.alloc(16384);
  rom.writeUInt32LE(0x20041f00, 0);
  writeFileSync(standInRom, rom);
});

async function failsWith(args: string[], message: RegExp, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const p = startCli(args, { env });
  const { code } = await p.exited;
  expect(code).toBe(1);
  expect(p.stderr).toMatch(message);
  expect(p.text).not.toMatch(/\n\s+at /); // no stack trace
}

describe("onenet-led chip build", () => {
  it("names every missing piece of the toolchain and exits 1 before running anything", async () => {
    const home = mkdtempSync(join(tmpdir(), "onenet-led-home-"));
    const env = { MODDABLE: "", PICO_ROOT: "", PICO_SDK_DIR: "", PICO_EXTRAS_DIR: "", PICO_GCC_ROOT: join(home, "gcc"), HOME: home };
    const p = startCli(["chip", "build", "pico"], { env: { ...env, MODDABLE: undefined as unknown as string } });
    const { code } = await p.exited;
    expect(code).toBe(1);
    expect(p.stderr).toMatch(/cannot build for pico; missing:/);
    expect(p.stderr).toMatch(/MODDABLE is not set/);
    expect(p.stderr).toMatch(/PICO_ROOT .* does not exist/);
    expect(p.stderr).toMatch(/arm-none-eabi-gcc/);
  });

  it("refuses what it cannot build", async () => {
    await failsWith(["chip", "build", "esp8266"], /unknown board "esp8266" \(pico, stm32, zephyr\/olimex_stm32_h405, zephyr\/nucleo_f413zh, zephyr\/stm32f4_disco\)/);
    await failsWith(["chip", "flash", "pico"], /unknown chip command "flash"/);
    await failsWith(["chip", "build", "pico", "--debug", "--instrument"], /do not go together/);
  });
});

describe("onenet-led run --chip pico", () => {
  it("says what is wrong with the image or the bootrom, at once", async () => {
    await failsWith(["run", "--chip", "pico", "--no-dashboard"], /needs --image <file.uf2>.*chip build pico/);
    await failsWith(["run", "--chip", "esp32", "--image", uf2], /--chip must be pico/);
    await failsWith(["run", "--image", uf2], /--image goes with --chip pico/);
    await failsWith(["run", "--chip", "pico", "--image", join(dir, "missing.uf2")], /missing\.uf2: no such file/);
    await failsWith(["run", "--chip", "pico", "--image", notUf2, "--bootrom", standInRom], /firmware\.bin: not a UF2 image/);
    await failsWith(["run", "--chip", "pico", "--image", uf2], /the RP2040 bootrom is needed: give --bootrom PATH or set RP2040_BOOTROM/, { RP2040_BOOTROM: "" });
    await failsWith(["run", "--chip", "pico", "--image", uf2, "--bootrom", notUf2], /is not an RP2040 bootrom/);
  });

  it("runs a UF2 on the emulated Pico beside the emulated module, then stops cleanly", async () => {
    const p = startCli(["run", "--chip", "pico", "--image", uf2, "--no-dashboard", "--duration", "3"], { env: { RP2040_BOOTROM: standInRom } });
    await p.waitFor(/runs on an emulated Raspberry Pi Pico/, 20_000);
    // The module boots and talks to the chip's UART; our program echoes it back (the module answers ERROR).
    await p.waitFor(/wifi module-ready/, 20_000);
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(p.stdout).toMatch(/stopping \(--duration 3\): the emulated chip is powered off/);
  });
});
