/*
 * Differential tests against mqtt-packet, a codec nobody here wrote. fast-check generates valid
 * packets of every type (multi-byte UTF-8 topics, payloads from 0 bytes to what the buffer holds,
 * remaining lengths at the 127/128 and 16383/16384 boundaries). For each:
 * - our encoder's bytes parse in mqtt-packet to the same fields, and equal mqtt-packet's own bytes;
 * - mqtt-packet's bytes decode in ours to the same fields;
 * - a stream of several packets cut at random points decodes to the same packets as the peer sees.
 */
import fc from "fast-check";
import type mqtt from "mqtt-packet";
import { describe, expect, it } from "vitest";
import {
  encodeConnack,
  encodeConnect,
  encodeDisconnect,
  encodePingreq,
  encodePingresp,
  encodePuback,
  encodePubcomp,
  encodePublish,
  encodePubrec,
  encodePubrel,
  encodeSuback,
  encodeSubscribe,
  encodeUnsuback,
  encodeUnsubscribe,
  newConnectFields,
  newPublishFields,
  newSubscribeFields,
  newUnsubscribeFields,
} from "../../host-sim/mqtt/index.js";
import { decodeAll, decodeChunked } from "./helpers.js";
import { peerGenerate, peerParse } from "./peer.js";

type Model = Record<string, unknown> & { type: string };

const utf8Len = (s: string) => new TextEncoder().encode(s).length;

// Topic text: mostly ASCII and "/", with 2-, 3- and 4-byte UTF-8 characters mixed in.
const topicChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("a", "b", "z", "0", "/", "$", "-", "_", " ") },
  { weight: 2, arbitrary: fc.constantFrom("é", "ß", "Ж", "灯", "亮", "€", "💡", "🚀", "\u{10FFFF}") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }) },
);
const cleanChar = topicChar.filter((c) => c !== "+" && c !== "#" && c !== "\u0000");
const topicName = fc.string({ unit: cleanChar, minLength: 1, maxLength: 40 });
const text = fc.string({ unit: cleanChar, maxLength: 30 });
// Filters: levels of text, "+" or "#" (last only).
const topicFilter = fc
  .tuple(fc.array(fc.oneof(fc.string({ unit: cleanChar.filter((c) => c !== "/"), maxLength: 8 }), fc.constant("+")), { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, "#"] : levels).join("/"))
  .filter((f) => f.length > 0);
const packetId = fc.integer({ min: 1, max: 65535 });
const qos = fc.constantFrom(0, 1, 2);
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Array.from(b));

const BUFFER = 20_000; // room for the 16384 boundary

// Remaining lengths around the 1- / 2- / 3-byte boundaries, or anything up to what a 1024 buffer holds.
const publish = fc
  .record({
    topic: topicName,
    qos,
    retain: fc.boolean(),
    dupIfQos: fc.boolean(),
    packetId,
    target: fc.oneof(fc.constantFrom(126, 127, 128, 129, 16_382, 16_383, 16_384, 16_385), fc.integer({ min: 0, max: 1020 })),
    seed: fc.integer({ min: 0, max: 255 }),
  })
  .map(({ topic, qos, retain, dupIfQos, packetId, target, seed }): Model => {
    const fixed = 2 + utf8Len(topic) + (qos ? 2 : 0);
    const n = Math.max(0, target - fixed);
    const payload = Array.from({ length: n }, (_, i) => (seed + i * 7) & 255);
    return { type: "PUBLISH", qos, dup: qos > 0 && dupIfQos, retain, topic, payload, ...(qos ? { packetId } : {}) };
  });

const connect = fc
  .record({
    clientId: text,
    keepalive: fc.integer({ min: 0, max: 65535 }),
    cleanSession: fc.boolean(),
    username: fc.option(text),
    password: fc.option(bytes(40)),
    will: fc.option(fc.record({ topic: topicName, message: bytes(300), qos, retain: fc.boolean() })),
  })
  .map((c): Model => ({
    type: "CONNECT",
    clientId: c.clientId,
    keepalive: c.keepalive,
    cleanSession: c.clientId === "" ? true : c.cleanSession,
    username: c.username === null && c.password !== null ? "u" : c.username,
    password: c.password,
    will: c.will,
  }));

const ack = fc.record({ type: fc.constantFrom("PUBACK", "PUBREC", "PUBREL", "PUBCOMP", "UNSUBACK"), packetId });
const subscribe = fc
  .record({ packetId, topics: fc.array(fc.tuple(topicFilter, qos), { minLength: 1, maxLength: 6 }) })
  .map((s): Model => ({ type: "SUBSCRIBE", packetId: s.packetId, topics: s.topics, count: s.topics.length }));
const unsubscribe = fc
  .record({ packetId, topics: fc.array(topicFilter, { minLength: 1, maxLength: 6 }) })
  .map((s): Model => ({ type: "UNSUBSCRIBE", packetId: s.packetId, topics: s.topics, count: s.topics.length }));
const connack = fc
  .record({ sessionPresent: fc.boolean(), returnCode: fc.integer({ min: 0, max: 5 }) })
  .map((c): Model => ({ type: "CONNACK", sessionPresent: c.returnCode === 0 && c.sessionPresent, returnCode: c.returnCode }));
