/*
 * Moddable's Pico serial port (modules/io/serial/pico/serial.c) as its C source behaves, down to
 * the uint8 use count that frees the port: uart_irq() adds one per notification it wants to post
 * and posts a message only when none is out; each delivery takes one away and frees the port at
 * zero. With onReadable and onWritable both set, a write made while a delivery is queued leaks
 * one, so the count wraps after ~255 and the port is freed: the board goes deaf (seen on the
 * emulated Pico after ~15 sets, before a crash on the freed memory). The manifest's Pico entry
 * paces writes itself (uartTxFifo) and opens the port without onWritable. These tests drive the
 * board adapter through thousands of command/answer exchanges against that model, the TX FIFO
 * draining at the baud rate on a virtual clock.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { SerialPort } from "../../firmware/board.js";
import { type ModdableIO, ModdableBoard, type SerialDevice, type TimerApi } from "../../firmware/moddable/adapter.js";
import { parseBoardConfig } from "../../firmware/moddable/pins.js";

const FIFO_SIZE = 128;
const BAUD = 115200;

interface Timer {
  cb: () => void;
  at: number;
  repeat: number;
  live: boolean;
}

class Clock implements TimerApi<Timer> {
  now = 0;
  timers: Timer[] = [];
  repeat(cb: () => void, interval: number): Timer {
    const t = { cb, at: this.now + interval, repeat: interval, live: true };
    this.timers.push(t);
    return t;
  }
  schedule(t: Timer, interval?: number, repeat?: number): void {
    if (interval === undefined) t.live = false;
    else Object.assign(t, { live: true, at: this.now + interval, repeat: repeat ?? 0 });
  }
  nextDue(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) if (t.live && (!best || t.at < best.at)) best = t;
    return best;
  }
}

/** serial.c's SerialRecord and its uart_irq / serialDeliver / read / write, byte for byte in effect. */
class PicoSerial implements SerialDevice {
  isReadable = 0;
  isWritable = 0;
  useCount = 1;
  msgOut = 0;
  freed = false;
  queued = false; // the one message the port may have in the machine's queue
  rx: number[] = [];
  tx = 0; // bytes in the TX FIFO
  wire: number[] = [];
  refused = 0;
  constructor(
    readonly onReadable: (n: number) => void,
    readonly onWritable: ((n: number) => void) | undefined,
  ) {
    this.irq();
  }
  irq(): void {
    if (this.freed) return;
    let post = false;
    if (this.tx < FIFO_SIZE && this.onWritable) {
      post ||= this.isWritable === 0;
      this.isWritable = 1;
    }
    if (this.rx.length < FIFO_SIZE) {
      post ||= this.isReadable === 0;
      this.isReadable = 1;
    }
    if (post) {
      this.useCount = (this.useCount + 1) & 0xff;
      if (!this.msgOut) {
        this.msgOut = 1;
        this.queued = true;
      }
    }
  }
  deliver(): void {
    this.queued = false;
    this.useCount = (this.useCount - 1) & 0xff;
    if (this.useCount === 0) {
      this.freed = true;
      return;
    }
    this.msgOut = 0;
    if (this.isReadable) {
      this.isReadable = 0;
      if (this.rx.length) this.onReadable(this.rx.length);
    }
    if (this.isWritable && this.onWritable) {
      this.isWritable = 0;
      if (FIFO_SIZE - this.tx) this.onWritable(FIFO_SIZE - this.tx);
    }
  }
  read(arg: number | Uint8Array): never {
    if (this.freed) throw new Error("read from a freed port");
    if (typeof arg === "number" || arg.length <= 0 || arg.length > this.rx.length) throw new Error("invalid");
    arg.set(this.rx.splice(0, arg.length));
    this.irq();
    return arg as never;
  }
  write(value: Uint8Array | ArrayBuffer): void {
    if (this.freed) throw new Error("write to a freed port");
    const bytes = new Uint8Array(value as ArrayBuffer);
    if (bytes.length > FIFO_SIZE - this.tx) {
      this.refused++;
      throw new Error("output full");
    }
    this.tx += bytes.length;
    this.wire.push(...bytes);
    this.irq();
  }
}

function bench(config: Record<string, unknown>) {
  const clock = new Clock();
  let serial: PicoSerial | undefined;
  const io: ModdableIO<Timer> = {
    openSerial: (_cfg, r, w) => (serial = new PicoSerial(r, w)),
    openOutput: () => ({ write() {} }),
    timer: clock,
    ticks: () => clock.now,
    print() {},
  };
  const board = new ModdableBoard(parseBoardConfig(config), io);
  return { board, clock, serial: () => serial! };
}

