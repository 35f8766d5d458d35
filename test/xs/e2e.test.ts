/*
 * The demo scenario of the end-to-end issue with the firmware inside Moddable's XS engine: the
 * real application, session and AT driver bundled into an xsnap worker, on the proxy board, against
 * the same emulated ESP8266, virtual UART and embedded broker, in virtual time. It must reach the
 * same outcomes as on Node: the same bytes on the UART, the same LED history, the same log lines
 * and the same messages at the cloud.
 */
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import seed from "../fixtures/seed-vectors.json" with { type: "json" };
import { Simulation, type SimDevice, type SimulationOptions } from "../../host-sim/sim.js";
import type { XsLedDevice } from "../../host-sim/xs/device.js";
import { xsDevice } from "../../host-sim/xs/sim-device.js";

let sim: Simulation<SimDevice> | undefined;
let xs: XsLedDevice | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  xs = undefined;
});

async function boot(options: SimulationOptions = {}, onXs = true): Promise<Simulation<SimDevice>> {
  const s = await create({ wallClockStart: 1_763_800_000_000, ...options }, onXs);
  sim = s;
  s.start();
  expect(await s.runUntil(() => s.online, 120_000), "the board comes online").toBe(true);
  return s;
}

/** The bench with the firmware in XS (its device kept in `xs`), or on Node. */
async function create(options: SimulationOptions, onXs: boolean): Promise<Simulation<SimDevice>> {
  if (!onXs) return Simulation.create(options);
  const s = await Simulation.create(options, xsDevice());
  xs = s.device;
  return s;
}

async function setAndWait(s: Simulation<SimDevice>, on: boolean): Promise<Record<string, unknown>> {
  const id = await s.setLed(on);
  expect(await s.runUntil(() => s.replyTo(id) !== undefined, 10_000), `set_reply for ${id}`).toBe(true);
  return s.replyTo(id)!.json as Record<string, unknown>;
}

/** Everything observable from outside the board, for comparing runs. */
function trace(s: Simulation<SimDevice>) {
  const uart = createHash("sha256");
  let uartBytes = 0;
  // Through the bench's events: the UART's own tap is the Simulation's (its runUntil needs it).
  s.onEvent((event) => {
    if (event.type !== "uart") return;
    uart.update(event.direction);
    uart.update(event.bytes);
    uartBytes += event.bytes.length;
  });
  return () => ({
    uart: uart.copy().digest("hex"),
    uartBytes,
    led: s.board.led.history.map((h) => `${h.time}:${h.level}`),
    logs: s.board.logLines.map((l) => `${l.time} ${l.level} ${l.message}`),
    messages: s.deviceMessages.map((m) => `${m.kind} ${m.payload}`),
    errors: s.clock.errors.map(String),
  });
}

/** The demo: boot, sets, a get, a bad set, WiFi drop, module reset, TCP close, recoveries; its trace. */
async function demo(onXs: boolean) {
  const s = await create({ wallClockStart: 1_763_800_000_000, seed: 3 }, onXs);
  sim = s;
  const snapshot = trace(s);
  s.start();
  expect(await s.runUntil(() => s.online, 120_000)).toBe(true);
  for (const on of [true, false, true]) expect(await setAndWait(s, on)).toMatchObject({ code: 200 });
  const get = await s.getLed();
  expect(await s.runUntil(() => s.replyTo(get) !== undefined, 5_000)).toBe(true);
  const bad = await s.cloud!.setProperty({ led: "yes" });
  expect(await s.runUntil(() => s.replyTo(bad) !== undefined, 5_000)).toBe(true);
  s.wifiDrop(10_000);
  expect(await s.runUntil(() => !s.online, 60_000)).toBe(true);
  expect(await s.runUntil(() => s.online, 300_000)).toBe(true);
  expect(await setAndWait(s, false)).toMatchObject({ code: 200 });
  for (const fault of [() => s.resetModule(), () => s.tcpClose()]) {
    const connacks = s.device.client.stats.connacks;
    fault();
    expect(await s.runUntil(() => s.online && s.device.client.stats.connacks > connacks, 300_000)).toBe(true);
  }
  expect(await setAndWait(s, true)).toMatchObject({ code: 200 });
  await s.runFor(5_000);
  const result = snapshot();
  await s.close();
  sim = undefined;
  xs = undefined;
  return result;
}

