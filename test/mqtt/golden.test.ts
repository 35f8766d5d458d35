/*
 * Byte-exact golden tests, both directions: every packet in the seed's vectors (the OneNET tutorial)
 * and Eclipse Paho Embedded C's, plus the seed's remaining-length table.
 */
import { describe, expect, it } from "vitest";
import paho from "../fixtures/paho-vectors.json" with { type: "json" };
import seed from "../fixtures/seed-vectors.json" with { type: "json" };
import {
  MAX_REMAINING_LENGTH,
  MqttDecoder,
  encodeConnack,
  encodeConnect,
  encodeDisconnect,
  encodePingreq,
  encodePingresp,
  encodePuback,
  encodePublish,
  encodePubrel,
  encodeSuback,
  encodeSubscribe,
  encodeUnsuback,
  encodeUnsubscribe,
  newConnectFields,
  newPublishFields,
  newSubscribeFields,
  newUnsubscribeFields,
  remainingLengthSize,
  writeRemainingLength,
} from "../../host-sim/mqtt/index.js";
import { decodeAll, fromHex, toHex } from "./helpers.js";

const buf = new Uint8Array(1024);
const enc = (n: number, at = 0) => toHex(buf.subarray(at, at + n));
const utf8 = (s: string) => Array.from(new TextEncoder().encode(s));

describe("seed vectors (OneNET tutorial)", () => {
  const p = seed.packets;
  const token = seed.onenet.token;

  it("CONNECT: encodes the seed's bytes exactly and decodes them back", () => {
    const f = newConnectFields();
    f.clientId = p.connect.fields.client_id;
    f.username = p.connect.fields.username;
    f.password = token;
    f.keepalive = p.connect.fields.keepalive;
    f.cleanSession = p.connect.fields.clean_session;
    // at a non-zero offset, to show offset handling
    const n = encodeConnect(buf, 7, f);
    expect(enc(n, 7)).toBe(p.connect.hex);
    expect(buf[7 + 10]).toBe(0xc2); // the seed's connect flags
    expect(decodeAll(fromHex(p.connect.hex), "server")).toEqual([
      {
        packet: {
          type: "CONNECT",
          clientId: "test1",
          keepalive: 100,
          cleanSession: true,
          username: "L14FCC38pq",
          password: utf8(token),
          will: null,
        },
      },
    ]);
  });

  it("CONNECT with the password as bytes gives the same packet", () => {
    const f = newConnectFields();
    f.clientId = "test1";
    f.username = "L14FCC38pq";
    f.password = new TextEncoder().encode(token);
    f.keepalive = 100;
    expect(enc(encodeConnect(buf, 0, f))).toBe(p.connect.hex);
  });

  it("CONNACK accepted and refused (return code 4 is a valid packet, not an error)", () => {
    expect(enc(encodeConnack(buf, 0, false, 0))).toBe(p.connack_accepted.hex);
    expect(enc(encodeConnack(buf, 0, false, 4))).toBe(p.connack_bad_credentials_format.hex);
    expect(decodeAll(fromHex(p.connack_accepted.hex))).toEqual([{ packet: { type: "CONNACK", sessionPresent: false, returnCode: 0 } }]);
    expect(decodeAll(fromHex(p.connack_bad_credentials_format.hex))).toEqual([
      { packet: { type: "CONNACK", sessionPresent: false, returnCode: 4 } },
    ]);
  });

  it("SUBSCRIBE / SUBACK", () => {
    const f = newSubscribeFields(1);
    f.packetId = p.subscribe.fields.packet_id;
    f.count = 1;
    f.topics[0] = p.subscribe.fields.topic;
    f.qos[0] = p.subscribe.fields.qos;
    expect(enc(encodeSubscribe(buf, 0, f))).toBe(p.subscribe.hex);
    expect(decodeAll(fromHex(p.subscribe.hex), "server")).toEqual([
      { packet: { type: "SUBSCRIBE", packetId: 10, topics: [[p.subscribe.fields.topic, 0]], count: 1 } },
    ]);
    expect(enc(encodeSuback(buf, 0, 10, [0], 1))).toBe(p.suback.hex);
    expect(decodeAll(fromHex(p.suback.hex))).toEqual([{ packet: { type: "SUBACK", packetId: 10, codes: [0] } }]);
  });

  it("UNSUBSCRIBE / UNSUBACK", () => {
    const f = newUnsubscribeFields(1);
    f.packetId = p.unsubscribe.fields.packet_id;
    f.count = 1;
    f.topics[0] = p.unsubscribe.fields.topic;
    expect(enc(encodeUnsubscribe(buf, 0, f))).toBe(p.unsubscribe.hex);
    expect(decodeAll(fromHex(p.unsubscribe.hex), "server")).toEqual([
      { packet: { type: "UNSUBSCRIBE", packetId: 11, topics: [p.unsubscribe.fields.topic], count: 1 } },
    ]);
    expect(enc(encodeUnsuback(buf, 0, 11))).toBe(p.unsuback.hex);
    expect(decodeAll(fromHex(p.unsuback.hex))).toEqual([{ packet: { type: "UNSUBACK", packetId: 11 } }]);
  });

  it("PUBLISH QoS 0, topic and payload as strings or as bytes", () => {
    const fields = p.publish_qos0.fields;
    const f = newPublishFields();
    f.topic = fields.topic;
    f.payload = fields.payload;
    expect(enc(encodePublish(buf, 0, f))).toBe(p.publish_qos0.hex);
    const topicBytes = new Uint8Array([9, 9, ...utf8(fields.topic), 9]);
    const payloadBytes = new Uint8Array([1, ...utf8(fields.payload), 2, 3]);
    f.topic = topicBytes;
    f.topicOffset = 2;
    f.topicLength = topicBytes.length - 3;
    f.payload = payloadBytes;
    f.payloadOffset = 1;
    f.payloadLength = payloadBytes.length - 3;
    expect(enc(encodePublish(buf, 0, f))).toBe(p.publish_qos0.hex);
    expect(decodeAll(fromHex(p.publish_qos0.hex))).toEqual([
      { packet: { type: "PUBLISH", qos: 0, dup: false, retain: false, topic: fields.topic, payload: utf8(fields.payload) } },
    ]);
  });

  it("PINGREQ / PINGRESP", () => {
    expect(enc(encodePingreq(buf, 0))).toBe(p.pingreq.hex);
    expect(enc(encodePingresp(buf, 0))).toBe(p.pingresp.hex);
    expect(decodeAll(fromHex(p.pingresp.hex))).toEqual([{ packet: { type: "PINGRESP" } }]);
    expect(decodeAll(fromHex(p.pingreq.hex), "server")).toEqual([{ packet: { type: "PINGREQ" } }]);
  });

  it("all seed packets in one chunk decode in order (role any)", () => {
    const all = Object.values(p).map((v) => v.hex).join(" ");
    const events = decodeAll(fromHex(all), "any");
    expect(events.map((e) => ("packet" in e ? e.packet.type : e.error))).toEqual([
      "CONNECT", "CONNACK", "CONNACK", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PUBLISH", "PINGREQ", "PINGRESP",
    ]);
  });
});

