/*
 * Desired values as OneNET has them, end to end in virtual time: the firmware on the simulated bench
 * against the embedded broker, driven through the simulator's cloud console (what the `set` and
 * `set desired` commands call). A set to an offline device fails; a desired value waits on the
 * platform; the device applies it once after connecting, deletes it at its version, and never lets a
 * stale one undo a later set.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DeviceOfflineError } from "../../host-sim/cloud.js";
import type { BrokerEvent, DevicePublishEvent } from "../../host-sim/broker/onenet-broker.js";
import { Simulation } from "../../host-sim/sim.js";

let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const PID = "L14FCC38pq";
const DEV = "test1";

async function bench(): Promise<Simulation> {
  sim = await Simulation.create();
  return sim;
}

/** Closes the device's link from the cloud side and waits until it is back online (a new session). */
async function reconnect(s: Simulation): Promise<void> {
  const onlines = s.device.client.stats.connacks;
  s.tcpClose();
  expect(await s.runUntil(() => s.online && s.device.client.stats.connacks > onlines, 120_000), "back online").toBe(true);
  // Let the session's first messages (post, desired/get, its reply) land.
  await s.runFor(3_000);
}

const devicePublishes = (s: Simulation, kind: string) =>
  s.broker!.history.filter((e): e is DevicePublishEvent => e.type === "device-publish" && e.kind === kind);
const desiredEvents = (s: Simulation) => s.broker!.history.filter((e): e is Extract<BrokerEvent, { type: "desired" }> => e.type === "desired");
const replies = (s: Simulation) =>
  s.broker!.history.filter((e) => e.type === "cloud-publish" && e.topic.endsWith("/property/desired/get/reply")).map((e) => (e as { json: unknown }).json as { data: Record<string, unknown> });