const suback = fc
  .record({ packetId, codes: fc.array(fc.constantFrom(0, 1, 2, 0x80), { minLength: 1, maxLength: 8 }) })
  .map((s): Model => ({ type: "SUBACK", ...s }));
const empty = (type: string) => fc.constant<Model>({ type });

/** Packets a client sends (our encoders, server-role decoding) and a server sends (client-role decoding). */
const clientPacket = fc.oneof(publish, connect, ack.filter((a) => a.type !== "UNSUBACK"), subscribe, unsubscribe, empty("PINGREQ"), empty("DISCONNECT"));
const serverPacket = fc.oneof(publish, connack, ack, suback, empty("PINGRESP"));

const buf = new Uint8Array(BUFFER);
const pub = newPublishFields();
const con = newConnectFields();
const sub = newSubscribeFields(8);
const unsub = newUnsubscribeFields(8);

function encodeOurs(m: Model): Uint8Array {
  let n: number;
  switch (m.type) {
    case "PUBLISH":
      pub.topic = m.topic as string;
      pub.payload = Uint8Array.from(m.payload as number[]);
      pub.payloadOffset = 0;
      pub.payloadLength = (m.payload as number[]).length;
      pub.qos = m.qos as number;
      pub.dup = m.dup as boolean;
      pub.retain = m.retain as boolean;
      pub.packetId = (m.packetId as number) ?? 0;
      n = encodePublish(buf, 0, pub);
      break;
    case "CONNECT": {
      const will = m.will as { topic: string; message: number[]; qos: number; retain: boolean } | null;
      con.clientId = m.clientId as string;
      con.keepalive = m.keepalive as number;
      con.cleanSession = m.cleanSession as boolean;
      con.username = m.username as string | null;
      con.password = m.password === null ? null : Uint8Array.from(m.password as number[]);
      con.willTopic = will?.topic ?? null;
      con.willMessage = will ? Uint8Array.from(will.message) : null;
      con.willQos = will?.qos ?? 0;
      con.willRetain = will?.retain ?? false;
      n = encodeConnect(buf, 0, con);
      break;
    }
    case "PUBACK":
      n = encodePuback(buf, 0, m.packetId as number);
      break;
    case "PUBREC":
      n = encodePubrec(buf, 0, m.packetId as number);
      break;
    case "PUBREL":
      n = encodePubrel(buf, 0, m.packetId as number);
      break;
    case "PUBCOMP":
      n = encodePubcomp(buf, 0, m.packetId as number);
      break;
    case "UNSUBACK":
      n = encodeUnsuback(buf, 0, m.packetId as number);
      break;
    case "SUBSCRIBE": {
      const topics = m.topics as [string, number][];
      sub.packetId = m.packetId as number;
      sub.count = topics.length;
      topics.forEach(([t, q], i) => ((sub.topics[i] = t), (sub.qos[i] = q)));
      n = encodeSubscribe(buf, 0, sub);
      break;
    }
    case "UNSUBSCRIBE": {
      const topics = m.topics as string[];
      unsub.packetId = m.packetId as number;
      unsub.count = topics.length;
      topics.forEach((t, i) => (unsub.topics[i] = t));
      n = encodeUnsubscribe(buf, 0, unsub);
      break;
    }
    case "CONNACK":
      n = encodeConnack(buf, 0, m.sessionPresent as boolean, m.returnCode as number);
      break;
    case "SUBACK":
      n = encodeSuback(buf, 0, m.packetId as number, m.codes as number[], (m.codes as number[]).length);
      break;
    case "PINGREQ":
      n = encodePingreq(buf, 0);
      break;
    case "PINGRESP":
      n = encodePingresp(buf, 0);
      break;
    case "DISCONNECT":
      n = encodeDisconnect(buf, 0);
      break;
    default:
      throw new Error(`no encoder for ${m.type}`);
  }
  return buf.slice(0, n);
}

function toPeer(m: Model): mqtt.Packet {
  const cmd = m.type.toLowerCase();
  switch (m.type) {
    case "PUBLISH":
      return { cmd: "publish", topic: m.topic as string, payload: Buffer.from(m.payload as number[]), qos: m.qos as 0, dup: m.dup as boolean, retain: m.retain as boolean, ...(m.packetId ? { messageId: m.packetId as number } : {}) };
    case "CONNECT": {
      const will = m.will as { topic: string; message: number[]; qos: 0; retain: boolean } | null;
      return {
        cmd: "connect",
        protocolId: "MQTT",
        protocolVersion: 4,
        clientId: m.clientId as string,
        keepalive: m.keepalive as number,
        clean: m.cleanSession as boolean,
        ...(m.username !== null ? { username: m.username as string } : {}),
        ...(m.password !== null ? { password: Buffer.from(m.password as number[]) } : {}),
        ...(will ? { will: { topic: will.topic, payload: Buffer.from(will.message), qos: will.qos, retain: will.retain } } : {}),
      };
    }
    case "SUBSCRIBE":
      return { cmd: "subscribe", messageId: m.packetId as number, subscriptions: (m.topics as [string, 0][]).map(([topic, qos]) => ({ topic, qos })) };
    case "UNSUBSCRIBE":
      return { cmd: "unsubscribe", messageId: m.packetId as number, unsubscriptions: m.topics as string[] };
    case "CONNACK":
      return { cmd: "connack", sessionPresent: m.sessionPresent as boolean, returnCode: m.returnCode as number };
    case "SUBACK":
      return { cmd: "suback", messageId: m.packetId as number, granted: m.codes as number[] };
    default:
      return (m.packetId !== undefined ? { cmd, messageId: m.packetId } : { cmd }) as mqtt.Packet;
  }
}

