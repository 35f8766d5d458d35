/*
 * How the chip scenarios read a blink code off the LED's edges (host-sim/chip/scenarios.ts).
 */
import { describe, expect, it } from "vitest";
import { blinkGroups, showsCode } from "../../host-sim/chip/scenarios.js";

/** Edges of `groups` blink cycles: 200 ms on, 300 ms off, 1.5 s after each group. */
function edges(groups: number[]): { time: number; level: 0 | 1 }[] {
  const out: { time: number; level: 0 | 1 }[] = [];
  let t = 0;
  for (const n of groups) {
    for (let p = 0; p < n; p++) {
      out.push({ time: t, level: 1 }, { time: t + 200, level: 0 });
      t += p === n - 1 ? 1700 : 500;
    }
  }
  return out;
}

describe("blink codes read off the LED", () => {
  it("counts pulses per group", () => {
    expect(blinkGroups(edges([4, 4, 4, 2]))).toEqual([4, 4, 4, 2]);
  });

  it("takes a code shown for three whole cycles, the last cut short or not", () => {
    expect(showsCode([4, 4, 4, 4], 4)).toBe(true);
    expect(showsCode([4, 4, 4, 1], 4)).toBe(true);
    expect(showsCode([2, 2, 2, 2, 2, 2], 2)).toBe(true);
  });

  it("refuses too few cycles, another code, or a longer last group", () => {
    expect(showsCode([4, 4, 4], 4)).toBe(false); // two whole cycles and a third that may be cut
    expect(showsCode([], 4)).toBe(false);
    expect(showsCode([4, 3, 4, 4], 4)).toBe(false);
    expect(showsCode([2, 2, 2, 2], 4)).toBe(false);
    expect(showsCode([4, 4, 4, 5], 4)).toBe(false);
  });
});
