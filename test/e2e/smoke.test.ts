import { afterEach, describe, expect, it } from "vitest";
import { Simulation } from "../../host-sim/sim.js";

let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe("the LED firmware on the simulated bench", () => {
  it("boots, comes online and switches the LED when the cloud sets it", async () => {
    sim = await Simulation.create({ onEvent: (e) => e.type === "log" && process.env.SIM_DEBUG && console.log(e.t, e.message) });
    sim.start();
    expect(await sim.runUntil(() => sim!.online, 120_000)).toBe(true);
    const id = await sim.setLed(true);
    expect(await sim.runUntil(() => sim!.replyTo(id) !== undefined, 5_000)).toBe(true);
    expect(sim.ledOn).toBe(true);
    expect(sim.replyTo(id)!.json).toEqual({ id, code: 200, msg: "success" });
  });
});
