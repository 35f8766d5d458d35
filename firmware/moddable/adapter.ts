/*
 * The Board (firmware/board.ts) over Moddable's ECMA-419 IO, `timer` and `time` (wired in
 * ./board.ts). It hides what differs between Moddable's ports:
 * - read: ESP32 and Zephyr fill min(buffer, waiting) and return undefined when nothing waits;
 *   Pico throws unless the buffer is exactly no longer than what waits; lin only returns fresh
 *   ArrayBuffers. We read only inside what onReadable announced, with an exact-length view where
 *   the port needs it.
 * - write: every port throws ("output full", lin "would overflow") when given more than the FIFO
 *   takes, so we never write more than onWritable announced, and on lin nothing until the
 *   previous write drained (lin calls onWritable after each drain).
 * - onWritable on Pico must not be used: its serial.c counts each notification it cannot post
 *   (one is already queued) in a uint8 use count that only deliveries decrement; with both
 *   callbacks it leaks one per written command, wraps after ~255 and frees the port (the board
 *   goes deaf, then crashes on the freed memory; seen on the emulated Pico after ~15 sets).
 *   There (config uartTxFifo) writes are paced by the clock against the FIFO's size and the baud.
 * - timers: a one-shot Moddable timer is freed after it fires and cannot be rescheduled, so each
 *   BoardTimer is one repeating timer made once, unscheduled when idle (Timer.schedule(t)) and
 *   re-armed with Timer.schedule(t, ms, ms): no allocation per (re)arm.
 * Nothing here creates a typed array at module top level (preloaded modules are frozen in flash).
 */
import type { Board, BoardTimer, Clock, DigitalOutput, Log, LogLevel, SerialHandlers, SerialPort } from "../board.js";
import type { ModdableBoardConfig, PinSpec } from "./pins.js";

/**
 * What the adapter needs from Moddable, as ./board.ts wires it from the real modules (where the
 * calls are type-checked against Moddable's typings) and the tests from fakes of each port.
 */
export interface SerialDevice {
  read(byteLength: number): ArrayBuffer | undefined;
  read(buffer: Uint8Array): number | undefined;
  write(value: Uint8Array | ArrayBuffer): void;
}

export interface TimerApi<T> {
  repeat(callback: () => void, interval: number): T;
  schedule(timer: T, interval?: number, repeat?: number): void;
}

export interface ModdableIO<T> {
  /** Without onWritable the port is opened with onReadable only. */
  openSerial(cfg: ModdableBoardConfig["uart"], onReadable: (count: number) => void, onWritable: ((count: number) => void) | undefined): SerialDevice;
  openOutput(pin: PinSpec): DigitalOutput;
  timer: TimerApi<T>;
  /** Monotonic milliseconds (Time.ticks). */
  ticks(): number;
  print(line: string): void;
}

/** Wall time before this (2024-01-01) means nobody set the clock: treat it as unknown. */
const TRUSTWORTHY_AFTER_MS = 1704067200000;

// Frozen so a preloaded build keeps it in flash instead of copying it to RAM.
const LEVELS: Readonly<Record<LogLevel, number>> = Object.freeze({ debug: 0, info: 1, warn: 2, error: 3 });

/** A BoardTimer's repeat interval while idle; it is unscheduled then and never fires. */
const IDLE_INTERVAL_MS = 0x3fffffff;

/**
 * What the TX FIFO holds, estimated from what we wrote and the time it had to drain, for a port
 * opened without onWritable. Drains at 90 % of the baud rate so the estimate errs full; a write
 * the port still refuses counts the FIFO as full.
 */
class TxPacer {
  private readonly capacity: number;
  private readonly bytesPerMs: number;
  private queued = 0;
  private at = 0;

  constructor(
    capacity: number,
    baud: number,
    private readonly ticks: () => number,
    private readonly timer: BoardTimer,
  ) {
    this.capacity = capacity;
    this.bytesPerMs = (baud / 10000) * 0.9;
  }

  room(): number {
    const now = this.ticks();
    const drained = (now - this.at) * this.bytesPerMs;
    this.at = now;
    this.queued = this.queued > drained ? this.queued - drained : 0;
    const room = Math.floor(this.capacity - this.queued);
    if (room <= 0) this.wakeWhenHalfEmpty();
    return room;
  }

  wrote(count: number, wanted: number): void {
    this.queued += count;
    if (count < wanted) this.wakeWhenHalfEmpty();
  }

  refused(): void {
    this.queued = this.capacity;
    this.wakeWhenHalfEmpty();
  }

  private wakeWhenHalfEmpty(): void {
    const excess = this.queued - this.capacity / 2;
    this.timer.schedule(excess > 0 ? excess / this.bytesPerMs : 1);
  }
}

export class ModdableSerialPort implements SerialPort {
  private readonly serial: SerialDevice;
  private readonly handlers: SerialHandlers;
  private readonly exactReads: boolean;
  private readonly copyIo: boolean;
  /** Bytes onReadable announced and we have not read yet. */
  private waiting = 0;
  private room = 0;
  private readonly pacer: TxPacer | undefined;