describe("the LED firmware inside XS, end to end", () => {
  it("reaches exactly the outcomes it reaches on Node: UART bytes, LED, logs, cloud messages", async () => {
    const onNode = await demo(false);
    const onXs = await demo(true);
    expect(onNode.errors).toEqual([]);
    expect(onNode.messages.length).toBeGreaterThan(8);
    expect(onXs.led).toEqual(onNode.led);
    expect(onXs.messages).toEqual(onNode.messages);
    expect(onXs.logs).toEqual(onNode.logs);
    expect(onXs.uartBytes).toBe(onNode.uartBytes);
    expect(onXs.uart).toBe(onNode.uart);
    expect(onXs.errors).toEqual([]);
  });

  for (const [dialect, receiveMode] of [
    ["1.7", "active"],
    ["2.x", "passive"],
    ["2.x", "transparent"],
  ] as const) {
    it(`comes online and obeys property/set (AT ${dialect}, ${receiveMode} receive)`, async () => {
      const s = await boot({ dialect, receiveMode });
      expect(await setAndWait(s, true)).toMatchObject({ code: 200, msg: "success" });
      expect(s.ledOn).toBe(true);
      expect(xs!.on).toBe(true);
      expect(await setAndWait(s, false)).toMatchObject({ code: 200 });
      expect(s.ledOn).toBe(false);
      expect(s.clock.errors).toEqual([]);
    });
  }

  it("handles 50 property/set commands in a row: one set_reply each, LED = last command", async () => {
    const s = await boot({ seed: 7 });
    const random = s.board.random;
    const sent: { id: string; on: boolean }[] = [];
    for (let i = 0; i < 50; i++) {
      const on = random() < 0.5;
      sent.push({ id: await s.setLed(on), on });
      await s.runFor(random() < 0.3 ? 0 : Math.floor(random() * 400));
    }
    expect(await s.runUntil(() => sent.every((c) => s.replyTo(c.id)), 30_000)).toBe(true);
    await s.runFor(15_000);
    for (const command of sent) expect(s.repliesTo(command.id)).toHaveLength(1);
    expect(s.ledOn).toBe(sent[sent.length - 1].on);
    const reported = s.broker!.reported(s.config.onenet.productId, s.config.onenet.deviceName);
    expect(reported.led.value).toBe(sent[sent.length - 1].on);
    expect(s.clock.errors).toEqual([]);
  });

  it("refuses a wrong type or an unknown identifier and leaves the LED alone", async () => {
    const s = await boot();
    await setAndWait(s, true);
    const wrongType = await s.cloud!.setProperty({ led: "yes" });
    const unknown = await s.cloud!.setProperty({ fan: true });
    expect(await s.runUntil(() => [wrongType, unknown].every((id) => s.replyTo(id)), 5_000)).toBe(true);
    expect(s.replyTo(wrongType)!.json).toMatchObject({ code: 400 });
    expect(s.replyTo(unknown)!.json).toMatchObject({ code: 404 });
    expect(s.ledOn).toBe(true);
  });

  it("applies a desired value set while offline, through property/desired/get after reconnecting, and deletes it", async () => {
    const s = await boot();
    s.wifiDrop(20_000);
    expect(await s.runUntil(() => !s.online, 60_000)).toBe(true);
    await s.setLedDesired(true);
    expect(s.ledOn).toBe(false);
    expect(await s.runUntil(() => s.online && s.ledOn, 180_000)).toBe(true);
    expect(await s.runUntil(() => Object.keys(s.broker!.desired("L14FCC38pq", "test1")).length === 0, 10_000), "deleted at its version").toBe(true);
    const deleted = s.broker!.history.find((e) => e.type === "device-publish" && e.kind === "desired/delete");
    expect(deleted).toMatchObject({ qos: 1, json: { params: { led: { version: 1 } } } });
  });

  const faults: [string, (s: Simulation<SimDevice>) => Promise<void> | void][] = [
    ["WiFi drop", (s) => s.wifiDrop(10_000)],
    ["TCP closed by the server", (s) => s.tcpClose()],
    ["module reset", (s) => s.resetModule()],
    ["broker restart", (s) => s.brokerRestart(3_000)],
  ];
  for (const [name, inject] of faults) {
    it(`recovers from a ${name} and obeys the cloud again`, async () => {
      const s = await boot();
      const connacks = xs!.client.stats.connacks;
      await inject(s);
      expect(await s.runUntil(() => s.online && xs!.client.stats.connacks > connacks, 300_000), "back online").toBe(true);
      expect(await setAndWait(s, true)).toMatchObject({ code: 200 });
      expect(s.ledOn).toBe(true);
      expect(s.clock.errors).toEqual([]);
    });
  }

  it("sends the seed tutorial's CONNECT byte for byte from inside XS", async () => {
    const s = await boot({ receiveMode: "active", keepaliveS: 100, wallClockStart: -1, config: { farFutureEt: seed.onenet.token_params.et } });
    const packets = s.broker!.history.filter((e) => e.type === "packet" && e.dir === "in") as { cmd: string; bytes: Uint8Array }[];
    const connect = packets.find((p) => p.cmd === "connect")!;
    const hex = Array.from(connect.bytes, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(" ");
    expect(hex).toBe(seed.packets.connect.hex);
  });
});
