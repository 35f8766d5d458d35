/*
 * The firmware stays within OneNET's limits, against the embedded broker that enforces them (each
 * reaction is a "limit" event there: test/broker/limits.test.ts and connect.test.ts). Driven hard: the
 * link is cut the moment the device is online and the session is told to retry at once, over and over,
 * with the longest names a device may have.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { BrokerEvent } from "../../host-sim/broker/onenet-broker.js";
import {
  LOGIN_WINDOW_MS,
  LOGINS_PER_WINDOW,
  MAX_FILTER_BYTES,
  MAX_FILTERS_PER_SUBSCRIBE,
  MAX_PAYLOAD_BYTES,
  MAX_SUBSCRIPTIONS,
  MAX_TOPIC_LEVELS,
} from "../../host-sim/broker/limits.js";
import { Simulation } from "../../host-sim/sim.js";
import { parseConfig, ConfigError } from "../../firmware/config.js";

let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

type Packet = Extract<BrokerEvent, { type: "packet" }>;

describe("the firmware within OneNET's limits", () => {
  it("never draws a limit reaction from the broker, however often its link is cut and it is told to retry at once", async () => {
    // The longest product id and device name the configuration accepts: the longest filters.
    const productId = "P".repeat(64);
    const deviceName = "d".repeat(62) + "_-";
    sim = await Simulation.create({ productId, deviceName });
    const s = sim;
    s.start();
    expect(await s.runUntil(() => s.online, 120_000)).toBe(true);
    for (let i = 0; i < 8; i++) {
      const connacks = s.device.client.stats.connacks;
      s.tcpClose();
      // The moment it notices, it is told to try again now (as after new WiFi settings): only the login cap holds it back.
      await s.runUntil(() => !s.online, 10_000);
      s.device.client.retryNow();
      expect(await s.runUntil(() => s.online && s.device.client.stats.connacks > connacks, 60_000), `back online ${i + 1}`).toBe(true);
    }
    await s.runFor(10_000);
    const history = s.broker!.history;

    // No reaction at all: no refused login, no failed filter, no link closed for a rule.
    expect(history.filter((e) => e.type === "limit")).toEqual([]);
    expect(history.filter((e) => e.type === "connack" && e.returnCode !== 0)).toEqual([]);
    expect(history.filter((e) => e.type === "disconnected" && e.reason.startsWith("rule:"))).toEqual([]);

    // Logins as the broker counted them: at most 3 in any 5 s (and the cap was reached: 9 logins).
    const logins = history.filter((e) => e.type === "connack").map((e) => e.t);
    expect(logins.length).toBe(9);
    for (let i = LOGINS_PER_WINDOW; i < logins.length; i++) expect(logins[i]! - logins[i - LOGINS_PER_WINDOW]!).toBeGreaterThanOrEqual(LOGIN_WINDOW_MS);
    expect(logins.some((t, i) => i >= LOGINS_PER_WINDOW && t - logins[i - LOGINS_PER_WINDOW]! < LOGIN_WINDOW_MS + 2_000)).toBe(true);

    // Every SUBSCRIBE: at most 8 filters, each of at most 8 levels and 512 bytes, QoS 0 asked; 10 filters at most.
    const subscribes = history.filter((e): e is Packet => e.type === "packet" && e.dir === "in" && e.cmd === "subscribe");
    expect(subscribes.length).toBe(9);
    for (const p of subscribes) {
      const subs = (p.packet as { subscriptions: { topic: string; qos: number }[] }).subscriptions;
      expect(subs.length).toBeLessThanOrEqual(MAX_FILTERS_PER_SUBSCRIBE);
      expect(new Set(subs.map((x) => x.topic)).size).toBeLessThanOrEqual(MAX_SUBSCRIPTIONS);
      for (const { topic, qos } of subs) {
        expect(topic.split("/").length).toBeLessThanOrEqual(MAX_TOPIC_LEVELS);
        expect(Buffer.byteLength(topic)).toBeLessThanOrEqual(MAX_FILTER_BYTES);
        expect(qos).toBe(0);
      }
    }
    const granted = history.filter((e) => e.type === "subscribe").flatMap((e) => e.granted);
    expect(granted.every((g) => g === 0)).toBe(true);
    // Every PUBLISH it sent is far below 256 KB.
    const publishes = history.filter((e): e is Packet => e.type === "packet" && e.dir === "in" && e.cmd === "publish");
    expect(publishes.length).toBeGreaterThan(0);
    for (const p of publishes) expect(p.bytes.length).toBeLessThan(MAX_PAYLOAD_BYTES);
    // Every post well formed: the broker never answered 2402 "request format error" (nor any other error).
    const postReplies = history.filter((e) => e.type === "cloud-publish" && e.topic.endsWith("/property/post/reply"));
    expect(postReplies.length).toBeGreaterThan(0);
    expect(postReplies.every((e) => (e as { json: { code: number } }).json.code === 200)).toBe(true);
    expect(s.clock.errors).toEqual([]);
  });

  it("cannot be configured for a packet near 256 KB: the MQTT buffer stops at 16 KB", () => {
    const base = { ssid: "home", password: "password123", product: "L14FCC38pq", device: "test1", key: "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=" };
    expect(parseConfig({ ...base, bufferSize: 16384 }).mqtt.bufferSize).toBeLessThan(MAX_PAYLOAD_BYTES);
    expect(() => parseConfig({ ...base, bufferSize: 16385 })).toThrow(ConfigError);
  });
});
