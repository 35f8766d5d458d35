/*
 * The emulated Pico board (host-sim/chip) on every commit, without the Pico SDK or the bootrom: a
 * bare-metal program of ours, compiled here with Debian's arm-none-eabi-gcc, loaded from UF2 like
 * a Moddable image, talking over the bench's UART (paced at the baud rate in emulated time) and
 * driving GP25 into the bench's virtual LED, with time taken from the chip's cycle count.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { HostBoard } from "../../host-sim/board.js";
import { VirtualClock } from "../../host-sim/clock.js";
import { PICO_HZ } from "../../host-sim/chip/pico-chip.js";
import { PicoDevice } from "../../host-sim/chip/pico-device.js";
import { parseUf2, type Uf2Image, Uf2Error, writeUf2 } from "../../host-sim/chip/uf2.js";
import { VirtualUart } from "../../host-sim/uart.js";
import { bareMetalUf2 } from "./baremetal.js";

const BYTE_MS = 10_000 / 115_200; // 8N1 at 115200 baud
const BYTE_CYCLES = (BYTE_MS / 1000) * PICO_HZ; // ~10,851

let image: Uf2Image;
beforeAll(() => {
  image = parseUf2(bareMetalUf2());
});

function bench() {
  const clock = new VirtualClock();
  const uart = new VirtualUart(clock, { baud: 115200, chunkSize: 1 });
  const board = new HostBoard({ clock, openSerial: (h) => uart.mcu.open(h) });
  const chip = new PicoDevice({ image }, { board, clock, uart });
  const fromChip: { text: string; time: number }[] = [];
  uart.module.onData = (bytes) => {
    for (const b of bytes) fromChip.push({ text: String.fromCharCode(b), time: clock.now() });
  };
  const received = () => fromChip.map((c) => c.text).join("");
  const send = (text: string) => uart.module.write(new TextEncoder().encode(text));
  return { clock, uart, board, chip, fromChip, received, send };
}

describe("UF2 images", () => {
  it("round-trips a flash image through our writer and parser (RP2040 family, 256-byte blocks)", () => {
    const flash = Uint8Array.from({ length: 700 }, (_, i) => i & 0xff);
    const parsed = parseUf2(writeUf2(flash, 0x10000000));
    expect(parsed.blocks.map((b) => b.address)).toEqual([0x10000000, 0x10000100, 0x10000200]);
    expect(parsed.flashBytes).toBe(768);
    expect(Array.from(parsed.blocks[2].data.subarray(0, 188))).toEqual(Array.from(flash.subarray(512)));
  });

  it("refuses what is not UF2, and skips blocks of another chip family", () => {
    expect(() => parseUf2(new Uint8Array(0))).toThrow(Uf2Error);
    expect(() => parseUf2(new Uint8Array(513))).toThrow(/not a whole number of 512-byte blocks/);
    expect(() => parseUf2(new Uint8Array(512))).toThrow(/no UF2 magic/);
    const rp2350 = writeUf2(new Uint8Array(256), 0x10ffff00, 0xe48bff57);
    expect(() => parseUf2(rp2350)).toThrow(/no RP2040 blocks/);
    const both = new Uint8Array([...writeUf2(new Uint8Array(256), 0x10000000), ...rp2350]);
    expect(parseUf2(both)).toMatchObject({ flashBytes: 256, skipped: 1 });
  });
});

describe("the emulated Pico running a bare-metal program", () => {
  it("boots from flash and speaks on UART1 at the baud it programmed, paced on the wire", () => {
    const b = bench();
    b.chip.start();
    b.clock.runUntilTrue(() => b.received() === "ready\r\n", 10);
    expect(b.received()).toBe("ready\r\n");
    expect(b.chip.uartBaud).toBeGreaterThan(115_200 * 0.99);
    expect(b.chip.uartBaud).toBeLessThan(115_200 * 1.01);
    // rp2040js hands the bytes over at once; the wire carries one every 86.8 us.
    const gaps = b.fromChip.slice(1).map((c, i) => c.time - b.fromChip[i].time);
    for (const gap of gaps) expect(gap).toBeCloseTo(BYTE_MS, 6);
  });

  it("receives bytes one at a time at the baud rate, echoes them, and switches GP25 into the virtual LED", () => {
    const b = bench();
    b.chip.start();
    b.clock.runUntilTrue(() => b.received() === "ready\r\n", 10);
    const cycles: number[] = [];
    b.chip.onRxByte = (_byte, cycle) => cycles.push(cycle);
    b.fromChip.length = 0;
    b.send("xyzL");
    b.clock.advance(2);
    expect(b.received()).toBe("xyzL");
    expect(b.board.led.lit).toBe(true);
    // Consecutive bytes reach the chip's FIFO one byte time apart, in cycles.
    for (let i = 1; i < cycles.length; i++) expect(Math.abs(cycles[i] - cycles[i - 1] - BYTE_CYCLES)).toBeLessThan(2);
    const edge = b.chip.ledEdges.at(-1)!;
    expect(edge.level).toBe(1);
    // The edge follows the byte that asked for it within a few hundred cycles (a poll loop).
    expect(edge.cycle - cycles[3]).toBeGreaterThan(0);
    expect(edge.cycle - cycles[3]).toBeLessThan(2000);
    b.send("t");
    b.clock.advance(1);
    expect(b.board.led.lit).toBe(false);
    expect(b.board.led.history.map((h) => h.level)).toEqual([1, 0]);
  });

  it("keeps the chip's timer on the bench clock: emulated microseconds follow board time exactly", () => {
    const b = bench();
    b.chip.start();
    b.clock.runUntilTrue(() => b.received() === "ready\r\n", 10);
    let askedAt = 0;
    b.chip.onRxByte = (byte, cycle) => {
      if (byte === 0x54) askedAt = cycle; // "T" reached the chip's FIFO
    };
    const stamp = () => {
      b.fromChip.length = 0;
      b.send("T");
      b.clock.runUntilTrue(() => b.received().endsWith("\r\n"), 5);
      return { us: Number(/^T(\d+)\r\n$/.exec(b.received())![1]), cycle: askedAt };
    };
    const first = stamp();
    b.clock.advance(250); // a quarter of a second of board time
    const second = stamp();
    const chipUs = second.us - first.us;
    const cycleUs = ((second.cycle - first.cycle) / PICO_HZ) * 1e6;
    expect(cycleUs).toBeGreaterThan(250_000);
    expect(Math.abs(chipUs - cycleUs)).toBeLessThanOrEqual(2);
    // Board time is the cycle count.
    expect(b.chip.chip.cycles).toBe(Math.ceil((b.chip.chip.timeMs * PICO_HZ) / 1000));
    expect(b.chip.timeMs).toBeCloseTo(b.clock.now(), 3);
  });

  it("counts the bytes a chip whose UART is still off cannot take (the module's boot noise)", () => {
    const b = bench();
    b.send("noise before power-on");
    b.clock.advance(5);
    expect(b.chip.uartStats.lostWhileOff).toBe(21);
    b.chip.start();
    b.clock.runUntilTrue(() => b.received() === "ready\r\n", 10);
    expect(b.received()).toBe("ready\r\n");
  });
});
