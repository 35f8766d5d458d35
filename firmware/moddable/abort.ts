/*
 * XS's abort hook (manifest "defines": {"xs": {"abortHook": 1}}): XS calls globalThis.abort before
 * it gives up on the machine: memory full, an exception or rejection nobody handled. The machine is
 * about to die, so timers will never fire: the hook prints the cause, blinks its code on the LED
 * by busy-waiting on the clock for a few cycles, and returns, and XS restarts the board (Moddable's
 * c_exit). A cause that comes back at every boot (a budget too small) shows as the code blinking
 * between restarts. XS does not call the hook on a stack overflow (the stack is unusable then):
 * the console shows "XS abort: JavaScript stack overflow" and the board restarts.
 *
 * Nothing here allocates once installed: the hook may run with the heap exhausted.
 */
import type { DigitalOutput } from "../board.js";
import { BLINK_OFF_MS, BLINK_ON_MS, BLINK_PAUSE_MS, causeOfAbort, FATAL_CODES, fatalLine } from "../fatal.js";

/** Cycles of the code shown before XS restarts the board. */
export const ABORT_BLINK_CYCLES = 3;

export interface AbortHookIo {
  /** Monotonic milliseconds (Time.ticks). */
  ticks(): number;
  print(line: string): void;
}

export interface AbortLed {
  led: DigitalOutput | undefined;
  activeLow: boolean;
}

type AbortHook = (message: string, exception: unknown) => boolean | undefined;

function waitUntil(io: AbortHookIo, until: number): void {
  while (io.ticks() < until) {
    // busy: nothing else may run now
  }
}

/** The hook itself (exported for tests): blink `ABORT_BLINK_CYCLES` cycles, then let XS restart. */
export function makeAbortHook(io: AbortHookIo, target: AbortLed): AbortHook {
  return (message: string, exception: unknown): undefined => {
    const cause = causeOfAbort(message);
    const detail = exception instanceof Error ? exception.message : "";
    io.print(fatalLine(cause, detail) + "; restarting\n");
    const led = target.led;
    if (led === undefined) return undefined;
    const on = target.activeLow ? 0 : 1;
    const off = target.activeLow ? 1 : 0;
    const code = FATAL_CODES[cause];
    let t = io.ticks();
    for (let cycle = 0; cycle < ABORT_BLINK_CYCLES; cycle++) {
      for (let pulse = 0; pulse < code; pulse++) {
        led.write(on);
        waitUntil(io, (t += BLINK_ON_MS));
        led.write(off);
        waitUntil(io, (t += pulse === code - 1 ? BLINK_PAUSE_MS : BLINK_OFF_MS));
      }
    }
    return undefined;
  };
}

/** Installs the hook on globalThis; `target.led` may be set later, once the board has opened it. */
export function installAbortHook(io: AbortHookIo, target: AbortLed): void {
  (globalThis as unknown as { abort: AbortHook }).abort = makeAbortHook(io, target);
}
