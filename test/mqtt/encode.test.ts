/*
 * Encoder refusals (rule 10 and the rest of EncodeErrorCode): each throws MqttError with its code
 * BEFORE writing, so the destination buffer is untouched; and encoders allocate nothing per call.
 */
import { describe, expect, it } from "vitest";
import {
  MqttError,
  encodeConnack,
  encodeConnect,
  encodeDisconnect,
  encodePingreq,
  encodePuback,
  encodePubcomp,
  encodePublish,
  encodePubrec,
  encodePubrel,
  encodeSuback,
  encodeSubscribe,
  encodeUnsubscribe,
  newConnectFields,
  newPublishFields,
  newSubscribeFields,
  newUnsubscribeFields,
} from "../../host-sim/mqtt/index.js";
import type { EncodeErrorCode } from "../../host-sim/mqtt/index.js";
import { decodeAll } from "./helpers.js";

/** Runs `encode` on a buffer filled with 0xEE; expects MqttError `code` and the buffer unchanged. */
function refuses(code: EncodeErrorCode, encode: (buf: Uint8Array) => number, size = 64) {
  const buf = new Uint8Array(size).fill(0xee);
  let thrown: unknown;
  try {
    encode(buf);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(MqttError);
  expect((thrown as MqttError).code).toBe(code);
  expect((thrown as MqttError).message).toContain(code);
  expect(buf.every((b) => b === 0xee)).toBe(true);
}

function publish(edit: (f: ReturnType<typeof newPublishFields>) => void) {
  const f = newPublishFields();
  f.topic = "t";
  f.payload = "p";
  edit(f);
  return (buf: Uint8Array) => encodePublish(buf, 0, f);
}

function connect(edit: (f: ReturnType<typeof newConnectFields>) => void) {
  const f = newConnectFields();
  f.clientId = "c";
  edit(f);
  return (buf: Uint8Array) => encodeConnect(buf, 0, f);
}

describe("PUBLISH refusals", () => {
  it("QoS 1/2 without a packet id", () => {
    refuses("qos-needs-packet-id", publish((f) => (f.qos = 1)));
    refuses("qos-needs-packet-id", publish((f) => (f.qos = 2)));
  });
  it("packet id out of range", () => {
    refuses("bad-packet-id", publish((f) => ((f.qos = 1), (f.packetId = 65536))));
    refuses("bad-packet-id", publish((f) => ((f.qos = 1), (f.packetId = 1.5))));
    refuses("bad-packet-id", publish((f) => ((f.qos = 1), (f.packetId = -1))));
  });
  it("QoS 3", () => refuses("bad-qos", publish((f) => (f.qos = 3))));
  it("DUP on QoS 0", () => refuses("dup-on-qos0", publish((f) => (f.dup = true))));
  it.each(["a/+", "#", "a/#", "+"])("wildcard in the topic name %s", (topic) => refuses("topic-has-wildcard", publish((f) => (f.topic = topic))));
  it("wildcard in a byte topic", () =>
    refuses("topic-has-wildcard", publish((f) => ((f.topic = new Uint8Array([0x61, 0x23])), (f.topicLength = 2)))));
  it("empty topic (string and bytes)", () => {
    refuses("topic-empty", publish((f) => (f.topic = "")));
    refuses("topic-empty", publish((f) => ((f.topic = new Uint8Array(4)), (f.topicLength = 0))));
  });
  it("U+0000 in the topic", () => refuses("topic-has-null", publish((f) => (f.topic = "a\u0000b"))));
  it("a lone surrogate in the topic or payload string", () => {
    refuses("invalid-utf8", publish((f) => (f.topic = "a\ud800")));
    refuses("invalid-utf8", publish((f) => (f.topic = "a\udc00b")));
    refuses("invalid-utf8", publish((f) => (f.payload = "\ud83d")));
  });
  it("invalid UTF-8 in a byte topic", () =>
    refuses("invalid-utf8", publish((f) => ((f.topic = new Uint8Array([0xc0, 0xaf])), (f.topicLength = 2)))));
  it("a topic over 65,535 bytes", () => {
    refuses("string-too-long", publish((f) => (f.topic = "x".repeat(65_536))), 70_000);
    refuses("string-too-long", publish((f) => (f.topic = "é".repeat(32_768))), 70_000); // 65,536 bytes of UTF-8
  });
  it("a topic of exactly 65,535 bytes is fine", () => {
    const buf = new Uint8Array(70_000);
    expect(publish((f) => (f.topic = "x".repeat(65_535)))(buf)).toBe(1 + 3 + 2 + 65_535 + 1);
  });
  it("remaining length over 268,435,455", () => {
    // A payload view claiming more than the maximum: length is checked before any byte is read.
    const big = { length: 268_435_455 } as unknown as Uint8Array;
    // topic "t": 2 + 1 bytes of variable header; one byte more than the maximum...
    refuses("remaining-length-too-large", publish((f) => ((f.payload = big), (f.payloadLength = 268_435_455 - 2))));
    // ...while exactly the maximum is a valid packet that simply does not fit this buffer
    refuses("buffer-too-small", publish((f) => ((f.payload = big), (f.payloadLength = 268_435_455 - 3))));
  });
  it("payload/topic slices outside their arrays", () => {
    refuses("bad-slice", publish((f) => ((f.payload = new Uint8Array(4)), (f.payloadOffset = 2), (f.payloadLength = 3))));
    refuses("bad-slice", publish((f) => ((f.payload = new Uint8Array(4)), (f.payloadOffset = -1), (f.payloadLength = 1))));
    refuses("bad-slice", publish((f) => ((f.topic = new Uint8Array(4)), (f.topicOffset = 0), (f.topicLength = 5))));
  });
  it("buffer too small: no partial packet, at any offset", () => {
    const encode = publish((f) => (f.payload = "x".repeat(60)));
    refuses("buffer-too-small", encode, 64);
    refuses("buffer-too-small", (buf) => encodePublish(buf, 60, Object.assign(newPublishFields(), { topic: "t" })), 64);
    refuses("buffer-too-small", (buf) => encodePublish(buf, -1, Object.assign(newPublishFields(), { topic: "t" })), 64);
  });
  it("a fitting packet exactly at the end of the buffer", () => {
    const buf = new Uint8Array(10);
    const f = newPublishFields();
    f.topic = "t";
    f.payload = "pp";
    expect(encodePublish(buf, 3, f)).toBe(7);
  });
});

describe("reused fields", () => {
  it("a topic validated once is re-checked as soon as it changes", () => {
    const buf = new Uint8Array(64);
    const f = newPublishFields();
    f.topic = "a/b";
    expect(encodePublish(buf, 0, f)).toBe(7);
    expect(encodePublish(buf, 0, f)).toBe(7);
    f.topic = "a/#";
    refuses("topic-has-wildcard", (b) => encodePublish(b, 0, f));
    f.topic = "灯";
    expect(encodePublish(buf, 0, f)).toBe(7);
    expect(decodeAll(buf.subarray(0, 7))).toEqual([{ packet: { type: "PUBLISH", qos: 0, dup: false, retain: false, topic: "灯", payload: [] } }]);
    f.topic = new Uint8Array([0x61]);
    f.topicLength = 1;
    expect(encodePublish(buf, 0, f)).toBe(5);
  });
});

describe("CONNECT refusals", () => {
  it("client id over 65,535 bytes", () => refuses("string-too-long", connect((f) => (f.clientId = "c".repeat(65_536))), 70_000));
  it("password over 65,535 bytes", () =>
    refuses("string-too-long", connect((f) => ((f.username = "u"), (f.password = new Uint8Array(65_536)))), 70_000));
  it("password without user name", () => refuses("password-without-username", connect((f) => (f.password = "p"))));
  it("empty client id without clean session", () =>
    refuses("empty-client-id-needs-clean-session", connect((f) => ((f.clientId = ""), (f.cleanSession = false)))));
  it("keepalive out of range", () => {
    refuses("bad-keepalive", connect((f) => (f.keepalive = 65_536)));
    refuses("bad-keepalive", connect((f) => (f.keepalive = -1)));
  });
  it("will topic with a wildcard, will QoS 3", () => {
    refuses("topic-has-wildcard", connect((f) => (f.willTopic = "a/#")));
    refuses("bad-qos", connect((f) => ((f.willTopic = "a"), (f.willQos = 3))));
  });
  it("U+0000 in the client id or user name", () => {
    refuses("string-has-null", connect((f) => (f.clientId = "a\u0000")));
    refuses("string-has-null", connect((f) => (f.username = "\u0000")));
  });
  it("buffer too small", () => refuses("buffer-too-small", connect((f) => (f.clientId = "c".repeat(60)))));
  it("will fields are ignored without a will topic; a null will message is empty", () => {
    const buf = new Uint8Array(64);
    const f = newConnectFields();
    f.clientId = "c";
    f.willQos = 2;
    f.willRetain = true;
    const n = encodeConnect(buf, 0, f);
    expect(buf[9]).toBe(0x02);
    f.willTopic = "w";
    const m = encodeConnect(buf, 0, f);
    expect(buf[9]).toBe(0x02 | 0x04 | (2 << 3) | 0x20);
    expect(m).toBe(n + 2 + 1 + 2);
  });
});

describe("SUBSCRIBE / UNSUBSCRIBE refusals", () => {
  const sub = (edit: (f: ReturnType<typeof newSubscribeFields>) => void) => {
    const f = newSubscribeFields(2);
    f.packetId = 1;
    f.count = 1;
    f.topics[0] = "a/+";
    edit(f);
    return (buf: Uint8Array) => encodeSubscribe(buf, 0, f);
  };
  it("packet id 0", () => refuses("bad-packet-id", sub((f) => (f.packetId = 0))));
  it("no topics", () => refuses("no-topics", sub((f) => (f.count = 0))));
  it("count beyond the arrays", () => refuses("too-many-topics", sub((f) => (f.count = 3))));
  it("QoS 3", () => refuses("bad-qos", sub((f) => (f.qos[0] = 3))));
  it.each(["a+", "a/#/b", "#/a", "a#"])("misplaced wildcard %s", (t) => refuses("bad-topic-filter", sub((f) => (f.topics[0] = t))));
  it("empty filter", () => refuses("topic-empty", sub((f) => (f.topics[0] = ""))));
  it("the second filter is checked before anything is written", () =>
    refuses("topic-has-null", sub((f) => ((f.count = 2), (f.topics[1] = "\u0000")))));
  it("UNSUBSCRIBE: no topics, bad filter, packet id", () => {
    const f = newUnsubscribeFields(1);
    f.packetId = 1;
    refuses("no-topics", (buf) => encodeUnsubscribe(buf, 0, f));
    f.count = 1;
    f.topics[0] = "+a";
    refuses("bad-topic-filter", (buf) => encodeUnsubscribe(buf, 0, f));
    f.topics[0] = "a";
    f.packetId = 0;
    refuses("bad-packet-id", (buf) => encodeUnsubscribe(buf, 0, f));
  });
});

describe("small packets", () => {
  it.each([
    ["PUBACK", encodePuback],
    ["PUBREC", encodePubrec],
    ["PUBREL", encodePubrel],
    ["PUBCOMP", encodePubcomp],
  ])("%s: packet id 0 / 65536 refused, buffer too small refused", (_n, encode) => {
    refuses("bad-packet-id", (buf) => encode(buf, 0, 0));
    refuses("bad-packet-id", (buf) => encode(buf, 0, 65_536));
    refuses("buffer-too-small", (buf) => encode(buf, 1, 1), 4);
  });
  it("PINGREQ and DISCONNECT need 2 bytes", () => {
    refuses("buffer-too-small", (buf) => encodePingreq(buf, 0), 1);
    refuses("buffer-too-small", (buf) => encodeDisconnect(buf, 1), 2);
  });
  it("CONNACK and SUBACK (test brokers) refuse what the decoder rejects", () => {
    refuses("bad-connack-code", (buf) => encodeConnack(buf, 0, false, 6));
    refuses("bad-connack-session-present", (buf) => encodeConnack(buf, 0, true, 5));
    refuses("bad-suback-code", (buf) => encodeSuback(buf, 0, 1, [3], 1));
    refuses("no-topics", (buf) => encodeSuback(buf, 0, 1, [], 0));
  });
});

describe("encoders and decoder agree on every QoS/flag combination", () => {
  it.each([0, 1, 2])("PUBLISH QoS %i with retain and dup", (qos) => {
    const buf = new Uint8Array(64);
    const f = newPublishFields();
    f.topic = "a/b";
    f.payload = "hi";
    f.qos = qos;
    f.packetId = qos ? 513 : 0;
    f.retain = true;
    f.dup = qos > 0;
    const n = encodePublish(buf, 0, f);
    expect(decodeAll(buf.subarray(0, n))).toEqual([
      { packet: { type: "PUBLISH", qos, dup: qos > 0, retain: true, topic: "a/b", payload: [0x68, 0x69], ...(qos ? { packetId: 513 } : {}) } },
    ]);
  });
});
