/*
 * The pieces of the QEMU STM32 bridge that need no QEMU: following a GPIO pin through QEMU's
 * log of register writes, console lines, and the bench's wiring read from manifest.json.
 */
import { describe, expect, it } from "vitest";
import { GpioModel, LineSplitter } from "../../../host-sim/chip/stm32/qemu.js";
import { levelOf } from "../../../host-sim/chip/chip-console.js";
import { stm32Wiring } from "../../../host-sim/chip/stm32/wiring.js";

const write = (port: string, offset: number, value: number, size = 4) =>
  `GPIO${port}: unimplemented device write (size ${size}, offset 0x${offset.toString(16).padStart(3, "0")}, value 0x${value.toString(16).padStart(8, "0")})`;

describe("GpioModel (QEMU's -d unimp log of GPIO writes)", () => {
  it("follows ODR writes, and BSRR set and reset halves", () => {
    const gpio = new GpioModel();
    expect(gpio.line(write("C", 0x14, 0x1000))).toEqual({ port: "c", odr: 0x1000 });
    expect(gpio.level("c", 12)).toBe(1);
    expect(gpio.line(write("C", 0x18, 1 << 28))).toEqual({ port: "c", odr: 0 }); // reset PC12
    expect(gpio.level("c", 12)).toBe(0);
    expect(gpio.line(write("C", 0x18, 1 << 12))).toEqual({ port: "c", odr: 0x1000 }); // set PC12
    // set wins over reset for the same pin; other pins keep their level
    gpio.line(write("C", 0x18, 1 << 3));
    expect(gpio.line(write("C", 0x18, (1 << 12) | (1 << 28) | (1 << 19)))).toEqual({ port: "c", odr: 0x1000 });
    expect(gpio.level("c", 3)).toBe(0);
    expect(gpio.level("c", 12)).toBe(1);
  });

  it("takes 16-bit writes to either half of BSRR", () => {
    const gpio = new GpioModel();
    gpio.line(write("B", 0x18, 0x0001, 2));
    expect(gpio.level("b", 0)).toBe(1);
    gpio.line(write("B", 0x1a, 0x0001, 2));
    expect(gpio.level("b", 0)).toBe(0);
  });

  it("ignores reads, other registers and other devices, and reports only changes", () => {
    const gpio = new GpioModel();
    expect(gpio.line("GPIOC: unimplemented device read  (size 4, offset 0x014)")).toBeUndefined();
    expect(gpio.line(write("C", 0x00, 0x01000000))).toBeUndefined(); // MODER
    expect(gpio.line("RCC: unimplemented device write (size 4, offset 0x030, value 0x00000004)")).toBeUndefined();
    expect(gpio.line(write("A", 0x14, 0))).toEqual({ port: "a", odr: 0 }); // first write is news
    expect(gpio.line(write("A", 0x14, 0))).toBeUndefined();
  });
});

describe("lines", () => {
  it("splits QEMU's stderr into CR LF and LF lines across chunks and bounds an endless line", () => {
    const lines: string[] = [];
    const split = new LineSplitter((l) => lines.push(l));
    split.push("*** Booting Zephyr\r\ninfo: sta");
    split.push("rting\ninfo: on");
    expect(lines).toEqual(["*** Booting Zephyr", "info: starting"]);
    split.push("line\r\n");
    expect(lines.at(-1)).toBe("info: online");
    split.push("x".repeat(5000));
    expect(lines.at(-1)).toHaveLength(5000);
  });

  it("maps the firmware's level prefix onto the board's log, and flags XS and fatal lines", () => {
    expect(levelOf("info: online")).toEqual({ level: "info", message: "online" });
    expect(levelOf("warn: offline: link-lost")).toEqual({ level: "warn", message: "offline: link-lost" });
    expect(levelOf("fatal: config-refused: config \"password\" ...")).toEqual({ level: "error", message: "fatal: config-refused: config \"password\" ..." });
    expect(levelOf("XS abort: memory full").level).toBe("error");
    expect(levelOf("*** Booting Zephyr OS build 4.3.0 ***")).toEqual({ level: "info", message: "*** Booting Zephyr OS build 4.3.0 ***" });
  });
});

describe("the bench's wiring of the emulated STM32 (from manifest.json)", () => {
  it("puts the ESP8266 on the USART and the LED on the pin the image was built with", () => {
    expect(stm32Wiring()).toEqual({ usarts: { console: 2, modem: 6 }, baud: 115200, led: { port: "c", pin: 12, activeLow: true } });
  });

  it("refuses a platform the manifest does not have", () => {
    expect(() => stm32Wiring("zephyr/nope")).toThrow(/no "zephyr\/nope" entry/);
  });
});
