import { describe, expect, it } from "vitest";
import type { ClientError } from "../../firmware/mqtt/client.js";
import { MqttClient, MqttClientConfigError } from "../../firmware/mqtt/client.js";
import { FakeTransport, makeRig } from "./harness.js";
import { VirtualClock } from "../../host-sim/clock.js";

/** Largest number of CONNECTs inside any closed window of `windowMs`. */
function maxInWindow(times: number[], windowMs: number): number {
  let best = 0;
  for (let i = 0; i < times.length; i++) {
    let j = i;
    while (j < times.length && times[j] - times[i] <= windowMs) j++;
    best = Math.max(best, j - i);
  }
  return best;
}

function gaps(times: number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < times.length; i++) out.push(times[i] - times[i - 1]);
  return out;
}

describe("MqttClient connect", () => {
  it("connects, subscribes and goes online with a fresh password each CONNECT", () => {
    const rig = makeRig();
    const { clock, client, server, handler } = rig;
    client.start();
    expect(clock.runUntilTrue(() => client.online, 5000)).toBe(true);
    const connect = server.of("connect")[0].packet as any;
    expect(connect.clientId).toBe("test1");
    expect(connect.username).toBe("L14FCC38pq");
    expect(connect.password.toString()).toBe("token-1");
    expect(connect.keepalive).toBe(60);
    expect(connect.clean).toBe(true);
    expect(connect.will).toBeUndefined();
    const subscribe = server.of("subscribe")[0].packet as any;
    expect(subscribe.subscriptions).toEqual([{ topic: "$sys/L14FCC38pq/test1/thing/#", qos: 0 }]);
    expect(subscribe.messageId).toBeGreaterThan(0);
    expect(handler.events).toEqual(["online"]);
    expect(handler.states).toEqual(["opening", "connecting", "subscribing", "online"]);
    expect(client.state).toBe("online");
    // Second connect after a drop: a new token.
    rig.transport.drop("closed-by-peer");
    expect(clock.runUntilTrue(() => handler.events.length === 3, 120_000)).toBe(true);
    expect(handler.events).toEqual(["online", "offline:closed-by-peer", "online"]);
    const second = server.of("connect")[1].packet as any;
    expect(second.password.toString()).toBe("token-2");
    expect(rig.passwords).toEqual(["token-1", "token-2"]);
    expect(client.stats.connects).toBe(2);
    // The token never reaches the logs or the errors.
    expect(rig.logs.join("\n")).not.toContain("token-");
    expect(JSON.stringify(handler.errors)).not.toContain("token-");
    expect(clock.errors).toEqual([]);
  });

  it("goes online right after CONNACK when there is nothing to subscribe", () => {
    const rig = makeRig({ subscriptions: [] });
    rig.client.start();
    expect(rig.clock.runUntilTrue(() => rig.client.online, 5000)).toBe(true);
    expect(rig.server.of("subscribe")).toHaveLength(0);
    expect(rig.handler.states).toEqual(["opening", "connecting", "online"]);
  });

  const refusals: [number, ClientError, "normal" | "long"][] = [
    [1, "connack-bad-protocol", "long"],
    [2, "connack-id-rejected", "long"],
    [3, "connack-server-unavailable", "normal"],
    [4, "connack-bad-credentials", "long"],
    [5, "connack-not-authorized", "long"],
  ];
  for (const [code, name, policy] of refusals) {
    it(`CONNACK ${code} is reported as ${name} with a ${policy} back-off`, () => {
      const rig = makeRig();
      rig.server.connackCode = code;
      rig.client.start();
      rig.clock.advance(3_600_000); // one hour
      const connects = rig.server.of("connect").map((r) => r.at);
      expect(rig.handler.events).toEqual([]); // never online
      expect(rig.handler.errorCodes().filter((c) => c === name)).toHaveLength(connects.length);
      expect(rig.handler.errors[0].detail).toContain(`${code}`);
      expect(rig.client.stats.refusals).toBe(connects.length);
      const intervals = gaps(connects);
      if (policy === "long") {
        // Minutes between attempts, growing to the 30-minute cap: about 6 tries in an hour.
        expect(Math.min(...intervals)).toBeGreaterThanOrEqual(60_000);
        expect(connects.length).toBeLessThanOrEqual(8);
        expect(connects.length).toBeGreaterThanOrEqual(3);
      } else {
        // Exponential from ~1 s up to the 60 s cap.
        expect(Math.min(...intervals)).toBeGreaterThanOrEqual(500);
        expect(Math.max(...intervals)).toBeLessThanOrEqual(61_000);
        expect(intervals[4]).toBeGreaterThan(intervals[0]);
        expect(connects.length).toBeGreaterThan(50);
        expect(connects.length).toBeLessThan(130);
      }
      expect(maxInWindow(connects, 5000)).toBeLessThanOrEqual(3);
      expect(rig.clock.errors).toEqual([]);
    });
  }

  it("a refusal does not stop the session: it comes online once the server accepts", () => {
    const rig = makeRig();
    rig.server.connackCode = (n) => (n <= 2 ? 4 : 0);
    rig.client.start();
    expect(rig.clock.runUntilTrue(() => rig.client.online, 3_600_000)).toBe(true);
    expect(rig.server.connects).toBe(3);
    expect(rig.handler.errorCodes()).toEqual(["connack-bad-credentials", "connack-bad-credentials"]);
    // Each attempt carried a fresh token.
    expect(rig.server.of("connect").map((r) => (r.packet as any).password.toString())).toEqual(["token-1", "token-2", "token-3"]);
  });

  it("closes the link and backs off when no CONNACK comes", () => {
    const rig = makeRig({ ackTimeoutMs: 10_000 });
    rig.server.answerConnect = false;
    rig.client.start();
    rig.clock.advance(60_000);
    const connects = rig.server.of("connect").map((r) => r.at);
    expect(connects.length).toBeGreaterThanOrEqual(3);
    expect(rig.handler.errorCodes().filter((c) => c === "connack-timeout").length).toBeGreaterThanOrEqual(connects.length - 1);
    expect(rig.transport.closes).toBeGreaterThanOrEqual(connects.length - 1);
    for (const gap of gaps(connects)) expect(gap).toBeGreaterThanOrEqual(10_000);
  });

  it("never sends more than 3 CONNECTs in 5 s, even when the server drops every session at once", () => {
    const rig = makeRig({ backoff: { initialMs: 1, maxMs: 1 } });
    rig.server.dropAfterConnack = "closed-by-peer";
    rig.transport.openDelayMs = 0;
    rig.transport.latencyMs = 0;
    rig.client.start();
    rig.clock.advance(120_000);
    const connects = rig.server.of("connect").map((r) => r.at);
    expect(connects.length).toBeGreaterThan(30); // the cap, not the back-off, is what limits here
    expect(maxInWindow(connects, 5000)).toBe(3);
    expect(rig.clock.errors).toEqual([]);
  });

  it("the cap holds across every link-down reason", () => {
    const rig = makeRig({ backoff: { initialMs: 1, maxMs: 1 } });
    rig.transport.openDelayMs = 0;
    rig.transport.latencyMs = 0;
    const reasons = ["closed-by-peer", "wifi-lost", "module-reset", "module-unresponsive", "send-failed"] as const;
    let i = 0;
    rig.handler.onOnline = function () {
      this.events.push("online");
      rig.transport.drop(reasons[i++ % reasons.length]);
    };
    rig.client.start();
    rig.clock.advance(60_000);
    const connects = rig.server.of("connect").map((r) => r.at);
    expect(connects.length).toBeGreaterThan(20);
    expect(maxInWindow(connects, 5000)).toBeLessThanOrEqual(3);
    expect(new Set(rig.handler.offline.map((o) => o.reason))).toEqual(new Set(reasons));
    expect(rig.transport.ignoredOpens).toBe(0);
  });

  it("back-off grows while the session never becomes stable, and resets after a stable session", () => {
    const rig = makeRig({ backoff: { initialMs: 1000, maxMs: 60_000 }, stableMs: 30_000 });
    rig.server.dropAfterConnack = "closed-by-peer";
    rig.client.start();
    rig.clock.advance(600_000);
    const connects = rig.server.of("connect").map((r) => r.at);
    const intervals = gaps(connects);
    // Doubling: later gaps are long, so a flapping broker sees few logins.
    expect(intervals[intervals.length - 1]).toBeGreaterThan(25_000);
    expect(connects.length).toBeLessThan(25);
    // Now the server keeps sessions: after a stable one, the next reconnect is quick again.
    rig.server.dropAfterConnack = null;
    expect(rig.clock.runUntilTrue(() => rig.client.online, 120_000)).toBe(true);
    rig.clock.advance(60_000);
    const before = rig.server.connects;
    const dropAt = rig.clock.now();
    rig.transport.drop("closed-by-peer");
    expect(rig.clock.runUntilTrue(() => rig.server.connects > before, 120_000)).toBe(true);
    expect(rig.clock.now() - dropAt).toBeLessThan(1200);
  });

  it("a failing writePassword is reported without the secret and retried on the long back-off", () => {
    const clock = new VirtualClock();
    const transport = new FakeTransport(clock);
    const errors: string[] = [];
    let calls = 0;
    const client = new MqttClient(
      { clock, log: () => {}, random: () => 0.5 },
      transport,
      {
        clientId: "d",
        username: "p",
        keepaliveS: 60,
        writePassword: () => {
          calls++;
          throw new Error("key secret-key-123 is not base64");
        },
      },
      {
        onOnline: () => {},
        onOffline: () => {},
        onMessage: () => {},
        onError: (code, detail) => errors.push(`${code} ${detail}`),
      },
    );
    client.start();
    clock.advance(600_000);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThanOrEqual(5);
    expect(errors.some((e) => e.startsWith("password-failed"))).toBe(true);
    expect(errors.join("\n")).not.toContain("secret-key-123");
  });

  it("rejects bad options at construction with the option's name", () => {
    const clock = new VirtualClock();
    const make = (keepaliveS: number) =>
      new MqttClient({ clock, log: () => {}, random: () => 0 }, new FakeTransport(clock), { clientId: "x", keepaliveS }, {
        onOnline: () => {},
        onOffline: () => {},
        onMessage: () => {},
        onError: () => {},
      });
    expect(() => make(70_000)).toThrow(MqttClientConfigError);
    expect(() => make(-1)).toThrow(/keepaliveS/);
    expect(() => make(60)).not.toThrow();
  });

  it("reports a transport that never opens, then retries", () => {
    const rig = makeRig({ openTimeoutMs: 30_000 });
    rig.transport.openMode = "hang";
    rig.client.start();
    rig.clock.advance(40_000);
    expect(rig.handler.errorCodes()).toContain("open-timeout");
    rig.transport.openMode = "open";
    expect(rig.clock.runUntilTrue(() => rig.client.online, 120_000)).toBe(true);
  });
});