  constructor(
    open: ModdableIO<unknown>["openSerial"],
    cfg: ModdableBoardConfig["uart"],
    handlers: SerialHandlers,
    clock: { now(): number; createTimer(callback: () => void): BoardTimer },
  ) {
    this.handlers = handlers;
    this.exactReads = cfg.exactReads;
    this.copyIo = cfg.device !== undefined;
    const paced = cfg.txFifo > 0;
    this.pacer = paced
      ? new TxPacer(cfg.txFifo, cfg.baud, () => clock.now(), clock.createTimer(() => this.handlers.onWritable(this.writable)))
      : undefined;
    this.serial = open(
      cfg,
      (count: number) => {
        this.waiting = count;
        this.handlers.onReadable(count);
      },
      paced
        ? undefined
        : (count: number) => {
            this.room = count;
            this.handlers.onWritable(count);
          },
    );
  }

  get writable(): number {
    return this.pacer !== undefined ? this.pacer.room() : this.room;
  }

  read(view: Uint8Array): number {
    const n = this.waiting < view.length ? this.waiting : view.length;
    if (n <= 0) return 0;
    try {
      if (this.copyIo) {
        const got = this.serial.read(n);
        if (got === undefined) return this.nothing();
        const bytes = new Uint8Array(got);
        view.set(bytes, 0);
        this.waiting -= bytes.length;
        return bytes.length;
      }
      const target = this.exactReads && n < view.length ? view.subarray(0, n) : view;
      const r: unknown = this.serial.read(target);
      // ESP32/Zephyr return the count (undefined when empty); Pico returns the buffer it filled.
      const count = typeof r === "number" ? r : r === undefined ? 0 : target.length;
      if (count === 0) return this.nothing();
      this.waiting -= count;
      return count;
    } catch {
      // Pico throws "no data"/"invalid" when fewer bytes wait than announced.
      return this.nothing();
    }
  }

  private nothing(): number {
    this.waiting = 0;
    return 0;
  }

  write(view: Uint8Array): number {
    const pacer = this.pacer;
    const room = pacer !== undefined ? pacer.room() : this.room;
    const n = room < view.length ? room : view.length;
    if (n <= 0) return 0;
    try {
      if (pacer !== undefined) {
        this.serial.write(n < view.length ? view.subarray(0, n) : view);
        pacer.wrote(n, view.length);
      } else if (this.copyIo) {
        // lin wants a plain ArrayBuffer and one write per drain.
        this.serial.write(view.slice(0, n).buffer);
        this.room = 0;
      } else {
        this.serial.write(n < view.length ? view.subarray(0, n) : view);
        this.room -= n;
      }
      return n;
    } catch {
      // The FIFO had less room than announced: wait for the next onWritable (or the pacer).
      this.room = 0;
      if (pacer !== undefined) pacer.refused();
      return 0;
    }
  }
}

export class ModdableTimer<T> implements BoardTimer {
  private readonly api: TimerApi<T>;
  private readonly timer: T;
  private readonly callback: () => void;

  constructor(api: TimerApi<T>, callback: () => void) {
    this.api = api;
    this.callback = callback;
    this.timer = api.repeat(() => this.fire(), IDLE_INTERVAL_MS);
    api.schedule(this.timer);
  }

  private fire(): void {
    // Unschedule first, so the callback may re-arm it and a repeat never fires on its own.
    this.api.schedule(this.timer);
    this.callback();
  }

  schedule(ms: number): void {
    const delay = ms > 0 ? Math.ceil(ms) : 0;
    // repeat must not be 0: that makes a one-shot, which Moddable frees after it fires.
    this.api.schedule(this.timer, delay, delay > 0 ? delay : 1);
  }

  cancel(): void {
    this.api.schedule(this.timer);
  }
}

class ModdableClock<T> implements Clock {
  private readonly io: ModdableIO<T>;
  constructor(io: ModdableIO<T>) {
    this.io = io;
  }
  now(): number {
    return this.io.ticks();
  }
  createTimer(callback: () => void): BoardTimer {
    return new ModdableTimer(this.io.timer, callback);
  }
  wallTime(): number {
    const t = Date.now();
    return t > TRUSTWORTHY_AFTER_MS ? t : -1;
  }
}

function makeLog(print: (line: string) => void, minimum: LogLevel): Log {
  const floor = LEVELS[minimum];
  return (level: LogLevel, message: string): void => {
    if (LEVELS[level] >= floor) print(level + ": " + message + "\n");
  };
}

export class ModdableBoard<T> implements Board {
  readonly led: DigitalOutput;
  readonly moduleReset?: DigitalOutput;
  readonly clock: Clock;
  readonly log: Log;
  private readonly config: ModdableBoardConfig;
  private readonly io: ModdableIO<T>;
  private serial: ModdableSerialPort | undefined;

  constructor(config: ModdableBoardConfig, io: ModdableIO<T>) {
    this.config = config;
    this.io = io;
    this.clock = new ModdableClock(io);
    this.log = makeLog(io.print, config.logLevel);
    // Start dark, and with the module out of reset (RST is active low).
    this.led = io.openOutput(config.led);
    this.led.write(config.led.activeLow ? 1 : 0);
    if (config.reset !== undefined) {
      this.moduleReset = io.openOutput(config.reset);
      this.moduleReset.write(1);
    }
  }

  openSerial(handlers: SerialHandlers): SerialPort {
    if (this.serial === undefined) this.serial = new ModdableSerialPort(this.io.openSerial, this.config.uart, handlers, this.clock);
    return this.serial;
  }

  random(): number {
    return Math.random();
  }
}
