/*
 * The host board: the firmware's Board seam (firmware/board.ts) built from host-side parts: a
 * serial port (the virtual UART's MCU end, or a real port through `serialport`), a virtual LED, a
 * VirtualClock, a log that keeps every line, and a seeded random source so every run replays.
 */
import type { Board, Clock, DigitalOutput, Log, LogLevel, SerialHandlers, SerialPort } from "../firmware/board.js";
import { seededRandom } from "./uart.js";

/** The LED as the board sees it: an output pin, and whether that lights the diode. */
export class VirtualLed implements DigitalOutput {
  level: 0 | 1;
  /** Every change: virtual time and new level. */
  readonly history: { time: number; level: 0 | 1 }[] = [];
  private readonly listeners: ((lit: boolean, level: 0 | 1) => void)[] = [];

  constructor(
    private readonly clock: Clock,
    /** An active-low LED (wired from 3.3 V to the pin) lights when the pin is 0. */
    readonly activeLow = false,
  ) {
    this.level = activeLow ? 1 : 0;
  }

  write(level: 0 | 1): void {
    if (level !== 0 && level !== 1) throw new RangeError("digital level must be 0 or 1");
    if (level === this.level) return;
    this.level = level;
    this.history.push({ time: this.clock.now(), level });
    for (const listener of this.listeners) listener(this.lit, level);
  }

  get lit(): boolean {
    return this.activeLow ? this.level === 0 : this.level === 1;
  }

  onChange(listener: (lit: boolean, level: 0 | 1) => void): void {
    this.listeners.push(listener);
  }
}

export interface LogLine {
  time: number;
  level: LogLevel;
  message: string;
}

export interface HostBoardOptions {
  clock: Clock;
  /** Opens the UART to the ESP8266 (VirtualUart.mcu.open, or a real serial port). */
  openSerial: (handlers: SerialHandlers) => SerialPort;
  ledActiveLow?: boolean;
  seed?: number;
  /** Also called for every log line (the CLI prints them; tests collect them). */
  onLog?: (line: LogLine) => void;
  /** The ESP8266's RST line, when wired (the emulator's `resetPin`). */
  moduleReset?: DigitalOutput;
}

export class HostBoard implements Board {
  readonly led: VirtualLed;
  readonly clock: Clock;
  readonly log: Log;
  readonly random: () => number;
  readonly moduleReset: DigitalOutput | undefined;
  /** Every line the firmware logged. */
  readonly logLines: LogLine[] = [];
  private readonly serialOpener: (handlers: SerialHandlers) => SerialPort;
  private serialOpened = false;

  constructor(options: HostBoardOptions) {
    this.clock = options.clock;
    this.led = new VirtualLed(options.clock, options.ledActiveLow ?? false);
    this.random = seededRandom(options.seed ?? 1);
    this.serialOpener = options.openSerial;
    this.moduleReset = options.moduleReset;
    const onLog = options.onLog;
    this.log = (level, message) => {
      const line = { time: this.clock.now(), level, message };
      if (this.logLines.length >= 10_000) this.logLines.splice(0, 5_000);
      this.logLines.push(line);
      onLog?.(line);
    };
  }

  openSerial(handlers: SerialHandlers): SerialPort {
    if (this.serialOpened) throw new Error("the ESP8266 UART is already open");
    this.serialOpened = true;
    return this.serialOpener(handlers);
  }
}
