/*
 * The reliability campaign at CI size: 200 random fault schedules (seeded: a failure prints the
 * seed to replay with `npm run faults -- --schedules 1 --seed <seed>`), and a two-day soak.
 */
import { describe, expect, it } from "vitest";
import { runCampaign } from "../../host-sim/faults/campaign.js";
import { soak, soakFailures } from "../../host-sim/faults/soak.js";

describe("reliability campaign", () => {
  it("200 fault schedules: back online, LED = last set, one set_reply per set, no post lost, no exception, no secret", async () => {
    const summary = await runCampaign(200, 1);
    const report = summary.failed.map((r) => `seed ${r.seed} (AT ${r.dialect}, ${r.receiveMode}): ${r.failures.join("; ")}`);
    expect(report).toEqual([]);
    expect(summary.schedules).toBe(200);
    // The schedules really injected every kind of fault and really sent commands.
    for (const fault of ["wifi-drop", "tcp-close", "reset-module", "broker-restart", "uart-noise", "busy", "send-fail", "blackhole", "connack-refused"]) {
      expect(summary.faults[fault], fault).toBeGreaterThan(50);
    }
    // Commands the cloud sent: sets, and desired values where OneNET refused a set to the offline device.
    expect(summary.sets).toBeGreaterThan(3_000);
    expect(summary.desired).toBeGreaterThan(500);
    expect(summary.sets + summary.desired).toBeGreaterThan(5_000);
  }, 600_000);

  it("a two-day soak: every set answered, the LED follows, no keepalive missed while connected", async () => {
    const result = await soak(2, 3);
    expect(soakFailures(result)).toEqual([]);
    expect(result.sets).toBeGreaterThan(2_000);
    expect(result.faults).toBe(48);
    expect(result.longestGapMs).toBeLessThanOrEqual(60_000);
  }, 600_000);

  it("a two-day soak with the firmware inside the XS engine: the same checks, and a flat XS heap", async () => {
    const result = await soak(2, 5, undefined, { xs: true });
    expect(soakFailures(result)).toEqual([]);
    expect(result.xsSlots).toHaveLength(2);
    expect(result.xsSlots[1]).toBeLessThanOrEqual(result.xsSlots[0]);
    expect(result.sets).toBeGreaterThan(2_000);
  }, 600_000);
});
