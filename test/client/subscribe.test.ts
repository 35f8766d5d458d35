import { describe, expect, it } from "vitest";
import { makeRig } from "./harness.js";

const subs = [
  { topic: "$sys/p/d/thing/property/set", qos: 0 as const },
  { topic: "$sys/p/d/thing/property/get", qos: 1 as const },
  { topic: "$sys/p/d/thing/property/post/reply", qos: 0 as const },
];

describe("MqttClient SUBSCRIBE / SUBACK", () => {
  it("sends every subscription in one SUBSCRIBE and re-subscribes after each connect", () => {
    const rig = makeRig({ subscriptions: subs });
    rig.client.start();
    expect(rig.clock.runUntilTrue(() => rig.client.online, 5000)).toBe(true);
    rig.transport.drop("wifi-lost");
    expect(rig.clock.runUntilTrue(() => rig.handler.onlineAt.length === 2, 120_000)).toBe(true);
    const subscribes = rig.server.of("subscribe").map((r) => r.packet as any);
    expect(subscribes).toHaveLength(2);
    for (const s of subscribes) expect(s.subscriptions).toEqual(subs);
    expect(subscribes[0].messageId).not.toBe(0);
    expect(rig.handler.errors).toEqual([]);
  });

  it("reports a 0x80 refusal by topic and still goes online for the others", () => {
    const rig = makeRig({ subscriptions: subs });
    rig.server.subackCodes = [0, 0x80, 0];
    rig.client.start();
    expect(rig.clock.runUntilTrue(() => rig.client.online, 5000)).toBe(true);
    expect(rig.handler.errors.map((e) => [e.code, e.detail])).toEqual([["suback-refused", "$sys/p/d/thing/property/get"]]);
    expect(rig.handler.events).toEqual(["online"]);
  });

  it("a SUBACK with the wrong number of codes closes the link and reconnects", () => {
    const rig = makeRig({ subscriptions: subs });
    rig.server.subackCodes = [0, 0];
    rig.client.start();
    rig.clock.advance(3000);
    expect(rig.client.online).toBe(false);
    expect(rig.handler.errors[0].code).toBe("suback-invalid");
    expect(rig.handler.errors[0].detail).toContain("suback-count-mismatch");
    rig.server.subackCodes = null;
    expect(rig.clock.runUntilTrue(() => rig.client.online, 120_000)).toBe(true);
  });

  it("a SUBACK for another packet id is a protocol violation: link closed, reconnect", () => {
    const rig = makeRig({ subscriptions: subs });
    rig.server.subackIdDelta = 1;
    rig.client.start();
    rig.clock.advance(300);
    expect(rig.client.online).toBe(false);
    expect(rig.handler.errors.map((e) => e.code)).toEqual(["suback-invalid"]);
    expect(rig.server.connects).toBe(1);
    expect(rig.handler.errors[0].detail).toContain("suback-packet-id-mismatch");
    rig.server.subackIdDelta = 0;
    expect(rig.clock.runUntilTrue(() => rig.client.online, 120_000)).toBe(true);
  });

  it("no SUBACK at all: suback-timeout, link closed, back-off", () => {
    const rig = makeRig({ ackTimeoutMs: 10_000 });
    rig.server.answerSubscribe = false;
    rig.client.start();
    rig.clock.advance(10_100);
    expect(rig.handler.errorCodes()).toEqual(["suback-timeout"]);
    expect(rig.client.state === "closing" || rig.client.state === "backoff").toBe(true);
  });

  it("keeps pinging while waiting for a slow SUBACK", () => {
    const rig = makeRig({ keepaliveS: 4, ackTimeoutMs: 20_000 });
    rig.server.answerSubscribe = false;
    rig.client.start();
    rig.clock.advance(10_000);
    expect(rig.server.of("pingreq").length).toBeGreaterThanOrEqual(2);
  });
});

describe("MqttClient configuration limits", () => {
  it("a SUBSCRIBE that cannot fit the buffer is reported and retried only on the long back-off", () => {
    const long = "x".repeat(200);
    const rig = makeRig({ bufferSize: 128, subscriptions: [{ topic: long, qos: 0 }] });
    rig.client.start();
    rig.clock.advance(600_000);
    expect(rig.client.online).toBe(false);
    const codes = rig.handler.errorCodes();
    expect(codes[0]).toBe("encode-failed");
    expect(rig.handler.errors[0].detail).toContain("buffer-too-small");
    expect(rig.server.connects).toBeLessThanOrEqual(4); // minutes apart, not a loop
  });

  it("cleanSession false: an inbound QoS 2 id awaiting PUBREL survives a reconnect with session present", () => {
    const rig = makeRig({ cleanSession: false });
    rig.server.sessionPresent = true;
    rig.client.start();
    expect(rig.clock.runUntilTrue(() => rig.client.online, 5000)).toBe(true);
    expect((rig.server.of("connect")[0].packet as any).clean).toBe(false);
    rig.server.send({ cmd: "publish", topic: "a/b", payload: Buffer.from("x"), qos: 2, messageId: 44 });
    rig.clock.advance(10);
    rig.transport.drop("closed-by-peer");
    expect(rig.clock.runUntilTrue(() => rig.handler.onlineAt.length === 2, 120_000)).toBe(true);
    // The server resends it after the reconnect (DUP): acknowledged, not delivered again.
    rig.server.send({ cmd: "publish", topic: "a/b", payload: Buffer.from("x"), qos: 2, messageId: 44, dup: true });
    rig.clock.advance(10);
    expect(rig.handler.messages).toHaveLength(1);
    expect(rig.server.of("pubrec")).toHaveLength(2);
  });

  it("cleanSession true: the same id after a reconnect is a new message", () => {
    const rig = makeRig();
    rig.client.start();
    expect(rig.clock.runUntilTrue(() => rig.client.online, 5000)).toBe(true);
    rig.server.send({ cmd: "publish", topic: "a/b", payload: Buffer.from("x"), qos: 2, messageId: 44 });
    rig.clock.advance(10);
    rig.transport.drop("closed-by-peer");
    expect(rig.clock.runUntilTrue(() => rig.handler.onlineAt.length === 2, 120_000)).toBe(true);
    rig.server.send({ cmd: "publish", topic: "a/b", payload: Buffer.from("y"), qos: 2, messageId: 44 });
    rig.clock.advance(10);
    expect(rig.handler.messages.map((m) => m.payload)).toEqual(["x", "y"]);
  });
});
