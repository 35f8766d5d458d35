import { describe, expect, it } from "vitest";
import type { LinkDownReason } from "../../firmware/transport.js";
import { bytes, makeRig } from "./harness.js";

function online(options = {}) {
  const rig = makeRig(options);
  rig.client.start();
  expect(rig.clock.runUntilTrue(() => rig.client.online, 5000)).toBe(true);
  return rig;
}

const reasons: LinkDownReason[] = [
  "closed-by-peer",
  "wifi-lost",
  "module-reset",
  "module-unresponsive",
  "send-failed",
  "connect-failed",
  "wifi-join-failed",
];

describe("MqttClient link faults", () => {
  for (const reason of reasons) {
    it(`comes back after ${reason} while online, and reports it once through onOffline`, () => {
      const rig = online();
      rig.transport.drop(reason, "detail text");
      expect(rig.clock.runUntilTrue(() => rig.handler.onlineAt.length === 2, 120_000)).toBe(true);
      expect(rig.handler.events).toEqual(["online", `offline:${reason}`, "online"]);
      expect(rig.handler.offline[0].detail).toBe("detail text");
      expect(rig.client.stats.connects).toBe(2);
      expect(rig.clock.errors).toEqual([]);
    });
  }

  it("a link that fails to open (WiFi join, TCP connect) is reported and retried with back-off", () => {
    const rig = makeRig();
    rig.transport.openMode = "fail";
    rig.transport.failReason = "wifi-join-failed";
    rig.client.start();
    rig.clock.advance(60_000);
    const opens = rig.transport.opens;
    expect(opens.length).toBeGreaterThanOrEqual(4);
    expect(opens.length).toBeLessThan(15);
    expect(rig.handler.errors[0].code).toBe("connect-failed");
    expect(rig.handler.errors[0].detail).toContain("wifi-join-failed");
    expect(rig.handler.events).toEqual([]); // never online: no onOffline
    rig.transport.openMode = "open";
    expect(rig.clock.runUntilTrue(() => rig.client.online, 120_000)).toBe(true);
  });

  it("a broker restart (link drops, connects refused with 3 for a while) recovers", () => {
    const rig = online();
    rig.server.connackCode = 3;
    rig.transport.drop("closed-by-peer");
    rig.clock.advance(20_000);
    expect(rig.client.online).toBe(false);
    expect(rig.handler.errorCodes()).toContain("connack-server-unavailable");
    rig.server.connackCode = 0;
    expect(rig.clock.runUntilTrue(() => rig.client.online, 120_000)).toBe(true);
  });

  it("the link dropping before CONNACK is a failed attempt, retried", () => {
    const rig = makeRig();
    rig.server.answerConnect = false;
    rig.client.start();
    rig.clock.advance(100);
    expect(rig.client.state).toBe("connecting");
    rig.transport.drop("module-reset");
    rig.server.answerConnect = true;
    expect(rig.clock.runUntilTrue(() => rig.client.online, 120_000)).toBe(true);
    expect(rig.handler.errorCodes()).toEqual(["connect-failed"]);
  });

  it("stop() while connecting closes the link and stays down", () => {
    const rig = makeRig();
    rig.server.answerConnect = false;
    rig.client.start();
    rig.clock.advance(100);
    rig.client.stop();
    rig.clock.advance(600_000);
    expect(rig.client.state).toBe("stopped");
    expect(rig.server.connects).toBe(1);
    expect(rig.transport.opens).toHaveLength(1);
    expect(rig.handler.errors).toEqual([]);
  });

  it("stop() then start() at once: the old link's close does not disturb the new one", () => {
    const rig = online();
    rig.client.stop();
    rig.client.start();
    expect(rig.clock.runUntilTrue(() => rig.client.online, 10_000)).toBe(true);
    rig.clock.advance(10_000);
    expect(rig.client.online).toBe(true);
    expect(rig.handler.events).toEqual(["online", "offline:stopped", "online"]);
    // The transport (like the AT driver) ignores open() until the old close is through: never tried.
    expect(rig.transport.ignoredOpens).toBe(0);
    expect(rig.handler.errors).toEqual([]);
  });
});

