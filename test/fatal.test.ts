/*
 * A board that cannot run says why on its LED (firmware/fatal.ts) and, when XS gives up on the
 * machine, from the abort hook (firmware/moddable/abort.ts), in release builds too.
 */
import { describe, expect, it } from "vitest";
import { FATAL_CODES, FatalBlinker, blinkCycleMs, causeOfAbort, fatalLine } from "../firmware/fatal.js";
import { ABORT_BLINK_CYCLES, makeAbortHook } from "../firmware/moddable/abort.js";
import { VirtualLed } from "../host-sim/board.js";
import { VirtualClock } from "../host-sim/clock.js";

/** Lit intervals [start, end) of an LED's history. */
function pulses(led: VirtualLed, until: number): [number, number][] {
  const out: [number, number][] = [];
  let start: number | undefined;
  for (const { time, level } of led.history) {
    const lit = led.activeLow ? level === 0 : level === 1;
    if (lit && start === undefined) start = time;
    if (!lit && start !== undefined) {
      out.push([start, time]);
      start = undefined;
    }
  }
  if (start !== undefined) out.push([start, until]);
  return out;
}

describe("blink codes", () => {
  it("numbers every cause, and names XS's abort messages", () => {
    expect(FATAL_CODES).toEqual({ "config-refused": 2, "start-failed": 3, "memory-full": 4, "unhandled-exception": 5, "unhandled-rejection": 6, "xs-abort": 7 });
    expect(causeOfAbort("memory full")).toBe("memory-full");
    expect(causeOfAbort("unhandled exception")).toBe("unhandled-exception");
    expect(causeOfAbort("unhandled rejection")).toBe("unhandled-rejection");
    expect(causeOfAbort("dead strip")).toBe("xs-abort");
    expect(fatalLine("config-refused", 'config "password": must be empty or 8..64 bytes')).toBe(
      'fatal: config-refused: config "password": must be empty or 8..64 bytes (the LED blinks 2 times, then pauses)',
    );
  });

  it("blinks a refused config as 2 pulses a cycle forever, printing the line every cycle", () => {
    const clock = new VirtualClock();
    const led = new VirtualLed(clock);
    const lines: string[] = [];
    new FatalBlinker(led, clock, (l) => lines.push(l)).start("config-refused", 'config "password": bad');
    const cycle = blinkCycleMs(2);
    expect(cycle).toBe(2200);
    clock.advance(3 * cycle - 1);
    expect(pulses(led, clock.now())).toEqual([
      [0, 200], [500, 700],
      [2200, 2400], [2700, 2900],
      [4400, 4600], [4900, 5100],
    ]);
    expect(lines).toHaveLength(3); // cycles starting at 0, 2200 and 4400
    expect(lines[0]).toContain("fatal: config-refused");
  });

  it("inverts the levels of an active-low LED", () => {
    const clock = new VirtualClock();
    const led = new VirtualLed(clock, true);
    new FatalBlinker(led, clock, () => {}, true).start("start-failed", "boom");
    clock.advance(blinkCycleMs(3) - 1);
    expect(pulses(led, clock.now())).toEqual([[0, 200], [500, 700], [1000, 1200]]);
    expect(led.level).toBe(1); // dark
  });
});

describe("the XS abort hook", () => {
  function fakeIo() {
    let now = 1000;
    const lines: string[] = [];
    const edges: { t: number; level: number }[] = [];
    return {
      io: { ticks: () => (now += 1), print: (line: string) => lines.push(line) },
      led: { write: (level: 0 | 1) => edges.push({ t: now, level }) },
      lines,
      edges,
    };
  }

  it("prints the cause, blinks its code a few cycles (busy-waiting: timers are dead), then lets XS restart", () => {
    const f = fakeIo();
    const hook = makeAbortHook(f.io, { led: f.led, activeLow: false });
    expect(hook("memory full", undefined)).toBeUndefined();
    expect(f.lines.join("")).toBe("fatal: memory-full (the LED blinks 4 times, then pauses); restarting\n");
    const ons = f.edges.filter((e) => e.level === 1);
    expect(ons).toHaveLength(4 * ABORT_BLINK_CYCLES);
    // 200 ms on, 300 ms off, 1500 ms after the 4th pulse
    expect(ons[1].t - ons[0].t).toBeGreaterThanOrEqual(500);
    expect(ons[1].t - ons[0].t).toBeLessThan(510);
    expect(ons[4].t - ons[3].t).toBeGreaterThanOrEqual(1700);
    expect(f.edges.at(-1)!.level).toBe(0);
  });

  it("names an uncaught exception with its message, and only prints without an LED", () => {
    const f = fakeIo();
    makeAbortHook(f.io, { led: undefined, activeLow: false })("unhandled exception", new Error("oops"));
    expect(f.lines.join("")).toBe("fatal: unhandled-exception: oops (the LED blinks 5 times, then pauses); restarting\n");
    expect(f.edges).toEqual([]);
  });

  it("returns at once from an abort inside the hook, instead of recursing until the stack overflows", () => {
    const f = fakeIo();
    let hook: ReturnType<typeof makeAbortHook> | undefined;
    let nested = 0;
    const io = {
      ticks: f.io.ticks,
      print: (line: string) => {
        f.lines.push(line);
        if (nested++ === 0) expect(hook!("memory full", undefined)).toBeUndefined(); // XS aborting again
      },
    };
    hook = makeAbortHook(io, { led: f.led, activeLow: false });
    hook("memory full", undefined);
    expect(f.lines.join("")).toBe("fatal: memory-full (the LED blinks 4 times, then pauses); restarting\n");
    expect(f.edges.filter((e) => e.level === 1)).toHaveLength(4 * ABORT_BLINK_CYCLES);
  });
});
