/*
 * The Moddable board adapter against fakes that behave like Moddable's ports as their C sources
 * do (modules/io/serial/{esp32,pico,lin}/serial.c, modules/base/timer/mc/timer.c): reads that
 * return undefined or throw when empty, writes that throw when the FIFO is full, one-shot timers
 * freed after firing.
 */
import { describe, expect, it } from "vitest";
import type { SerialHandlers } from "../../firmware/board.js";
import { type ModdableIO, ModdableBoard, type SerialDevice, type TimerApi } from "../../firmware/moddable/adapter.js";
import { type ModdableBoardConfig, parseBoardConfig } from "../../firmware/moddable/pins.js";

type Flavor = "esp32" | "pico" | "lin";
const FIFO = 128;

class FakeSerial implements SerialDevice {
  rx: number[] = [];
  wire: number[] = [];
  txQueued = 0; // bytes in the TX FIFO not yet on the wire
  linPending = false;
  constructor(
    readonly flavor: Flavor,
    readonly onReadable: (n: number) => void,
    readonly onWritable: ((n: number) => void) | undefined,
  ) {}
  read(arg: number | Uint8Array): never {
    const available = this.rx.length;
    if (this.flavor === "lin") {
      if (available === 0) return undefined as never;
      const count = typeof arg === "number" ? Math.min(arg, available) : 0; // xsToInteger(object) is 0
      return new Uint8Array(this.rx.splice(0, count)).buffer as never;
    }
    if (typeof arg === "number") throw new Error("test uses buffers only");
    if (this.flavor === "pico") {
      if (arg.length <= 0 || arg.length > available) throw new Error("invalid");
      arg.set(this.rx.splice(0, arg.length));
      return arg as never;
    }
    if (available === 0) return undefined as never;
    const n = Math.min(arg.length, available);
    arg.set(this.rx.splice(0, n));
    return n as never;
  }
  write(value: Uint8Array | ArrayBuffer): void {
    if (this.flavor === "lin") {
      if (!(value instanceof ArrayBuffer)) throw new TypeError("no ArrayBuffer");
      if (this.linPending) throw new Error("would overflow");
      this.wire.push(...new Uint8Array(value));
      this.linPending = true;
      return;
    }
    if (!(value instanceof Uint8Array)) throw new TypeError("test writes views");
    if (value.length > FIFO - this.txQueued) throw new Error("output full");
    this.wire.push(...value);
    this.txQueued += value.length;
  }
  /** The FIFO drains and the port calls onWritable, as its interrupt would. */
  drain(): void {
    this.txQueued = 0;
    this.linPending = false;
    this.onWritable?.(this.flavor === "lin" ? 1024 : FIFO);
  }
  receive(bytes: number[]): void {
    this.rx.push(...bytes);
    this.onReadable(this.rx.length);
  }
}

interface FakeTimer {
  cb: () => void;
  trigger: number;
  repeat: number;
  unscheduled: boolean;
  removed: boolean;
}

/** Moddable's mc timers: schedule(t) unschedules; a timer whose repeat is 0 is freed after it fires. */
class FakeTimers implements TimerApi<FakeTimer> {
  now = 0;
  all: FakeTimer[] = [];
  repeat(cb: () => void, interval: number): FakeTimer {
    const t = { cb, trigger: this.now + interval, repeat: interval, unscheduled: false, removed: false };
    this.all.push(t);
    return t;
  }
  schedule(t: FakeTimer, interval?: number, repeat?: number): void {
    if (t.removed) throw new Error("timer was freed");
    if (interval === undefined) {
      t.unscheduled = true;
      t.repeat = -1;
    } else {
      t.unscheduled = false;
      t.trigger = this.now + interval;
      t.repeat = repeat ?? 0;
    }
  }
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = this.all.filter((t) => !t.removed && !t.unscheduled && t.trigger <= end).sort((a, b) => a.trigger - b.trigger)[0];
      if (!due) break;
      this.now = Math.max(this.now, due.trigger);
      due.trigger += due.repeat;
      due.cb();
      if (due.repeat === 0) due.removed = true;
    }
    this.now = end;
  }
}

function setup(flavor: Flavor, extra: Record<string, unknown> = {}) {
  const raw: Record<string, unknown> =
    flavor === "lin"
      ? { uartDevice: "/dev/pts/3", ledPin: "25", ...extra }
      : flavor === "pico"
        ? { uartReceive: "5", uartTransmit: "4", ledPin: "25", ...extra }
        : { uartPort: "2", uartReceive: "16", uartTransmit: "17", uartExactReads: "false", ledPin: "2", ...extra };
  const config: ModdableBoardConfig = parseBoardConfig(raw);
  const timers = new FakeTimers();
  const levels: Array<[number, 0 | 1]> = [];
  const lines: string[] = [];
  let serial: FakeSerial | undefined;
  const io: ModdableIO<FakeTimer> = {
    openSerial: (_cfg, r, w) => (serial = new FakeSerial(flavor, r, w)),
    openOutput: (p) => ({ write: (level) => void levels.push([p.pin, level]) }),
    timer: timers,
    ticks: () => timers.now,
    print: (line) => void lines.push(line),
  };
  const board = new ModdableBoard(config, io);
  return { board, timers, levels, lines, serial: () => serial!, config };
}