describe("desired values, as OneNET keeps them", () => {
  it("set desired led=true while offline: applied and deleted at its version on connecting; a later set survives three reconnects", async () => {
    const s = await bench();
    // Offline (not even started): a set fails as OneNET says and leaves nothing behind ...
    await expect(s.setLed(true)).rejects.toThrow(DeviceOfflineError);
    await expect(s.setLed(true)).rejects.toThrow("device not online");
    expect(s.broker!.desired(PID, DEV)).toEqual({});
    // ... a desired value waits on the platform.
    expect(await s.setLedDesired(true)).toBe(1);
    expect(s.broker!.desired(PID, DEV)).toEqual({ led: { value: true, version: 1 } });

    s.start();
    expect(await s.runUntil(() => s.online && s.ledOn, 120_000), "online with the desired value applied").toBe(true);
    expect(await s.runUntil(() => desiredEvents(s).some((e) => e.action === "deleted"), 10_000), "the delete reached the broker").toBe(true);
    // The broker saw the delete naming version 1, and deleted it.
    const deletes = devicePublishes(s, "desired/delete");
    expect(deletes).toHaveLength(1);
    expect(deletes[0]!.json).toMatchObject({ version: "1.0", params: { led: { version: 1 } } });
    expect(deletes[0]!.qos).toBe(1);
    expect(desiredEvents(s).map((e) => [e.action, e.version])).toEqual([
      ["set", 1],
      ["deleted", 1],
    ]);
    expect(s.broker!.desired(PID, DEV)).toEqual({});
    expect(s.events.some((e) => e.type === "app" && e.event === "desired-applied" && e.detail === "on version 1")).toBe(true);
    // The state was reported after applying it.
    await s.runFor(2_000);
    expect(s.broker!.reported(PID, DEV)["led"]).toMatchObject({ value: true });

    // The console switches it off: a property/set to the online device.
    const id = await s.setLed(false);
    expect(await s.runUntil(() => s.replyTo(id) !== undefined, 10_000)).toBe(true);
    expect(s.ledOn).toBe(false);

    for (let i = 0; i < 3; i++) {
      await reconnect(s);
      expect(s.ledOn, `after reconnect ${i + 1}`).toBe(false);
    }
    // Every reconnect asked once, and found nothing left to apply.
    expect(devicePublishes(s, "desired/get")).toHaveLength(4);
    expect(replies(s).map((r) => r.data)).toEqual([{ led: { value: true, version: 1 } }, {}, {}, {}]);
    expect(s.broker!.desired(PID, DEV)).toEqual({});
    expect(devicePublishes(s, "desired/delete")).toHaveLength(1);
    expect(s.broker!.reported(PID, DEV)["led"]).toMatchObject({ value: false });
    expect(s.clock.errors).toEqual([]);
  });

  it("a set applied after coming online beats a desired value fetched in the same session: not applied, deleted all the same", async () => {
    const s = await bench();
    await s.setLedDesired(true);
    // The console's set goes out the moment the device has subscribed, before its desired/get is answered.
    let setId: string | undefined;
    const off = s.broker!.onEvent((e) => {
      if (e.type === "subscribe" && setId === undefined) setId = s.broker!.setProperty(PID, DEV, { led: false });
    });
    s.start();
    expect(await s.runUntil(() => desiredEvents(s).some((e) => e.action === "deleted"), 120_000)).toBe(true);
    off();
    const gets = devicePublishes(s, "desired/get");
    const sets = s.broker!.history.filter((e) => e.type === "cloud-publish" && e.kind === "property/set");
    expect(s.broker!.history.indexOf(sets[0]!)).toBeLessThan(s.broker!.history.indexOf(gets[0]!));
    expect(s.replyTo(setId!)?.json).toMatchObject({ code: 200 });
    expect(s.ledOn).toBe(false);
    expect(s.events.some((e) => e.type === "led" && e.on)).toBe(false);
    expect(s.events.some((e) => e.type === "app" && e.event === "desired-superseded" && e.detail === "version 1")).toBe(true);
    expect(s.events.some((e) => e.type === "app" && e.event === "desired-applied")).toBe(false);
    expect(devicePublishes(s, "desired/delete")[0]!.json).toMatchObject({ params: { led: { version: 1 } } });
    expect(s.broker!.desired(PID, DEV)).toEqual({});
    // Nothing stale is left to undo the set at the next reconnect.
    await reconnect(s);
    expect(s.ledOn).toBe(false);
  });

  it("a value set desired again while the device was applying the old one is kept, and applied at the next connect", async () => {
    const s = await bench();
    await s.setLedDesired(true);
    // Version 2 is set after the device read version 1, before its delete arrives: the delete of 1 keeps 2.
    const off = s.broker!.onEvent((e) => {
      if (e.type === "cloud-publish" && e.topic.endsWith("/property/desired/get/reply")) s.broker!.setDesired(PID, DEV, { led: false });
    });
    s.start();
    expect(await s.runUntil(() => desiredEvents(s).some((e) => e.action !== "set" && e.action !== undefined && e.name === "led"), 120_000)).toBe(true);
    off();
    expect(desiredEvents(s).map((e) => [e.action, e.version])).toEqual([
      ["set", 1],
      ["set", 2],
      ["kept-newer", 1],
    ]);
    expect(s.ledOn).toBe(true);
    expect(s.broker!.desired(PID, DEV)).toEqual({ led: { value: false, version: 2 } });
    await reconnect(s);
    expect(s.ledOn).toBe(false);
    expect(s.broker!.desired(PID, DEV)).toEqual({});
  });

  it("ignores a desired/get reply it did not ask for (another id, or a second one)", async () => {
    const s = await bench();
    s.start();
    expect(await s.runUntil(() => s.online, 120_000)).toBe(true);
    await s.runFor(3_000);
    const reply = (id: string) => new TextEncoder().encode(JSON.stringify({ id, code: 200, msg: "success", data: { led: { value: true, version: 7 } } }));
    const asked = (devicePublishes(s, "desired/get")[0]!.json as { id: string }).id;
    s.broker!.publishRaw(PID, DEV, "property/desired/get/reply", reply("999"));
    s.broker!.publishRaw(PID, DEV, "property/desired/get/reply", reply(asked));
    await s.runFor(3_000);
    expect(s.ledOn).toBe(false);
    expect(devicePublishes(s, "desired/delete")).toHaveLength(0);
  });
});
