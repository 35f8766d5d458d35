/*
 * The memory budgets in manifest.json against what the chip needs (host-sim/chip/budget.ts): the
 * emulated Pico's measured heap and stack (test/fixtures/chip-memory.json, written by
 * `npm run chip -- --update-fixture`), scaled by the firmware's live slots in xsnap measured here
 * and now. A budget too small, or firmware that grew past its budget, fails here, without an SDK.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BUDGETED_PLATFORMS, budgetProblems, readFixture, type Requirement, requirement, xsnapAppLiveSlots } from "../../host-sim/chip/budget.js";
import type { Creation } from "../../host-sim/chip/build.js";
import { OLD_BUDGET } from "../../host-sim/chip/scenarios.js";

const manifest = JSON.parse(readFileSync(join(import.meta.dirname, "../../manifest.json"), "utf8")) as {
  platforms: Record<string, { creation?: Creation }>;
};
const fixture = readFixture();
let liveNow = 0;
let need: Requirement;

beforeAll(async () => {
  liveNow = await xsnapAppLiveSlots(10);
  need = requirement(fixture, liveNow);
}, 120_000);

describe("memory budgets measured on the chip", () => {
  it("has a chip measurement to hold the budgets against", () => {
    expect(fixture.chip.stackPeak).toBeGreaterThan(0);
    expect(fixture.chip.chunksReserved + fixture.chip.slotsReserved).toBeGreaterThan(16_384);
    expect(fixture.chip.sets).toBeGreaterThanOrEqual(10);
    expect(fixture.xsnap.appLiveSlots).toBeGreaterThan(0);
  });

  it("finds the firmware's live heap in xsnap where the chip measurement left it (a growth would scale the need)", () => {
    // Not an equality: the budget check below scales with it. A big change means re-measure on the chip.
    expect(liveNow / fixture.xsnap.appLiveSlots).toBeLessThan(1.1);
    expect(liveNow / fixture.xsnap.appLiveSlots).toBeGreaterThan(0.5);
  });

  for (const platform of BUDGETED_PLATFORMS) {
    it(`gives ${platform} what the chip needs with 25 % headroom`, () => {
      const creation = manifest.platforms[platform]?.creation;
      expect(creation, `${platform} has a creation budget`).toBeDefined();
      expect(budgetProblems(creation!, need)).toEqual([]);
      // The first heaps fit in the static block with the stack.
      expect(creation!.chunk.initial + creation!.heap.initial * 16 + creation!.stack * 16).toBeLessThanOrEqual(creation!.static);
    });
  }

  it("would have refused the budget every platform carried before the chip measured it (32 KB, stack 320)", () => {
    const problems = budgetProblems(OLD_BUDGET, need);
    expect(problems.join("\n")).toMatch(/^stack 320 slots: .*\nstatic 32768 B /);
  });
});
