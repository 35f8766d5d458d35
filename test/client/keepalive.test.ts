import { describe, expect, it } from "vitest";
import { bytes, makeRig, seededRandom } from "./harness.js";

function online(options = {}) {
  const rig = makeRig(options);
  rig.client.start();
  expect(rig.clock.runUntilTrue(() => rig.client.online, 5000)).toBe(true);
  return rig;
}

/** Longest silence from the client on one link between `from` and `to`. */
function longestSilence(times: number[], from: number, to: number): number {
  let last = from;
  let longest = 0;
  for (const t of times) {
    if (t < from || t > to) continue;
    longest = Math.max(longest, t - last);
    last = t;
  }
  return Math.max(longest, to - last);
}

describe("MqttClient keepalive", () => {
  for (const keepaliveS of [10, 60, 1800]) {
    it(`keepalive ${keepaliveS} s: the client is never silent longer than the keepalive over 12 hours`, () => {
      const rig = online({ keepaliveS });
      const start = rig.clock.now();
      const random = seededRandom(7);
      // Some application traffic at random times in both directions, so pings interleave with it.
      for (let t = 0; t < 12 * 3_600_000; ) {
        const step = Math.floor(random() * keepaliveS * 2000);
        rig.clock.advance(step);
        t += step;
        if (random() < 0.5) rig.client.publish("a/b", bytes("x"), 0, 1, random() < 0.5 ? 0 : 1);
        else rig.server.send({ cmd: "publish", topic: "c/d", payload: Buffer.from("y"), qos: 0 });
      }
      const end = rig.clock.now();
      expect(rig.handler.events).toEqual(["online"]); // never dropped
      const times = rig.server.received.map((r) => r.at);
      const silence = longestSilence(times, start, end);
      expect(silence).toBeLessThanOrEqual(keepaliveS * 1000 * 0.75);
      expect(rig.client.stats.pingsSent).toBeGreaterThan(0);
      expect(rig.client.stats.pingResponses).toBe(rig.client.stats.pingsSent);
      // Never more than one ping per second (OneNET's limit).
      const pings = rig.server.of("pingreq").map((r) => r.at);
      for (let i = 1; i < pings.length; i++) expect(pings[i] - pings[i - 1]).toBeGreaterThanOrEqual(1000);
      expect(rig.clock.errors).toEqual([]);
    });
  }

  it("pings when the server has been silent, even while the client keeps publishing QoS 0", () => {
    const rig = online({ keepaliveS: 20 });
    for (let i = 0; i < 120; i++) {
      rig.client.publish("a/b", bytes("x"), 0, 1, 0);
      rig.clock.advance(1000);
    }
    // 120 s of outbound traffic and no inbound: pings every 15 s of inbound silence.
    expect(rig.client.stats.pingsSent).toBeGreaterThanOrEqual(7);
  });

  it("declares the link dead when PINGRESP is withheld, then reconnects", () => {
    const rig = online({ keepaliveS: 60, pingTimeoutMs: 10_000 });
    rig.server.answerPing = false;
    const t0 = rig.clock.now();
    expect(rig.clock.runUntilTrue(() => rig.handler.offline.length === 1, 600_000)).toBe(true);
    const down = rig.handler.offline[0];
    expect(down.reason).toBe("keepalive-timeout");
    // PINGREQ at 45 s of silence, declared dead 10 s later: well inside the server's 90 s.
    expect(down.at - t0).toBeGreaterThanOrEqual(45_000);
    expect(down.at - t0).toBeLessThanOrEqual(56_000);
    expect(rig.handler.errorCodes()).toContain("keepalive-timeout");
    expect(rig.transport.closes).toBe(1);
    rig.server.answerPing = true;
    expect(rig.clock.runUntilTrue(() => rig.client.online, 120_000)).toBe(true);
  });

  it("with the default ping timeout a dead link is found before 1.5 x keepalive", () => {
    for (const keepaliveS of [10, 30, 120, 1800]) {
      const rig = online({ keepaliveS });
      rig.server.answerPing = false;
      const t0 = rig.clock.now();
      expect(rig.clock.runUntilTrue(() => rig.handler.offline.length === 1, keepaliveS * 2000)).toBe(true);
      expect(rig.handler.offline[0].at - t0).toBeLessThan(keepaliveS * 1500);
    }
  });

  it("any packet after a PINGREQ counts as a sign of life", () => {
    const rig = online({ keepaliveS: 60, pingTimeoutMs: 10_000 });
    rig.server.answerPing = false;
    rig.clock.advance(46_000); // PINGREQ sent at 45 s
    expect(rig.server.of("pingreq")).toHaveLength(1);
    rig.server.send({ cmd: "publish", topic: "c/d", payload: Buffer.from("y"), qos: 0 });
    rig.clock.advance(20_000);
    expect(rig.client.online).toBe(true);
  });

  it("keepalive 0 sends no pings", () => {
    const rig = online({ keepaliveS: 0 });
    rig.clock.advance(3_600_000);
    expect(rig.server.of("pingreq")).toHaveLength(0);
    expect(rig.client.online).toBe(true);
  });

  it("the first PINGREQ counts silence from the CONNECT, not from going online", () => {
    const rig = makeRig({ keepaliveS: 10 });
    rig.transport.latencyMs = 2000; // slow CONNACK and SUBACK
    rig.client.start();
    rig.clock.advance(20_000);
    const times = rig.server.received.map((r) => r.at);
    expect(longestSilence(times, times[0], rig.clock.now())).toBeLessThanOrEqual(7500);
  });
});