function bytes(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
}

describe.each(["esp32", "pico", "lin"] as const)("serial on %s", (flavor) => {
  it("reads everything announced, in order, never throwing, into a smaller buffer", () => {
    const { board, serial } = setup(flavor);
    const got: number[] = [];
    const view = new Uint8Array(64);
    const handlers: SerialHandlers = {
      onReadable(count) {
        expect(count).toBeGreaterThan(0);
        for (let n = port.read(view); n > 0; n = port.read(view)) got.push(...view.subarray(0, n));
      },
      onWritable() {},
    };
    const port = board.openSerial(handlers);
    expect(board.openSerial(handlers)).toBe(port); // one UART, opened once
    const data = bytes(300);
    serial().receive(data.slice(0, 5));
    serial().receive(data.slice(5, 200));
    serial().receive(data.slice(200));
    expect(got).toEqual(data);
    expect(port.read(view)).toBe(0); // empty: 0, not undefined, no throw
  });

  it("reads 0 when onReadable over-announced", () => {
    const { board, serial } = setup(flavor);
    const port = board.openSerial({ onReadable() {}, onWritable() {} });
    serial().receive([1, 2, 3]);
    serial().rx.length = 1; // the port had fewer bytes than it said
    const view = new Uint8Array(8);
    const n = port.read(view);
    expect(n).toBeLessThanOrEqual(1);
    expect(port.read(view)).toBe(0);
  });

  it("splits writes to what onWritable allows; all bytes arrive in order", () => {
    const { board, serial } = setup(flavor);
    const data = new Uint8Array(bytes(700));
    let sent = 0;
    const port = board.openSerial({
      onReadable() {},
      onWritable() {
        while (sent < data.length) {
          const n = port.write(data.subarray(sent));
          if (n === 0) break;
          expect(n).toBeLessThanOrEqual(flavor === "lin" ? 1024 : FIFO);
          sent += n;
        }
      },
    });
    expect(port.writable).toBe(0);
    expect(port.write(data)).toBe(0); // nothing announced yet: nothing written, no throw
    for (let i = 0; i < 20 && sent < data.length; i++) serial().drain();
    expect(sent).toBe(data.length);
    expect(serial().wire).toEqual([...data]);
  });
});

describe("serial write failures", () => {
  it("a FIFO with less room than announced returns 0 instead of throwing", () => {
    const { board, serial } = setup("esp32");
    const port = board.openSerial({ onReadable() {}, onWritable() {} });
    serial().drain();
    serial().txQueued = 120; // someone else filled it
    expect(port.write(new Uint8Array(20))).toBe(0);
    expect(port.writable).toBe(0);
    serial().drain();
    expect(port.write(new Uint8Array(20))).toBe(20);
    expect(port.writable).toBe(FIFO - 20);
  });
});

describe("timers", () => {
  it("fire once per schedule and can be rescheduled any number of times", () => {
    const { board, timers } = setup("esp32");
    const fired: number[] = [];
    const t = board.clock.createTimer(() => fired.push(timers.now));
    timers.advance(10_000);
    expect(fired).toEqual([]); // created idle
    t.schedule(100);
    timers.advance(1000);
    expect(fired).toEqual([10_100]);
    for (let i = 0; i < 5; i++) {
      t.schedule(0);
      timers.advance(5);
    }
    expect(fired).toHaveLength(6);
    t.schedule(50);
    t.schedule(200); // moves it
    timers.advance(100);
    expect(fired).toHaveLength(6);
    timers.advance(100);
    expect(fired).toHaveLength(7);
    t.schedule(10);
    t.cancel();
    timers.advance(1000);
    expect(fired).toHaveLength(7);
    expect(timers.all).toHaveLength(1); // one Moddable timer for the BoardTimer's whole life
    expect(timers.all[0]!.removed).toBe(false);
  });

  it("re-arms from inside its own callback", () => {
    const { board, timers } = setup("pico");
    let count = 0;
    const t = board.clock.createTimer(() => {
      count++;
      if (count < 3) t.schedule(10);
    });
    t.schedule(10);
    timers.advance(1000);
    expect(count).toBe(3);
  });

  it("now() is the monotonic tick count; wallTime is -1 without a set clock", () => {
    const { board, timers } = setup("esp32");
    timers.advance(1234);
    expect(board.clock.now()).toBe(1234);
    const w = board.clock.wallTime();
    expect(w === -1 || w > 1704067200000).toBe(true);
  });
});

describe("pins and log", () => {
  it("starts the LED dark (by polarity) and RST released", () => {
    expect(setup("pico").levels).toEqual([[25, 0]]);
    expect(setup("pico", { ledActiveLow: "true", rstPin: "6" }).levels).toEqual([
      [25, 1],
      [6, 1],
    ]);
    expect(setup("pico").board.moduleReset).toBeUndefined();
    expect(setup("pico", { rstPin: "6" }).board.moduleReset).toBeDefined();
  });

  it("filters the log by level", () => {
    const { board, lines } = setup("esp32", { logLevel: "warn" });
    board.log("info", "hidden");
    board.log("warn", "shown");
    board.log("error", "also shown");
    expect(lines).toEqual(["warn: shown\n", "error: also shown\n"]);
    const r = board.random();
    expect(r >= 0 && r < 1).toBe(true);
  });
});
