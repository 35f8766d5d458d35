import { describe, expect, it } from "vitest";
import { bytes, makeRig } from "./harness.js";

const TOPIC = "$sys/p/d/thing/property/post";

function online(options = {}) {
  const rig = makeRig(options);
  rig.client.start();
  expect(rig.clock.runUntilTrue(() => rig.client.online, 5000)).toBe(true);
  return rig;
}

describe("MqttClient outbound PUBLISH", () => {
  it("QoS 0: sent at once, with the topic and payload slice given", () => {
    const rig = online();
    const payload = bytes("xx{\"led\":true}yy");
    expect(rig.client.publish(TOPIC, payload, 2, payload.length - 4, 0)).toBe("sent");
    rig.clock.advance(10);
    const p = rig.server.of("publish")[0].packet as any;
    expect(p.topic).toBe(TOPIC);
    expect(p.payload.toString()).toBe("{\"led\":true}");
    expect(p.qos).toBe(0);
    expect(p.retain).toBe(false);
    expect(rig.client.stats.published).toBe(1);
  });

  it("QoS 0 takes the topic as bytes too", () => {
    const rig = online();
    const topic = bytes(`..${TOPIC}`);
    expect(rig.client.publish({ bytes: topic, offset: 2, length: topic.length - 2 }, bytes("1"), 0, 1, 0)).toBe("sent");
    rig.clock.advance(10);
    expect((rig.server.of("publish")[0].packet as any).topic).toBe(TOPIC);
  });

  it("QoS 0 while offline is dropped and says so", () => {
    const rig = makeRig();
    expect(rig.client.publish(TOPIC, bytes("x"), 0, 1, 0)).toBe("offline");
  });

  it("QoS 0 that the transport has no room for is dropped with tx-full", () => {
    const rig = online();
    rig.transport.sendSpace = 20;
    expect(rig.client.publish(TOPIC, bytes("0123456789"), 0, 10, 0)).toBe("tx-full");
  });

  it("too-large and invalid publishes are refused without sending anything", () => {
    const rig = online({ bufferSize: 128 });
    const big = new Uint8Array(200);
    expect(rig.client.publish(TOPIC, big, 0, 200, 0)).toBe("too-large");
    expect(rig.client.publish(TOPIC, big, 0, 200, 1)).toBe("too-large");
    expect(rig.client.inflight.used).toBe(0);
    expect(rig.client.publish("a/+/b", big, 0, 1, 0)).toBe("invalid");
    expect(rig.client.lastPublishError).toBe("topic-has-wildcard");
    expect(rig.client.publish(TOPIC, big, 0, 1, 3 as 0)).toBe("invalid");
    rig.clock.advance(100);
    expect(rig.server.of("publish")).toHaveLength(0);
  });

  it("QoS 1: PUBACK frees the slot and is reported with the packet id", () => {
    const rig = online();
    expect(rig.client.publish(TOPIC, bytes("a"), 0, 1, 1)).toBe("sent");
    const id = rig.client.lastPacketId;
    expect(id).toBeGreaterThan(0);
    expect(rig.client.inflight.used).toBe(1);
    rig.clock.advance(50);
    const p = rig.server.of("publish")[0].packet as any;
    expect(p.qos).toBe(1);
    expect(p.messageId).toBe(id);
    expect(p.dup).toBe(false);
    expect(rig.handler.acked).toEqual([id]);
    expect(rig.client.inflight.used).toBe(0);
  });

  it("QoS 1 without PUBACK is retransmitted with DUP and the same id until acknowledged", () => {
    const rig = online({ retransmitMs: 5000 });
    rig.server.answerPublish = false;
    rig.client.publish(TOPIC, bytes("a"), 0, 1, 1);
    const id = rig.client.lastPacketId;
    rig.clock.advance(12_000);
    const copies = rig.server.of("publish").map((r) => r.packet as any);
    expect(copies).toHaveLength(3);
    expect(copies.map((c) => c.dup)).toEqual([false, true, true]);
    expect(copies.every((c) => c.messageId === id)).toBe(true);
    expect(rig.client.stats.retransmissions).toBe(2);
    rig.server.answerPublish = true;
    rig.clock.advance(5000);
    expect(rig.handler.acked).toEqual([id]);
    const count = rig.server.of("publish").length;
    rig.clock.advance(30_000);
    expect(rig.server.of("publish").length).toBe(count);
  });

  it("the in-flight limit refuses more than maxInflight unacknowledged messages", () => {
    const rig = online({ maxInflight: 2 });
    rig.server.answerPublish = false;
    expect(rig.client.publish(TOPIC, bytes("1"), 0, 1, 1)).toBe("sent");
    expect(rig.client.publish(TOPIC, bytes("2"), 0, 1, 1)).toBe("sent");
    expect(rig.client.publish(TOPIC, bytes("3"), 0, 1, 1)).toBe("inflight-full");
    // QoS 0 is not limited by the in-flight slots.
    expect(rig.client.publish(TOPIC, bytes("4"), 0, 1, 0)).toBe("sent");
  });

  it("packet ids are never 0 and never reused while in flight (the wrap itself: backoff.test.ts)", () => {
    // No retransmission: the held message must stay unacknowledged through the whole run.
    const rig = online({ maxInflight: 3, retransmitMs: 0 });
    rig.server.answerPublish = false;
    rig.client.publish(TOPIC, bytes("held"), 0, 4, 1); // stays in flight the whole time
    const held = rig.client.lastPacketId;
    rig.server.answerPublish = true;
    const seen = new Set<number>();
    for (let i = 0; i < 3000; i++) {
      expect(rig.client.publish(TOPIC, bytes("x"), 0, 1, 1)).toBe("sent");
      const id = rig.client.lastPacketId;
      expect(id).toBeGreaterThanOrEqual(1);
      expect(id).toBeLessThanOrEqual(65_535);
      expect(id).not.toBe(held);
      seen.add(id);
      rig.clock.advance(20); // acked
    }
    expect(seen.size).toBe(3000);
  });

  it("a QoS 1 message published while offline is delivered after reconnect, in order", () => {
    const rig = online();
    rig.transport.drop("wifi-lost");
    rig.clock.advance(10);
    expect(rig.client.online).toBe(false);
    expect(rig.client.publish(TOPIC, bytes("first"), 0, 5, 1)).toBe("queued");
    const first = rig.client.lastPacketId;
    expect(rig.client.publish(TOPIC, bytes("second"), 0, 6, 1)).toBe("queued");
    const second = rig.client.lastPacketId;
    expect(rig.clock.runUntilTrue(() => rig.client.online, 120_000)).toBe(true);
    rig.clock.advance(100);
    const sent = rig.server.of("publish").map((r) => r.packet as any);
    expect(sent.map((p) => p.payload.toString())).toEqual(["first", "second"]);
    expect(sent.map((p) => p.dup)).toEqual([false, false]); // never sent before
    expect(rig.handler.acked).toEqual([first, second]);
  });

  it("a QoS 1 message in flight when the link dies is resent with DUP on the next link", () => {
    const rig = online();
    rig.server.answerPublish = false;
    rig.client.publish(TOPIC, bytes("m"), 0, 1, 1);
    const id = rig.client.lastPacketId;
    rig.clock.advance(100);
    rig.transport.drop("module-reset");
    rig.server.answerPublish = true;
    expect(rig.clock.runUntilTrue(() => rig.handler.acked.length === 1, 120_000)).toBe(true);
    const copies = rig.server.of("publish");
    expect(copies).toHaveLength(2);
    expect(copies[1].link).toBeGreaterThan(copies[0].link);
    expect((copies[1].packet as any).dup).toBe(true);
    expect((copies[1].packet as any).messageId).toBe(id);
    expect(rig.handler.acked).toEqual([id]);
  });

  it("QoS 1 queued when the transport is full goes out once there is room", () => {
    const rig = online();
    rig.transport.sendSpace = 10;
    expect(rig.client.publish(TOPIC, bytes("payload"), 0, 7, 1)).toBe("queued");
    rig.clock.advance(500);
    expect(rig.server.of("publish")).toHaveLength(0);
    rig.transport.sendSpace = 4096;
    rig.clock.advance(500);
    expect(rig.server.of("publish")).toHaveLength(1);
    expect(rig.handler.acked).toHaveLength(1);
  });

  it("QoS 2 outbound: PUBREC -> PUBREL -> PUBCOMP, then acknowledged", () => {
    const rig = online();
    expect(rig.client.publish(TOPIC, bytes("q2"), 0, 2, 2)).toBe("sent");
    const id = rig.client.lastPacketId;
    rig.clock.advance(100);
    expect(rig.server.of("pubrel").map((r) => (r.packet as any).messageId)).toEqual([id]);
    expect(rig.handler.acked).toEqual([id]);
    expect(rig.client.inflight.used).toBe(0);
  });

  it("QoS 2 outbound: the PUBREL (not the PUBLISH) is resent after a reconnect", () => {
    const rig = online();
    rig.server.answerPublish = false;
    rig.client.publish(TOPIC, bytes("q2"), 0, 2, 2);
    const id = rig.client.lastPacketId;
    rig.server.send({ cmd: "pubrec", messageId: id });
    rig.clock.advance(50);
    expect(rig.server.of("pubrel")).toHaveLength(1);
    rig.transport.drop("closed-by-peer");
    rig.server.answerPublish = true;
    expect(rig.clock.runUntilTrue(() => rig.handler.acked.length === 1, 120_000)).toBe(true);
    expect(rig.server.of("publish")).toHaveLength(1);
    expect(rig.server.of("pubrel")).toHaveLength(2);
    expect(rig.handler.acked).toEqual([id]);
  });

  it("an ack for an unknown packet id is ignored and counted, nothing freed", () => {
    const rig = online();
    rig.server.answerPublish = false;
    rig.client.publish(TOPIC, bytes("a"), 0, 1, 1);
    const id = rig.client.lastPacketId;
    rig.server.send({ cmd: "puback", messageId: id + 7 });
    rig.server.send({ cmd: "pubcomp", messageId: id });
    rig.clock.advance(50);
    expect(rig.client.inflight.used).toBe(1);
    expect(rig.client.stats.unknownAcks).toBe(2);
    expect(rig.handler.errors).toEqual([]);
    expect(rig.client.online).toBe(true);
  });

  it("stop() keeps queued QoS 1 messages; start() delivers them", () => {
    const rig = online();
    rig.client.stop();
    rig.clock.advance(100);
    expect(rig.server.of("disconnect")).toHaveLength(1);
    expect(rig.handler.events).toEqual(["online", "offline:stopped"]);
    expect(rig.client.publish(TOPIC, bytes("later"), 0, 5, 1)).toBe("queued");
    rig.clock.advance(600_000);
    expect(rig.server.connects).toBe(1); // stopped means stopped
    rig.client.start();
    expect(rig.clock.runUntilTrue(() => rig.handler.acked.length === 1, 10_000)).toBe(true);
  });
});

