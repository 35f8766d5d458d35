/*
 * When the firmware cannot run, the LED says why: a blink code, and the same line on the console
 * every cycle (so a console opened later still shows it). A board without a console never dies
 * dark. The codes (README, "When the LED blinks a code"):
 *
 *   2  the config was refused (a bad value in manifest.json / on the mcconfig command line)
 *   3  the firmware failed to start (an unexpected error while building the board or the app)
 *   4  XS ran out of memory (the `creation` budget in manifest.json is too small); restarts
 *   5  an exception nobody caught reached XS (a bug); restarts
 *   6  a promise rejection nobody handled reached XS (a bug); restarts
 *   7  another XS abort; restarts
 *
 * One cycle: `code` pulses (on 200 ms, off 300 ms), then 1.5 s dark. Codes 2 and 3 repeat forever
 * (restarting cannot help); 4-7 come from XS's abort hook, which shows the code a few times and
 * then lets the board restart (./moddable/abort.ts).
 */
import type { BoardTimer, Clock, DigitalOutput } from "./board.js";

export type FatalCause = "config-refused" | "start-failed" | "memory-full" | "unhandled-exception" | "unhandled-rejection" | "xs-abort";

export const FATAL_CODES: Readonly<Record<FatalCause, number>> = Object.freeze({
  "config-refused": 2,
  "start-failed": 3,
  "memory-full": 4,
  "unhandled-exception": 5,
  "unhandled-rejection": 6,
  "xs-abort": 7,
});

export const BLINK_ON_MS = 200;
export const BLINK_OFF_MS = 300;
export const BLINK_PAUSE_MS = 1500;

/** One cycle of a code, in ms. */
export function blinkCycleMs(code: number): number {
  return code * (BLINK_ON_MS + BLINK_OFF_MS) - BLINK_OFF_MS + BLINK_PAUSE_MS;
}

/** The cause XS names in its abort message ("memory full", "unhandled exception", ...). */
export function causeOfAbort(message: string): FatalCause {
  if (message === "memory full" || message === "not enough memory") return "memory-full";
  if (message === "unhandled exception") return "unhandled-exception";
  if (message === "unhandled rejection") return "unhandled-rejection";
  return "xs-abort";
}

/** The console line for a fatal state (never a secret: callers pass named causes and safe details). */
export function fatalLine(cause: FatalCause, detail: string): string {
  return fatalHead(cause) + (detail ? ": " + detail : "") + fatalTail(cause);
}

/** The line's parts before and after the detail (the abort hook prints them apart: ./moddable/abort.ts). */
export function fatalHead(cause: FatalCause): string {
  return `fatal: ${cause}`;
}

export function fatalTail(cause: FatalCause): string {
  return ` (the LED blinks ${FATAL_CODES[cause]} times, then pauses)`;
}

/**
 * Blinks a code forever on the board's timers (the app is not running; nothing else uses the
 * LED), printing the line at the start of every cycle.
 */
export class FatalBlinker {
  private readonly timer: BoardTimer;
  private code = 0;
  private step = 0;
  private line = "";

  constructor(
    private readonly led: DigitalOutput,
    clock: Clock,
    private readonly print: (line: string) => void,
    private readonly activeLow = false,
  ) {
    this.timer = clock.createTimer(() => this.next());
  }

  start(cause: FatalCause, detail: string): void {
    this.code = FATAL_CODES[cause];
    this.line = fatalLine(cause, detail);
    this.step = 0;
    this.next();
  }

  stop(): void {
    this.timer.cancel();
    this.write(false);
  }

  private next(): void {
    // Steps 0, 2, ... light the LED; odd steps are the gaps; the last gap is the long pause.
    const pulses = this.code * 2;
    if (this.step === 0) this.print(this.line);
    const lit = this.step % 2 === 0;
    this.write(lit);
    const last = this.step === pulses - 1;
    this.timer.schedule(lit ? BLINK_ON_MS : last ? BLINK_PAUSE_MS : BLINK_OFF_MS);
    this.step = last ? 0 : this.step + 1;
  }

  private write(lit: boolean): void {
    this.led.write(lit !== this.activeLow ? 1 : 0);
  }
}
