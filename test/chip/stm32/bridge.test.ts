/*
 * The QEMU STM32 bridge end to end, without any SDK: a bare-metal STM32F405 program of ours
 * (fixtures/bridge.c, compiled here with Debian's arm-none-eabi-gcc) runs in QEMU netduinoplus2 on
 * the bench, in real time, against the ESP8266 emulator through the VirtualUart. It exercises what
 * the Zephyr image relies on: the console USART becomes the board's log, the modem USART reaches
 * the emulator both ways (a command longer than the UART's FIFO arrives whole and paced), and
 * GPIO writes (ODR, then BSRR's halves) move the bench's LED.
 *
 * Needs qemu-system-arm and gcc-arm-none-eabi (.ci/run installs them); without them it fails
 * saying what to install.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findQemu } from "../../../host-sim/chip/stm32/qemu.js";
import { stm32Device, type Stm32Device } from "../../../host-sim/chip/stm32/stm32-device.js";
import { stm32Wiring } from "../../../host-sim/chip/stm32/wiring.js";
import { Simulation } from "../../../host-sim/sim.js";

const FIXTURES = join(import.meta.dirname, "fixtures");

function gcc(): string {
  try {
    execFileSync("arm-none-eabi-gcc", ["--version"], { stdio: "ignore" });
    return "arm-none-eabi-gcc";
  } catch {
    throw new Error("arm-none-eabi-gcc is missing: apt-get install gcc-arm-none-eabi (.ci/run does)");
  }
}

describe("QEMU STM32 bridge", () => {
  let dir: string;
  let elf: string;

  beforeAll(() => {
    if (!findQemu()) throw new Error("qemu-system-arm is missing: apt-get install qemu-system-arm (.ci/run does)");
    dir = mkdtempSync(join(tmpdir(), "stm32-bridge-"));
    elf = join(dir, "bridge.elf");
    execFileSync(gcc(), ["-mcpu=cortex-m4", "-mthumb", "-Os", "-nostdlib", "-ffreestanding", "-Wall", "-Werror",
      "-T", join(FIXTURES, "bridge.ld"), "-o", elf, join(FIXTURES, "bridge.c")]);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("carries the console, both directions of the modem USART and the LED pin between QEMU and the bench", async () => {
    const wiring = stm32Wiring();
    const console: string[] = [];
    const sim = await Simulation.create(
      { mode: "real", ledActiveLow: wiring.led.activeLow, baud: wiring.baud },
      stm32Device({ elf, usarts: wiring.usarts, led: wiring.led, onConsole: (e) => e.kind === "line" && console.push(e.text) }),
    );
    const toModule: number[] = [];
    const sends: { t: number; bytes: Uint8Array }[] = [];
    sim.onEvent((event) => {
      if (event.type !== "uart" || event.direction !== "to-module") return;
      toModule.push(...event.bytes);
      sends.push(event);
    });
    const device: Stm32Device = sim.device;
    try {
      sim.start();
      await device.started;
      const deadline = Date.now() + 20_000;
      while (!console.includes("bridge: done") && Date.now() < deadline && !device.failure) await new Promise((r) => setTimeout(r, 50));
      expect(device.failure).toBeUndefined();
      expect(console).toContain("bridge: up");
      // The emulator answered the program's AT (it came through the modem USART and the VirtualUart) ...
      expect(console).toContain("modem: OK");
      // ... and refused the 306-byte command, which reached it whole, in order.
      const long = "AT+" + Array.from({ length: 300 }, (_, i) => String.fromCharCode(65 + (i % 26))).join("") + "\r\n";
      expect(Buffer.from(toModule).toString("latin1")).toContain(long);
      expect(console).toContain("modem: ERROR");
      expect(console.at(-1)).toBe("bridge: done");
      // The console became the board's log.
      expect(sim.board.logLines.map((l) => l.message)).toContain("modem: OK");
      // PC12, active low: off at boot (ODR), on after OK (BSRR reset half), off at the end (BSRR set half).
      const leds = sim.events.filter((e) => e.type === "led").map((e) => (e as { on: boolean }).on);
      expect(leds).toEqual([false, true, false]);
      expect(sim.ledOn).toBe(false);
      // Paced at the configured baud: 306 bytes at 115200 8N1 take at least 26 ms of board time.
      const at = Buffer.from(toModule).toString("latin1").indexOf(long);
      const timeOf = (position: number) => {
        let offset = 0;
        for (const e of sends) {
          offset += e.bytes.length;
          if (offset > position) return e.t;
        }
        return Number.NaN;
      };
      expect(timeOf(at + long.length - 1) - timeOf(at)).toBeGreaterThanOrEqual(Math.floor((long.length - 32) * 10 * 1000 / 115200));
    } finally {
      await device.shutdown();
      await sim.close();
    }
    expect(device.chip.running).toBe(false);
  }, 60_000);

  it("runs under `onenet-led run --chip stm32 --image`, the LED and the console on the terminal", () => {
    const cli = join(import.meta.dirname, "../../../bin/onenet-led.js");
    const result = spawnSync(process.execPath, [cli, "run", "--chip", "stm32", "--image", elf, "--no-dashboard", "--duration", "3"], {
      encoding: "utf8",
      input: "",
      timeout: 30_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`STM32F405 in QEMU (netduinoplus2) running ${elf}; USART6 to the ESP8266 at 115200 baud, LED on PC12`);
    expect(result.stdout).toMatch(/firmware info: bridge: up/);
    expect(result.stdout).toMatch(/LED ON[\s\S]*firmware info: bridge: done/);
    expect(result.stdout).toMatch(/LED OFF/);
  }, 60_000);

  it("`run --chip` refuses a missing image, an unknown chip and --image alone", () => {
    const cli = join(import.meta.dirname, "../../../bin/onenet-led.js");
    const missing = spawnSync(process.execPath, [cli, "run", "--chip", "stm32", "--image", join(dir, "nope.elf")], { encoding: "utf8" });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("no firmware image at");
    expect(missing.stderr).toContain("onenet-led chip build stm32");
    expect(spawnSync(process.execPath, [cli, "run", "--chip", "avr"], { encoding: "utf8" }).stderr).toContain("--chip must be pico or stm32");
    expect(spawnSync(process.execPath, [cli, "run", "--image", elf], { encoding: "utf8" }).stderr).toContain("--image goes with --chip pico or --chip stm32");
  });
});
