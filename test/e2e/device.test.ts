/*
 * The LED firmware end to end on the simulated bench, in virtual time: the real driver, session
 * and application on the host board, the emulated ESP8266 on a 115200-baud virtual UART, and the
 * embedded OneNET-compatible broker checking everything it receives.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Dialect } from "../../host-sim/esp8266/emulator.js";
import { Simulation, type SimulationOptions } from "../../host-sim/sim.js";
import type { ReceiveMode } from "../../firmware/config.js";

let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function online(options: SimulationOptions = {}): Promise<Simulation> {
  sim = await Simulation.create(options);
  sim.start();
  const s = sim;
  expect(await s.runUntil(() => s.online, 120_000), "the board comes online").toBe(true);
  return s;
}

interface Reply {
  id: string;
  code: number;
  msg: string;
  data?: Record<string, unknown>;
}

async function setAndWait(s: Simulation, on: boolean): Promise<Reply> {
  const id = await s.setLed(on);
  expect(await s.runUntil(() => s.replyTo(id) !== undefined, 10_000), `set_reply for ${id}`).toBe(true);
  return s.replyTo(id)!.json as Reply;
}

function postedValues(s: Simulation): unknown[] {
  return s.deviceMessages
    .filter((m) => m.kind === "property/post")
    .map((m) => (m.json as { params: { led: { value: unknown } } }).params.led.value);
}

const matrix: [Dialect, ReceiveMode][] = [
  ["1.7", "active"],
  ["2.x", "active"],
  ["1.7", "passive"],
  ["2.x", "passive"],
  ["1.7", "transparent"],
  ["2.x", "transparent"],
];

describe("the board on OneNET through the emulated ESP8266", () => {
  for (const [dialect, receiveMode] of matrix) {
    it(`comes online and obeys property/set (AT ${dialect}, ${receiveMode} receive)`, async () => {
      const s = await online({ dialect, receiveMode });
      expect(s.emulator.state.wifi).toBeTruthy();
      expect(await setAndWait(s, true)).toMatchObject({ code: 200, msg: "success" });
      expect(s.ledOn).toBe(true);
      expect(await setAndWait(s, false)).toMatchObject({ code: 200 });
      expect(s.ledOn).toBe(false);
      expect(s.clock.errors).toEqual([]);
    });
  }

  it("handles 100 property/set commands in a row: LED = last command, one set_reply each, no post lost", async () => {
    const s = await online({ seed: 7 });
    const random = s.board.random;
    const sent: { id: string; on: boolean }[] = [];
    for (let i = 0; i < 100; i++) {
      const on = random() < 0.5;
      sent.push({ id: await s.setLed(on), on });
      // Some commands back to back, some spaced out.
      await s.runFor(random() < 0.3 ? 0 : Math.floor(random() * 400));
    }
    const last = sent[sent.length - 1];
    expect(await s.runUntil(() => sent.every((c) => s.replyTo(c.id)), 30_000)).toBe(true);
    await s.runFor(15_000);
    for (const command of sent) {
      const replies = s.repliesTo(command.id);
      expect(replies, `replies to ${command.id}`).toHaveLength(1);
      expect(replies[0].json).toEqual({ id: command.id, code: 200, msg: "success" });
    }
    expect(s.ledOn).toBe(last.on);
    // Every change was reported, in order, and the last report is the LED's state.
    const posts = postedValues(s);
    expect(posts.at(-1)).toBe(last.on);
    const changes = sent.filter((c, i) => c.on !== (i === 0 ? false : sent[i - 1].on)).length;
    expect(posts.length).toBeGreaterThanOrEqual(1 + changes);
    const reported = s.broker!.reported(s.config.onenet.productId, s.config.onenet.deviceName);
    expect(reported.led.value).toBe(last.on);
  });

  it("answers property/get with the LED state", async () => {
    const s = await online();
    await setAndWait(s, true);
    const id = await s.getLed();
    expect(await s.runUntil(() => s.replyTo(id) !== undefined, 5_000)).toBe(true);
    expect(s.replyTo(id)!.json).toEqual({ id, code: 200, msg: "success", data: { led: true } });
  });

  it("refuses a wrong type or an unknown identifier with an error reply and leaves the LED alone", async () => {
    const s = await online();
    await setAndWait(s, true);
    const wrongType = await s.cloud!.setProperty({ led: "yes" });
    const unknown = await s.cloud!.setProperty({ fan: true });
    const mixed = await s.cloud!.setProperty({ led: false, fan: 1 });
    expect(await s.runUntil(() => [wrongType, unknown, mixed].every((id) => s.replyTo(id)), 5_000)).toBe(true);
    expect(s.replyTo(wrongType)!.json).toMatchObject({ id: wrongType, code: 400 });
    expect(s.replyTo(unknown)!.json).toMatchObject({ id: unknown, code: 404 });
    expect(s.replyTo(mixed)!.json).toMatchObject({ id: mixed, code: 404 });
    expect(s.ledOn).toBe(true);
  });

  it("applies a desired value set while it was offline, through property/desired/get after reconnecting", async () => {
    const s = await online();
    s.wifiDrop(20_000);
    expect(await s.runUntil(() => !s.online && !s.broker!.isOnline("L14FCC38pq", "test1"), 60_000)).toBe(true);
    await expect(s.setLed(true)).rejects.toThrow("device not online"); // OneNET keeps no set for an offline device
    await s.setLedDesired(true); // but it keeps a desired value
    expect(s.ledOn).toBe(false);
    expect(await s.runUntil(() => s.online && s.ledOn, 180_000)).toBe(true);
    await s.runFor(2_000);
    expect(postedValues(s).at(-1)).toBe(true);
  });

  it("subscribes again when a thing topic was refused, so a get is answered after all", async () => {
    sim = await Simulation.create();
    const s = sim;
    s.broker!.refuseNextSubscription("thing/property/get");
    s.start();
    expect(await s.runUntil(() => s.online, 120_000)).toBe(true);
    expect(s.events.some((e) => e.type === "error" && e.code === "suback-refused")).toBe(true);
    const lost = await s.getLed();
    await s.runFor(5_000);
    expect(s.replyTo(lost)).toBeUndefined(); // deaf to property/get for now
    // Within the first retry delay (a minute) the session is restarted and subscribes again.
    const connects = s.device.client.stats.connects;
    expect(await s.runUntil(() => s.online && s.device.client.stats.connects > connects, 90_000)).toBe(true);
    const id = await s.getLed();
    expect(await s.runUntil(() => s.replyTo(id) !== undefined, 5_000)).toBe(true);
    expect(s.replyTo(id)!.json).toMatchObject({ id, code: 200, data: { led: false } });
  });

  const faults: [string, (s: Simulation) => Promise<void> | void][] = [
    ["WiFi drop", (s) => s.wifiDrop(10_000)],
    ["TCP closed by the server", (s) => s.tcpClose()],
    ["module reset", (s) => s.resetModule()],
    ["broker restart", (s) => s.brokerRestart(3_000)],
  ];
  for (const [name, inject] of faults) {
    it(`recovers from a ${name} and obeys the cloud again`, async () => {
      const s = await online();
      const connacks = s.device.client.stats.connacks;
      await inject(s);
      expect(await s.runUntil(() => s.online && s.device.client.stats.connacks > connacks, 300_000), "back online").toBe(true);
      expect(await setAndWait(s, true)).toMatchObject({ code: 200 });
      expect(s.ledOn).toBe(true);
      expect(s.clock.errors).toEqual([]);
    });
  }

  it("sends the seed tutorial's CONNECT byte for byte, and its SUBSCRIBE and PUBLISH topics", async () => {
    const { readFileSync } = await import("node:fs");
    const seed = JSON.parse(readFileSync(new URL("../fixtures/seed-vectors.json", import.meta.url), "utf8"));
    const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(" ");
    // The seed's device, keepalive 100 and a board without a clock, which signs with the configured
    // far-future et: exactly the seed's token.
    const s = await online({
      receiveMode: "active",
      keepaliveS: 100,
      wallClockStart: -1,
      config: { farFutureEt: seed.onenet.token_params.et },
    });
    expect(await s.runUntil(() => s.deviceMessages.some((m) => m.kind === "property/post"), 5_000)).toBe(true);
    const packets = s.broker!.history.filter((e) => e.type === "packet" && e.dir === "in") as { cmd: string; bytes: Uint8Array }[];
    const connect = packets.find((p) => p.cmd === "connect")!;
    expect(hex(connect.bytes)).toBe(seed.packets.connect.hex);
    // SUBSCRIBE: our packet asks for several thing topics at once; the property/set entry is the seed's.
    const subscribe = hex(packets.find((p) => p.cmd === "subscribe")!.bytes);
    const seedEntry = seed.packets.subscribe.hex.split(" ").slice(4).join(" ");
    expect(subscribe.startsWith("82 ")).toBe(true);
    expect(subscribe).toContain(seedEntry);
    // PUBLISH to property/post: the seed's topic bytes, at QoS 1 here (OneNET acknowledges it).
    const publish = hex(packets.find((p) => p.cmd === "publish")!.bytes);
    const seedTopic = seed.packets.publish_qos0.hex.split(" ").slice(2, 2 + 2 + 41).join(" ");
    expect(publish.startsWith("32 ")).toBe(true);
    expect(publish).toContain(seedTopic);
  });

  it("never puts the WiFi password, the device key or the token in a log line or an event", async () => {
    const password = "s3cret-Wifi-pass";
    const s = await online({ receiveMode: "active", password });
    s.wifiDrop(5_000);
    await s.runUntil(() => !s.online, 60_000);
    await s.runUntil(() => s.online, 120_000);
    const connect = s.broker!.history.find((e) => e.type === "packet" && e.dir === "in" && e.cmd === "connect") as { bytes: Uint8Array };
    const token = new TextDecoder().decode(connect.bytes).split("version=")[1];
    const text = JSON.stringify(s.events.filter((e) => e.type !== "uart")) + JSON.stringify(s.board.logLines);
    expect(text).not.toContain(password);
    expect(text).not.toContain(s.config.onenet.key);
    expect(text).not.toContain(token.slice(0, 40));
    expect(text).not.toContain("sign=");
  });
});