/** mqtt-packet's parse result in our model's shape. */
function fromPeer(p: mqtt.Packet): Model {
  const a = p as unknown as Record<string, never>;
  const type = p.cmd.toUpperCase();
  const arr = (b: Buffer | string | undefined) => (b === undefined ? null : Array.from(typeof b === "string" ? Buffer.from(b) : b));
  switch (type) {
    case "PUBLISH":
      return { type, qos: a.qos, dup: a.dup, retain: a.retain, topic: a.topic, payload: arr(a.payload)!, ...(a.qos ? { packetId: a.messageId } : {}) };
    case "CONNECT": {
      const will = a.will as { topic: string; payload: Buffer; qos: number; retain: boolean } | undefined;
      return {
        type,
        clientId: a.clientId,
        keepalive: a.keepalive,
        cleanSession: a.clean,
        username: a.username ?? null,
        password: arr(a.password),
        will: will ? { topic: will.topic, message: Array.from(will.payload), qos: will.qos, retain: will.retain } : null,
      };
    }
    case "SUBSCRIBE": {
      const subs = a.subscriptions as { topic: string; qos: number }[];
      return { type, packetId: a.messageId, topics: subs.map((s) => [s.topic, s.qos]), count: subs.length };
    }
    case "UNSUBSCRIBE": {
      const topics = a.unsubscriptions as string[];
      return { type, packetId: a.messageId, topics, count: topics.length };
    }
    case "CONNACK":
      return { type, sessionPresent: a.sessionPresent, returnCode: a.returnCode };
    case "SUBACK":
      return { type, packetId: a.messageId, codes: a.granted };
    case "PINGREQ":
    case "PINGRESP":
    case "DISCONNECT":
      return { type };
    default:
      return { type, packetId: a.messageId };
  }
}

function roundTrip(m: Model, role: "client" | "server") {
  const ours = encodeOurs(m);
  // our bytes -> mqtt-packet
  const parsed = peerParse(ours);
  expect(parsed.errors).toEqual([]);
  expect(parsed.packets.map(fromPeer)).toEqual([m]);
  // mqtt-packet's bytes: identical to ours, and they decode in ours to the same fields
  const theirs = peerGenerate(toPeer(m));
  expect(Buffer.from(theirs).equals(Buffer.from(ours))).toBe(true);
  expect(decodeAll(theirs, role, BUFFER)).toEqual([{ packet: m }]);
}

describe("differential vs mqtt-packet", () => {
  it("client packets: our encoder == mqtt-packet's generate; each parses the other's bytes to the same fields", () => {
    fc.assert(fc.property(clientPacket, (m) => roundTrip(m, "server")), { numRuns: 1500 });
  });

  it("server packets: mqtt-packet's bytes decode in our client-role decoder to the same fields", () => {
    fc.assert(fc.property(serverPacket, (m) => roundTrip(m, "client")), { numRuns: 1500 });
  });

  it("payloads up to exactly what a 1024-byte buffer holds", () => {
    fc.assert(
      fc.property(topicName, qos, fc.integer({ min: 0, max: 40 }), (topic, q, slack) => {
        const fixed = 2 + utf8Len(topic) + (q ? 2 : 0);
        const header = 3; // first byte + 2 remaining-length bytes (the length is above 127)
        const n = Math.max(0, 1024 - header - fixed - slack);
        const m: Model = { type: "PUBLISH", qos: q, dup: false, retain: false, topic, payload: Array(n).fill(0x5a), ...(q ? { packetId: 9 } : {}) };
        const theirs = peerGenerate(toPeer(m));
        expect(theirs.length).toBeLessThanOrEqual(1024);
        expect(decodeAll(theirs, "client", 1024)).toEqual([{ packet: m }]);
      }),
      { numRuns: 300 },
    );
  });

  it("a stream of packets cut at random points decodes to the packets mqtt-packet sees", () => {
    fc.assert(
      fc.property(
        fc.array(serverPacket, { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 10 }),
        (models, cuts) => {
          const parts = models.map((m) => peerGenerate(toPeer(m)));
          const stream = Buffer.concat(parts);
          const events = decodeChunked(new Uint8Array(stream), cuts, "client", BUFFER);
          expect(events).toEqual(models.map((m) => ({ packet: m })));
          expect(peerParse(new Uint8Array(stream)).packets.map(fromPeer)).toEqual(models);
        },
      ),
      { numRuns: 300 },
    );
  });
});
