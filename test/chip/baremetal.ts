/*
 * Builds host-sim/chip/baremetal (a tiny RP2040 program of ours: UART1 echo, GP25 on command, the
 * microsecond timer) with Debian's arm-none-eabi-gcc into a UF2, the way the emulated Pico loads
 * a Moddable image, so CI tests the chip bench without any SDK or bootrom.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FLASH_BASE } from "../../host-sim/chip/pico-chip.js";
import { writeUf2 } from "../../host-sim/chip/uf2.js";

const SOURCE = join(import.meta.dirname, "../../host-sim/chip/baremetal");

function tool(name: string): string {
  try {
    execFileSync(name, ["--version"], { stdio: "ignore" });
    return name;
  } catch {
    throw new Error(`${name} is missing: install Debian's gcc-arm-none-eabi (apt-get install gcc-arm-none-eabi); .ci/run does`);
  }
}

let cached: Uint8Array | undefined;

/** The program as a UF2 image (built once per test process). */
export function bareMetalUf2(): Uint8Array {
  if (cached) return cached;
  const gcc = tool("arm-none-eabi-gcc");
  const objcopy = tool("arm-none-eabi-objcopy");
  const out = mkdtempSync(join(tmpdir(), "onenet-led-baremetal-"));
  const elf = join(out, "echo.elf");
  const bin = join(out, "echo.bin");
  execFileSync(gcc, ["-mcpu=cortex-m0plus", "-mthumb", "-O2", "-ffreestanding", "-nostdlib", "-Wall", "-Wextra", "-Werror",
    "-T", join(SOURCE, "link.ld"), join(SOURCE, "start.s"), join(SOURCE, "echo.c"), "-lgcc", "-o", elf]);
  execFileSync(objcopy, ["-O", "binary", elf, bin]);
  cached = writeUf2(new Uint8Array(readFileSync(bin)), FLASH_BASE);
  return cached;
}