/**
 * A command/answer loop the way the AT engine uses the port: every answer received makes the next
 * command (40 bytes) written at once from inside onReadable; the modem answers each complete
 * command with 20 bytes. Time advances in 1 ms steps: the FIFO drains at the baud rate, answers
 * arrive, the machine delivers the port's message and runs due timers.
 */
function exchange(config: Record<string, unknown>, commands: number) {
  const { board, clock, serial } = bench(config);
  const command = new Uint8Array(40).fill(0x41);
  const view = new Uint8Array(64);
  let started = 0; // commands begun
  let offset = command.length; // bytes of the current command written
  let answers = 0;
  const pump = (): void => {
    while (offset < command.length) {
      const n = port.write(command.subarray(offset));
      if (n === 0) return;
      offset += n;
    }
  };
  const next = (): void => {
    if (started === commands) return;
    started++;
    offset = 0;
    pump();
  };
  const port: SerialPort = board.openSerial({
    onReadable(count) {
      let left = count;
      while (left > 0) {
        const n = port.read(view.subarray(0, Math.min(left, view.length)));
        if (n === 0) break;
        left -= n;
        answers += n / 20;
      }
      next();
    },
    onWritable: pump,
  });
  const s = serial();
  let onWire = 0;
  next();
  for (let ms = 0; ms < commands * 20 && answers < commands && !s.freed; ms++) {
    clock.now = ms;
    s.tx = Math.max(0, s.tx - BAUD / 10000);
    s.irq();
    while (s.wire.length - onWire >= command.length && s.tx === 0) {
      onWire += command.length;
      s.rx.push(...new Array(20).fill(0x42));
      s.irq();
    }
    if (s.queued) s.deliver();
    for (let t = clock.nextDue(); t && t.at <= ms; t = clock.nextDue()) {
      if (t.repeat > 0) t.at += t.repeat;
      else t.live = false;
      t.cb();
    }
  }
  return { answers, freed: s.freed, useCount: s.useCount, refused: s.refused, wire: s.wire.length };
}

const manifest = JSON.parse(readFileSync(new URL("../../manifest.json", import.meta.url), "utf8"));
const pico = { ...manifest.config, ...manifest.platforms.pico.config, ssid: "x" };

describe("Moddable's Pico serial port", () => {
  it("with onWritable the model frees the port within a few hundred commands (the bug the pacing avoids)", () => {
    const r = exchange({ ...pico, uartTxFifo: 0 }, 2000);
    expect(r.freed).toBe(true);
    expect(r.answers).toBeLessThan(400);
  });

  it("the manifest's Pico entry paces writes: 2,000 commands answered, the port alive and its count steady", () => {
    expect(pico.uartTxFifo).toBe(FIFO_SIZE);
    const r = exchange(pico, 2000);
    expect(r.freed).toBe(false);
    expect(r.answers).toBe(2000);
    expect(r.wire).toBe(2000 * 40);
    expect(r.useCount).toBeLessThanOrEqual(2);
    expect(r.refused).toBe(0);
  });

  it("a paced burst never overfills the FIFO and is written in full as it drains", () => {
    const { board, clock, serial } = bench(pico);
    const data = new Uint8Array(1000).map((_, i) => i & 0xff);
    let sent = 0;
    let wakes = 0;
    const port = board.openSerial({
      onReadable() {},
      onWritable() {
        wakes++;
        sent += port.write(data.subarray(sent));
      },
    });
    sent += port.write(data);
    expect(sent).toBe(FIFO_SIZE);
    const s = serial();
    for (let ms = 1; ms < 200 && sent < data.length; ms++) {
      clock.now = ms;
      s.tx = Math.max(0, s.tx - BAUD / 10000);
      for (let t = clock.nextDue(); t && t.at <= ms; t = clock.nextDue()) {
        t.live = t.repeat > 0;
        t.at += t.repeat;
        t.cb();
      }
    }
    expect(sent).toBe(data.length);
    expect(s.wire).toEqual([...data]);
    expect(s.refused).toBe(0);
    expect(wakes).toBeGreaterThan(0);
    // 1,000 bytes at 115200 baud take 87 ms on the wire; pacing at 90 % may take ~10 % longer.
    expect(clock.now).toBeLessThan(110);
  });
});
