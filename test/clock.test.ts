import { describe, expect, it } from "vitest";
import { VirtualClock } from "../host-sim/clock.js";

describe("VirtualClock", () => {
  it("runs events in time order, ties in scheduling order", () => {
    const clock = new VirtualClock();
    const seen: string[] = [];
    clock.setTimeout(() => seen.push("b@20"), 20);
    clock.setTimeout(() => seen.push("a@10"), 10);
    clock.setTimeout(() => seen.push("c@20"), 20);
    clock.advance(15);
    expect(seen).toEqual(["a@10"]);
    expect(clock.now()).toBe(15);
    clock.advance(100);
    expect(seen).toEqual(["a@10", "b@20", "c@20"]);
    expect(clock.now()).toBe(115);
  });

  it("reschedules and cancels board timers without running them twice", () => {
    const clock = new VirtualClock();
    let fired = 0;
    const timer = clock.createTimer(() => fired++);
    timer.schedule(100);
    clock.advance(50);
    timer.schedule(100); // moved to t=150
    clock.advance(60);
    expect(fired).toBe(0);
    clock.advance(40);
    expect(fired).toBe(1);
    timer.schedule(10);
    timer.cancel();
    clock.advance(1000);
    expect(fired).toBe(1);
  });

  it("records a throwing callback instead of stopping time", () => {
    const clock = new VirtualClock();
    let after = false;
    clock.setTimeout(() => {
      throw new Error("boom");
    }, 1);
    clock.setTimeout(() => (after = true), 2);
    clock.advance(5);
    expect(after).toBe(true);
    expect(clock.errors).toHaveLength(1);
  });

  it("runs until a condition holds, or gives up at the limit", () => {
    const clock = new VirtualClock();
    let n = 0;
    const tick = clock.createTimer(() => {
      n++;
      tick.schedule(1000);
    });
    tick.schedule(1000);
    expect(clock.runUntilTrue(() => n === 3, 10_000)).toBe(true);
    expect(clock.now()).toBe(3000);
    expect(clock.runUntilTrue(() => n === 100, 5_000)).toBe(false);
    expect(clock.now()).toBe(8000);
  });

  it("reports wall time only when it is trustworthy", () => {
    expect(new VirtualClock().wallTime()).toBe(-1);
    const clock = new VirtualClock({ wallOffset: 1_700_000_000_000 });
    clock.advance(1234);
    expect(clock.wallTime()).toBe(1_700_000_001_234);
  });
});
