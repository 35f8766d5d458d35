/*
 * The firmware against a real broker nobody here wrote: Mosquitto (Debian package, started on a
 * free loopback port), with the npm `mqtt` client as the cloud side, in real time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Simulation } from "../../host-sim/sim.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";

let mosquitto: Mosquitto;
let sim: Simulation;

beforeAll(async () => {
  mosquitto = await startMosquitto();
});

afterAll(async () => {
  await sim?.close();
  await mosquitto?.dispose();
});

async function until(predicate: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

describe("against a real Mosquitto", () => {
  it("comes online, obeys every set with one matching set_reply, and survives a broker restart", async () => {
    sim = await Simulation.create({ mode: "real", broker: { host: mosquitto.host, port: mosquitto.port }, keepaliveS: 30 });
    sim.start();
    expect(await until(() => sim.online, 30_000), "online").toBe(true);

    const sets: { id: string; on: boolean }[] = [];
    const check = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const on = sets.length % 2 === 0;
        const id = await sim.setLed(on);
        sets.push({ id, on });
        expect(await until(() => sim.replyTo(id) !== undefined, 10_000), `set_reply ${id}`).toBe(true);
        expect(sim.ledOn).toBe(on);
      }
    };
    await check(10);

    const connacks = sim.device.client.stats.connacks;
    await mosquitto.restart(1_000);
    expect(await until(() => sim.online && sim.device.client.stats.connacks > connacks, 60_000), "back online after the restart").toBe(true);
    await check(10);

    for (const { id } of sets) {
      const replies = sim.repliesTo(id);
      expect(replies).toHaveLength(1);
      expect(replies[0].json).toEqual({ id, code: 200, msg: "success" });
    }
    const posts = sim.deviceMessages.filter((m) => m.kind === "property/post");
    expect((posts.at(-1)!.json as { params: { led: { value: boolean } } }).params.led.value).toBe(sets.at(-1)!.on);
    expect(sim.clock.errors).toEqual([]);
  });
});
