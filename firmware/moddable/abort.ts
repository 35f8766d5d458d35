/*
 * XS's abort hook (manifest "defines": {"xs": {"abortHook": 1}}): XS calls globalThis.abort before
 * it gives up on the machine: memory full, an exception or rejection nobody handled. The machine is
 * about to die, so timers will never fire: the hook prints the cause, blinks its code on the LED
 * by busy-waiting on the clock for a few cycles, and returns, and XS restarts the board (Moddable's
 * c_exit). A cause that comes back at every boot (a budget too small) shows as the code blinking
 * between restarts. XS does not call the hook on a stack overflow (the stack is unusable then):
 * the console shows "XS abort: JavaScript stack overflow" and the board restarts.
 *
 * Nothing here allocates once installed: the hook may run with the heap exhausted (see makeAbortHook).
 * XS itself needs a chunk to call it (fxAbort copies its message for the hook): with the arena used
 * up to the last byte that copy fails, XS aborts again until its stack overflows, and the board
 * restarts with no code; the console still shows XS's "# Chunk allocation: failed" lines (README).
 */
import type { DigitalOutput } from "../board.js";
import { BLINK_OFF_MS, BLINK_ON_MS, BLINK_PAUSE_MS, causeOfAbort, FATAL_CODES, type FatalCause, fatalHead, fatalTail } from "../fatal.js";

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

/**
 * The hook itself (exported for tests): blink `ABORT_BLINK_CYCLES` cycles, then let XS restart.
 * Every line is built here, at install time: on "memory full" a string built in the hook would ask
 * XS for the memory it has just run out of, abort again inside the hook, and so on until the stack
 * overflows, and the board would restart dark. A second abort while the hook runs returns at once.
 */
export function makeAbortHook(io: AbortHookIo, target: AbortLed): AbortHook {
  const heads = {} as Record<FatalCause, string>;
  const tails = {} as Record<FatalCause, string>;
  for (const cause of Object.keys(FATAL_CODES) as FatalCause[]) {
    heads[cause] = fatalHead(cause);
    tails[cause] = fatalTail(cause) + "; restarting\n";
  }
  let dying = false;
  return (message: string, exception: unknown): undefined => {
    if (dying) return undefined;
    dying = true;
    const cause = causeOfAbort(message);
    io.print(heads[cause]);
    if (exception instanceof Error && typeof exception.message === "string" && exception.message !== "") {
      io.print(": ");
      io.print(exception.message);
    }
    io.print(tails[cause]);
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