describe("MqttClient malformed server packets", () => {
  const fatal: [string, number[]][] = [
    ["CONNACK return code 6", [0x20, 0x02, 0x00, 0x06]],
    ["non-minimal remaining length", [0x30, 0x80, 0x00]],
    ["reserved packet type 15", [0xf0, 0x00]],
    ["a server-forbidden type (SUBSCRIBE)", [0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00]],
    ["PUBLISH with a wildcard topic", [0x30, 0x05, 0x00, 0x03, 0x61, 0x2f, 0x23]],
    ["PUBACK with a bad length", [0x40, 0x03, 0x00, 0x01, 0x00]],
    ["PUBLISH QoS 3", [0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]],
    ["a second CONNACK", [0x20, 0x02, 0x00, 0x00]],
  ];
  for (const [name, raw] of fatal) {
    it(`${name}: protocol-error, link closed, session back after a back-off`, () => {
      const rig = online();
      rig.server.sendRaw(raw);
      rig.clock.advance(100);
      expect(rig.handler.events).toEqual(["online", "offline:protocol-error"]);
      expect(rig.handler.errorCodes()).toEqual(["protocol-error"]);
      expect(rig.transport.closes).toBe(1);
      expect(rig.clock.runUntilTrue(() => rig.client.online, 120_000)).toBe(true);
      expect(rig.clock.errors).toEqual([]);
    });
  }

  it("a packet cut off by the server closing the link is reported (truncated-packet), never delivered", () => {
    const rig = online();
    rig.server.sendRaw([0x30, 0x06, 0x00, 0x01, 0x61]); // 3 of the PUBLISH's 6 bytes
    rig.clock.advance(10);
    rig.transport.drop("closed-by-peer");
    rig.clock.advance(10);
    expect(rig.handler.errors.map((e) => `${e.code}:${e.detail}`)).toEqual(["packet-dropped:truncated-packet"]);
    expect(rig.handler.messages).toHaveLength(0);
    expect(rig.clock.runUntilTrue(() => rig.client.online, 120_000)).toBe(true);
  });

  it("a packet before CONNACK is a protocol error", () => {
    const rig = makeRig();
    rig.server.answerConnect = false;
    rig.client.start();
    rig.clock.advance(100);
    rig.server.send({ cmd: "publish", topic: "a", payload: Buffer.from("x"), qos: 0 });
    rig.clock.advance(10);
    expect(rig.handler.errorCodes()).toEqual(["protocol-error"]);
    expect(rig.handler.messages).toHaveLength(0);
  });

  it("a packet larger than the buffer is dropped and reported; the session and the stream go on", () => {
    const rig = online({ bufferSize: 128 });
    rig.server.send({ cmd: "publish", topic: "big", payload: Buffer.alloc(300, 0x41), qos: 0 });
    rig.server.send({ cmd: "publish", topic: "small", payload: Buffer.from("ok"), qos: 0 });
    rig.clock.advance(100);
    expect(rig.handler.errorCodes()).toEqual(["packet-dropped"]);
    expect(rig.handler.errors[0].detail).toBe("packet-too-large");
    expect(rig.handler.messages.map((m) => m.topic)).toEqual(["small"]);
    expect(rig.client.online).toBe(true);
  });

  it("packets split at every byte and packed several per chunk decode the same", () => {
    const rig = online();
    const a = [0x30, 0x06, 0x00, 0x01, 0x61, 0x68, 0x69, 0x21]; // topic a, payload hi!
    const b = [0x32, 0x06, 0x00, 0x01, 0x62, 0x00, 0x07, 0x7a]; // QoS 1 id 7, topic b, payload z
    for (const byte of a) rig.server.sendRaw([byte]);
    rig.server.sendRaw([...b, ...a]);
    rig.clock.advance(50);
    expect(rig.handler.messages.map((m) => `${m.topic}:${m.payload}`)).toEqual(["a:hi!", "b:z", "a:hi!"]);
    expect(rig.server.of("puback").map((r) => (r.packet as any).messageId)).toEqual([7]);
  });

  it("the rest of a chunk after a fatal error is ignored", () => {
    const rig = online();
    rig.server.sendRaw([0xf0, 0x00, 0x30, 0x03, 0x00, 0x01, 0x61]);
    rig.clock.advance(10);
    expect(rig.handler.messages).toHaveLength(0);
  });

  it("handlers that throw everywhere never break the session or escape into the event loop", () => {
    const rig = makeRig();
    const boom = () => {
      throw new Error("app bug");
    };
    rig.handler.onOnline = boom;
    rig.handler.onStateChange = boom;
    rig.handler.onPublishAcked = boom;
    rig.handler.onMessage = boom;
    rig.handler.onError = boom;
    rig.client.start();
    expect(rig.clock.runUntilTrue(() => rig.client.online, 5000)).toBe(true);
    rig.client.publish("a/b", bytes("x"), 0, 1, 1);
    rig.server.send({ cmd: "publish", topic: "c", payload: Buffer.from("y"), qos: 1, messageId: 3 });
    rig.clock.advance(100);
    expect(rig.server.of("puback")).toHaveLength(1);
    expect(rig.client.inflight.used).toBe(0);
    rig.transport.drop("wifi-lost");
    expect(rig.clock.runUntilTrue(() => rig.client.stats.onlines === 2, 120_000)).toBe(true);
    expect(rig.client.stats.handlerErrors).toBeGreaterThan(5);
    expect(rig.clock.errors).toEqual([]);
  });
});