describe("MqttClient inbound PUBLISH", () => {
  const IN = "$sys/p/d/thing/property/set";

  it("QoS 0 is delivered with topic and payload views", () => {
    const rig = online();
    rig.server.send({ cmd: "publish", topic: IN, payload: Buffer.from('{"id":"1","params":{"led":true}}'), qos: 0 });
    rig.clock.advance(10);
    expect(rig.handler.messages).toEqual([{ topic: IN, payload: '{"id":"1","params":{"led":true}}', qos: 0, dup: false, packetId: 0 }]);
    expect(rig.server.of("puback")).toHaveLength(0);
  });

  it("QoS 1 is delivered and acknowledged with its id", () => {
    const rig = online();
    rig.server.send({ cmd: "publish", topic: IN, payload: Buffer.from("x"), qos: 1, messageId: 321 });
    rig.clock.advance(10);
    expect(rig.handler.messages).toHaveLength(1);
    expect(rig.server.of("puback").map((r) => (r.packet as any).messageId)).toEqual([321]);
  });

  it("QoS 2 is delivered once however often it is resent before PUBREL", () => {
    const rig = online();
    rig.server.send({ cmd: "publish", topic: IN, payload: Buffer.from("once"), qos: 2, messageId: 9 });
    rig.server.send({ cmd: "publish", topic: IN, payload: Buffer.from("once"), qos: 2, messageId: 9, dup: true });
    rig.server.send({ cmd: "publish", topic: IN, payload: Buffer.from("once"), qos: 2, messageId: 9, dup: true });
    rig.clock.advance(10);
    expect(rig.handler.messages).toHaveLength(1);
    expect(rig.server.of("pubrec").map((r) => (r.packet as any).messageId)).toEqual([9, 9, 9]);
    expect(rig.client.stats.duplicates).toBe(2);
    rig.server.send({ cmd: "pubrel", messageId: 9 });
    rig.clock.advance(10);
    expect(rig.server.of("pubcomp").map((r) => (r.packet as any).messageId)).toEqual([9]);
    // After PUBREL the id is free: a new message with it is a new message.
    rig.server.send({ cmd: "publish", topic: IN, payload: Buffer.from("again"), qos: 2, messageId: 9 });
    rig.clock.advance(10);
    expect(rig.handler.messages.map((m) => m.payload)).toEqual(["once", "again"]);
  });

  it("QoS 2 beyond the tracking capacity is not acknowledged (the server resends later)", () => {
    const rig = online({ maxInboundQos2: 2 });
    for (const id of [1, 2, 3]) rig.server.send({ cmd: "publish", topic: IN, payload: Buffer.from(`${id}`), qos: 2, messageId: id });
    rig.clock.advance(10);
    expect(rig.handler.messages.map((m) => m.payload)).toEqual(["1", "2"]);
    expect(rig.handler.errorCodes()).toEqual(["inbound-qos2-full"]);
    rig.server.send({ cmd: "pubrel", messageId: 1 });
    rig.server.send({ cmd: "publish", topic: IN, payload: Buffer.from("3"), qos: 2, messageId: 3, dup: true });
    rig.clock.advance(10);
    expect(rig.handler.messages.map((m) => m.payload)).toEqual(["1", "2", "3"]);
  });

  it("a handler that publishes from inside onMessage works and the ack still goes out", () => {
    const rig = online();
    rig.handler.onMessage = function (p, buffer) {
      this.messages.push({ topic: "", payload: "", qos: p.qos, dup: p.dup, packetId: p.packetId });
      expect(rig.client.publish({ bytes: buffer, offset: p.topicOffset, length: p.topicLength }, buffer, p.payloadOffset, p.payloadLength, 0)).toBe("sent");
    };
    rig.server.send({ cmd: "publish", topic: IN, payload: Buffer.from("echo"), qos: 1, messageId: 5 });
    rig.clock.advance(10);
    const echoed = rig.server.of("publish")[0].packet as any;
    expect(echoed.topic).toBe(IN);
    expect(echoed.payload.toString()).toBe("echo");
    expect(rig.server.of("puback")).toHaveLength(1);
  });

  it("a handler that throws is reported and the session goes on", () => {
    const rig = online();
    rig.handler.onMessage = () => {
      throw new Error("app bug");
    };
    rig.server.send({ cmd: "publish", topic: IN, payload: Buffer.from("x"), qos: 1, messageId: 5 });
    rig.clock.advance(10);
    expect(rig.handler.errorCodes()).toEqual(["handler-failed"]);
    expect(rig.server.of("puback")).toHaveLength(1);
    expect(rig.client.online).toBe(true);
    expect(rig.clock.errors).toEqual([]);
  });
});