describe("Paho Embedded C vectors", () => {
  const p = paho.packets;

  it("CONNECT with a will, user name and password", () => {
    const v = p.connect.fields;
    const f = newConnectFields();
    f.clientId = v.client_id;
    f.keepalive = v.keepalive;
    f.cleanSession = v.clean_session;
    f.username = v.username;
    f.password = v.password;
    f.willTopic = v.will.topic;
    f.willMessage = v.will.message;
    f.willQos = v.will.qos;
    f.willRetain = v.will.retain;
    expect(toHex(buf.subarray(0, encodeConnect(buf, 0, f)), false).toLowerCase()).toBe(p.connect.hex);
    expect(decodeAll(fromHex(p.connect.hex), "server")).toEqual([
      {
        packet: {
          type: "CONNECT",
          clientId: "me",
          keepalive: 20,
          cleanSession: true,
          username: "testuser",
          password: utf8("testpassword"),
          will: { topic: "will topic", message: utf8("will message"), qos: 1, retain: false },
        },
      },
    ]);
  });

  it("PUBLISH QoS 2", () => {
    const v = p.publish_qos2.fields;
    const f = newPublishFields();
    f.topic = v.topic;
    f.payload = v.payload;
    f.qos = v.qos;
    f.packetId = v.packet_id;
    expect(toHex(buf.subarray(0, encodePublish(buf, 0, f)), false).toLowerCase()).toBe(p.publish_qos2.hex);
    expect(decodeAll(fromHex(p.publish_qos2.hex))).toEqual([
      { packet: { type: "PUBLISH", qos: 2, dup: false, retain: false, topic: "mytopic", packetId: 23, payload: utf8(v.payload) } },
    ]);
  });

  it("SUBSCRIBE with two filters, SUBACK with two codes", () => {
    const v = p.subscribe.fields;
    const f = newSubscribeFields(2);
    f.packetId = v.packet_id;
    f.count = 2;
    for (let i = 0; i < 2; i++) {
      f.topics[i] = v.topics[i][0] as string;
      f.qos[i] = v.topics[i][1] as number;
    }
    expect(toHex(buf.subarray(0, encodeSubscribe(buf, 0, f)), false).toLowerCase()).toBe(p.subscribe.hex);
    expect(decodeAll(fromHex(p.subscribe.hex), "server")).toEqual([
      { packet: { type: "SUBSCRIBE", packetId: 23, topics: v.topics, count: 2 } },
    ]);
    expect(toHex(buf.subarray(0, encodeSuback(buf, 0, 23, p.suback.fields.granted, 2)), false).toLowerCase()).toBe(p.suback.hex);
    expect(decodeAll(fromHex(p.suback.hex))).toEqual([{ packet: { type: "SUBACK", packetId: 23, codes: [2, 1] } }]);
  });

  it("UNSUBSCRIBE with two filters", () => {
    const v = p.unsubscribe.fields;
    const f = newUnsubscribeFields(2);
    f.packetId = v.packet_id;
    f.count = 2;
    f.topics[0] = v.topics[0];
    f.topics[1] = v.topics[1];
    expect(toHex(buf.subarray(0, encodeUnsubscribe(buf, 0, f)), false).toLowerCase()).toBe(p.unsubscribe.hex);
    expect(decodeAll(fromHex(p.unsubscribe.hex), "server")).toEqual([
      { packet: { type: "UNSUBSCRIBE", packetId: 23, topics: v.topics, count: 2 } },
    ]);
  });

  it("PUBACK, PUBREL, PINGREQ, DISCONNECT", () => {
    expect(toHex(buf.subarray(0, encodePuback(buf, 0, 23)), false).toLowerCase()).toBe(p.puback.hex);
    expect(toHex(buf.subarray(0, encodePubrel(buf, 0, 23)), false).toLowerCase()).toBe(p.pubrel.hex);
    expect(toHex(buf.subarray(0, encodePingreq(buf, 0)), false).toLowerCase()).toBe(p.pingreq.hex);
    expect(toHex(buf.subarray(0, encodeDisconnect(buf, 0)), false).toLowerCase()).toBe(p.disconnect.hex);
    expect(decodeAll(fromHex(p.puback.hex))).toEqual([{ packet: { type: "PUBACK", packetId: 23 } }]);
    expect(decodeAll(fromHex(p.pubrel.hex))).toEqual([{ packet: { type: "PUBREL", packetId: 23 } }]);
    expect(decodeAll(fromHex(p.disconnect.hex), "server")).toEqual([{ packet: { type: "DISCONNECT" } }]);
  });
});

describe("remaining length (the seed's table)", () => {
  for (const [value, hex] of seed.remaining_length as [number, string][]) {
    it(`${value} <-> ${hex}`, () => {
      const out = new Uint8Array(4);
      const end = writeRemainingLength(out, 0, value);
      expect(toHex(out.subarray(0, end))).toBe(hex);
      expect(remainingLengthSize(value)).toBe(end);
      // The decoder reads the same bytes back: a PINGRESP header claiming that length. With an
      // 8-byte buffer every non-zero length in the table is too large, so the decoder reports it
      // (with the length it read) as soon as the header is complete, before any body byte.
      const decoder = new MqttDecoder({ bufferSize: 8 });
      const header = fromHex(`D0 ${hex}`);
      const seen: unknown[] = [];
      decoder.feed(header, 0, header.length, {
        onPacket: (p) => seen.push(["packet", p.remainingLength]),
        onError: (code, fatal) => seen.push([code, fatal, decoder.packet.remainingLength]),
      });
      expect(seen).toEqual(value === 0 ? [["packet", 0]] : [["packet-too-large", false, value]]);
    });
  }
  it("the maximum is 268,435,455", () => {
    expect(MAX_REMAINING_LENGTH).toBe(268_435_455);
  });
});
