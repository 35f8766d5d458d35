/*
 * Randomised soak: hours of virtual time with link drops of every kind, refusals, withheld pings
 * and acks, duplicate inbound QoS 2, and the application publishing throughout. The invariants
 * hold whatever the schedule.
 */
import { describe, expect, it } from "vitest";
import type { LinkDownReason } from "../../firmware/transport.js";
import { bytes, makeRig, seededRandom } from "./harness.js";

const REASONS: LinkDownReason[] = ["closed-by-peer", "wifi-lost", "module-reset", "module-unresponsive", "send-failed"];

function soak(seed: number) {
  const rig = makeRig({ keepaliveS: 30, maxInflight: 4, retransmitMs: 8000, backoff: { initialMs: 500, maxMs: 20_000 } }, seed);
  const { clock, client, server, transport, handler } = rig;
  const random = seededRandom(seed * 7919 + 1);
  const accepted = new Map<number, string>(); // QoS 1 packet id -> payload, until acked
  const acceptedOrder: string[] = [];
  let inboundId = 1;
  handler.onPublishAcked = function (id) {
    this.acked.push(id);
    accepted.delete(id);
  };
  server.connackCode = () => (random() < 0.1 ? 3 : 0);
  client.start();
  let n = 0;
  const end = 4 * 3_600_000;
  while (clock.now() < end) {
    clock.advance(Math.floor(random() * 20_000));
    const r = random();
    if (r < 0.05) transport.drop(REASONS[Math.floor(random() * REASONS.length)]);
    else if (r < 0.08) server.answerPing = !server.answerPing;
    else if (r < 0.12) server.answerPublish = !server.answerPublish;
    else if (r < 0.5) {
      const payload = `m${n++}`;
      const result = client.publish("up/x", bytes(payload), 0, payload.length, 1);
      if (result === "sent" || result === "queued") {
        accepted.set(client.lastPacketId, payload);
        acceptedOrder.push(payload);
      } else expect(result).toBe("inflight-full");
    } else if (r < 0.7 && client.online) {
      const id = inboundId++;
      const copies = 1 + Math.floor(random() * 3);
      for (let i = 0; i < copies; i++) server.send({ cmd: "publish", topic: "down/y", payload: Buffer.from(`in${id}`), qos: 2, messageId: id, dup: i > 0 });
      server.send({ cmd: "pubrel", messageId: id });
    }
  }
  // Faults stop: everything accepted must get through.
  server.answerPing = true;
  server.answerPublish = true;
  server.connackCode = 0;
  expect(clock.runUntilTrue(() => accepted.size === 0 && client.online, 600_000)).toBe(true);

  // Login cap.
  const connects = server.of("connect").map((x) => x.at);
  for (let i = 3; i < connects.length; i++) expect(connects[i] - connects[i - 3]).toBeGreaterThan(5000);
  // onOnline / onOffline alternate.
  handler.events.forEach((e, i) => expect(e.startsWith("online")).toBe(i % 2 === 0));
  // Every accepted message reached the server (at least once), with a non-zero id.
  const seen = new Set(server.of("publish").map((x) => (x.packet as any).payload.toString()));
  for (const payload of acceptedOrder) expect(seen.has(payload)).toBe(true);
  for (const x of server.of("publish")) expect((x.packet as any).messageId).toBeGreaterThan(0);
  // Inbound QoS 2: each message (all its copies go out on one link) delivered exactly once.
  const delivered = handler.messages.map((m) => m.payload);
  expect(new Set(delivered).size).toBe(delivered.length);
  // No bug surfaced, nothing escaped into the event loop.
  expect(handler.errorCodes()).not.toContain("internal-error");
  expect(clock.errors).toEqual([]);
  expect(transport.ignoredOpens).toBe(0);
  return { connects: connects.length, acked: handler.acked.length, delivered: delivered.length };
}

describe("MqttClient soak", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}: 4 hours of random faults keep every invariant`, () => {
      const result = soak(seed);
      expect(result.connects).toBeGreaterThan(5);
      expect(result.acked).toBeGreaterThan(50);
      expect(result.delivered).toBeGreaterThan(50);
    });
  }
});
