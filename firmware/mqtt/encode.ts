/*
 * MQTT 3.1.1 encoders: each writes one packet into a caller-provided Uint8Array at `offset` and
 * returns its length in bytes.
 *
 * Public API:
 *   encodeConnect(buf, offset, f: ConnectFields): number
 *   encodePublish(buf, offset, f: PublishFields): number
 *   encodePuback / encodePubrec / encodePubrel / encodePubcomp(buf, offset, packetId): number
 *   encodeSubscribe(buf, offset, f: SubscribeFields): number
 *   encodeUnsubscribe(buf, offset, f: UnsubscribeFields): number
 *   encodePingreq(buf, offset), encodeDisconnect(buf, offset): number
 *   (the server side, CONNACK, SUBACK, UNSUBACK, PINGRESP, is host-sim/mqtt/server-codec.ts)
 *   newConnectFields(), newPublishFields(), newSubscribeFields(capacity), newUnsubscribeFields(capacity)
 *
 * Contract:
 * - Nothing is allocated per call. The fields objects are created ONCE (by the factories) and reused:
 *   set their properties and call the encoder again. Strings are UTF-8 encoded by hand straight
 *   into `buf`.
 * - On XS a string costs heap: `s.length` makes a String wrapper (2 slots of garbage); characters
 *   are read without one (see ../bytes.ts). The per-packet path is bytes: PUBLISH topics and payloads
 *   as Uint8Array slices allocate nothing. A string topic is checked once and its UTF-8 bytes kept
 *   in the fields object: 0 slots while the same topic is published again, 2 when it changes. A
 *   string payload is measured and written on every call: 4 slots and a second pass over it.
 * - Every check runs before the first byte is written: a packet that cannot be valid or cannot fit
 *   throws MqttError (code: EncodeErrorCode) and leaves `buf` untouched. Only the error path allocates.
 * - Byte sources (Uint8Array topic/payload/password) must not overlap the destination range.
 */
import {
  MAX_REMAINING_LENGTH,
  MAX_STRING_LENGTH,
  remainingLengthSize,
  writeRemainingLength,
} from "./constants.js";
import { UTF8_BAD, UTF8_HASH, UTF8_NULL, UTF8_PLUS, charCodeAt, copyBytes, scanUtf8, utf8Length, writeAscii, writeUtf8, writeUtf8Checked } from "../bytes.js";
import { MqttError } from "./errors.js";
import type { EncodeErrorCode } from "./errors.js";

export interface ConnectFields {
  clientId: string;
  /** null: no user name. */
  username: string | null;
  /** null: no password. Binary in MQTT: a string goes as UTF-8, a Uint8Array as is (all of it). */
  password: string | Uint8Array | null;
  /** Seconds, 0..65535 (0 disables keepalive). */
  keepalive: number;
  cleanSession: boolean;
  /** null: no will; then willMessage, willQos and willRetain are ignored. */
  willTopic: string | null;
  /** Binary; null means an empty message. */
  willMessage: string | Uint8Array | null;
  willQos: number;
  willRetain: boolean;
}

export interface PublishFields {
  /** A string, or bytes: then topicOffset/topicLength select them (ignored for a string). */
  topic: string | Uint8Array;
  topicOffset: number;
  topicLength: number;
  /** Bytes (payloadOffset/payloadLength select them) or a string (sent as UTF-8; offset/length ignored). */
  payload: string | Uint8Array;
  payloadOffset: number;
  payloadLength: number;
  qos: number;
  retain: boolean;
  dup: boolean;
  /** 1..65535 for QoS 1/2; ignored (not written) for QoS 0. */
  packetId: number;
  /**
   * Internal: the last topic string validated with these fields, its UTF-8 length and its UTF-8
   * bytes (in checkedTopicBytes[0..checkedTopicLength), a buffer kept and reused), so a device
   * publishing to the same topic again and again reads its characters once: on XS every such read
   * allocates. `===` on strings compares contents without allocating. Leave them alone.
   */
  checkedTopic?: string | null;
  checkedTopicLength?: number;
  checkedTopicBytes?: Uint8Array | null;
}

export interface SubscribeFields {
  packetId: number;
  /** How many entries of topics/qos to send (1..topics.length). */
  count: number;
  topics: string[];
  qos: number[];
}

export interface UnsubscribeFields {
  packetId: number;
  count: number;
  topics: string[];
}

export function newConnectFields(): ConnectFields {
  return {
    clientId: "",
    username: null,
    password: null,
    keepalive: 60,
    cleanSession: true,
    willTopic: null,
    willMessage: null,
    willQos: 0,
    willRetain: false,
  };
}

export function newPublishFields(): PublishFields {
  return {
    topic: "",
    topicOffset: 0,
    topicLength: 0,
    payload: "",
    payloadOffset: 0,
    payloadLength: 0,
    qos: 0,
    retain: false,
    dup: false,
    packetId: 0,
    checkedTopic: null,
    checkedTopicLength: 0,
    checkedTopicBytes: null,
  };
}

export function newSubscribeFields(capacity = 4): SubscribeFields {
  const topics: string[] = [];
  const qos: number[] = [];
  for (let i = 0; i < capacity; i++) {
    topics.push("");
    qos.push(0);
  }
  return { packetId: 0, count: 0, topics, qos };
}

export function newUnsubscribeFields(capacity = 4): UnsubscribeFields {
  const topics: string[] = [];
  for (let i = 0; i < capacity; i++) topics.push("");
  return { packetId: 0, count: 0, topics };
}

function fail(code: EncodeErrorCode): never {
  throw new MqttError(code);
}

function isPacketId(id: number): boolean {
  return id === (id | 0) && id >= 1 && id <= 65535;
}

/** Checks room for `total` bytes at `offset`; returns nothing, throws buffer-too-small. */
function checkRoom(buf: Uint8Array, offset: number, total: number): void {
  if (!(offset === Math.floor(offset) && offset >= 0 && offset + total <= buf.length)) fail("buffer-too-small");
}

function checkSlice(bytes: Uint8Array, offset: number, length: number): void {
  if (!(offset === Math.floor(offset) && length === Math.floor(length) && offset >= 0 && length >= 0 && offset + length <= bytes.length))
    fail("bad-slice");
}

/** UTF-8 length of a string field (client id, user name): no lone surrogate, no NUL, <= 65,535. */
function stringFieldLength(s: string): number {
  const n = utf8Length(s);
  if (n < 0) fail("invalid-utf8");
  if (n > MAX_STRING_LENGTH) fail("string-too-long");
  if (s.indexOf("\u0000") >= 0) fail("string-has-null");
  return n;
}

/** UTF-8 length of a topic name: also non-empty and without wildcards. */
function topicNameLength(s: string): number {
  const n = utf8Length(s);
  if (n < 0) fail("invalid-utf8");
  if (n === 0) fail("topic-empty");
  if (n > MAX_STRING_LENGTH) fail("string-too-long");
  if (s.indexOf("\u0000") >= 0) fail("topic-has-null");
  if (s.indexOf("+") >= 0 || s.indexOf("#") >= 0) fail("topic-has-wildcard");
  return n;
}

/** Topics up to this many bytes get a cache with room for any topic as long in UTF-16 units. */
const TOPIC_CACHE_ROOMY = 1024;

/**
 * Validates a topic string, as topicNameLength does (same errors), and keeps its UTF-8 bytes in
 * f.checkedTopicBytes. A cache with room for 3 bytes per UTF-16 unit takes one pass over the
 * string; otherwise it is validated first and the cache grown to that room (allocates, once per
 * topic longer than any before; beyond TOPIC_CACHE_ROOMY bytes, to the topic's size only).
 * Returns the UTF-8 length.
 */
function checkTopicString(f: PublishFields, s: string): number {
  f.checkedTopic = null; // the cache is about to change
  const units = s.length;
  let cache = f.checkedTopicBytes ?? null;
  let n: number;
  if (cache !== null && cache.length >= 3 * units) {
    n = writeUtf8Checked(cache, 0, s, units);
    // A fault: topicNameLength finds it too and throws it under its precise name.
    if (n <= 0 || n > MAX_STRING_LENGTH || scanUtf8(cache, 0, n) !== 0) return topicNameLength(s);
  } else {
    n = topicNameLength(s);
    const roomy = 3 * units;
    const want = n > TOPIC_CACHE_ROOMY ? n : roomy < 64 ? 64 : roomy;
    if (cache === null || cache.length < want) {
      cache = new Uint8Array(want);
      f.checkedTopicBytes = cache;
    }
    writeString(cache, 0, s, n);
  }
  f.checkedTopic = s;
  f.checkedTopicLength = n;
  return n;
}

/** Whether a topic filter's wildcards are well placed: "+" alone in its level, "#" alone in the last level. */
function filterStringIsValid(s: string): boolean {
  const end = s.length;
  for (let i = 0; i < end; i++) {
    const c = charCodeAt.call(s, i);
    if (c !== 0x2b && c !== 0x23) continue;
    if (i > 0 && charCodeAt.call(s, i - 1) !== 0x2f) return false;
    if (c === 0x23) return i === end - 1;
    if (i < end - 1 && charCodeAt.call(s, i + 1) !== 0x2f) return false;
  }
  return true;
}

function topicFilterLength(s: string): number {
  const n = utf8Length(s);
  if (n < 0) fail("invalid-utf8");
  if (n === 0) fail("topic-empty");
  if (n > MAX_STRING_LENGTH) fail("string-too-long");
  if (s.indexOf("\u0000") >= 0) fail("topic-has-null");
  if (!filterStringIsValid(s)) fail("bad-topic-filter");
  return n;
}

/** Length of a binary field given as a string (UTF-8) or as a whole Uint8Array. */
function binaryFieldLength(v: string | Uint8Array): number {
  let n: number;
  if (typeof v === "string") {
    n = utf8Length(v);
    if (n < 0) fail("invalid-utf8");
  } else n = v.length;
  if (n > MAX_STRING_LENGTH) fail("string-too-long");
  return n;
}

function writeU16(buf: Uint8Array, pos: number, v: number): number {
  buf[pos] = v >> 8;
  buf[pos + 1] = v & 255;
  return pos + 2;
}

/** Writes a string whose UTF-8 length `len` is known, taking the ASCII shortcut when it applies. */
function writeString(buf: Uint8Array, pos: number, s: string, len: number): number {
  return len === s.length ? writeAscii(buf, pos, s) : writeUtf8(buf, pos, s);
}

function writeBinaryField(buf: Uint8Array, pos: number, v: string | Uint8Array, len: number): number {
  pos = writeU16(buf, pos, len);
  return typeof v === "string" ? writeString(buf, pos, v, len) : copyBytes(buf, pos, v, 0, len);
}

/** Header + remaining length: checks the limits and the room, returns the total packet length. */
function frame(buf: Uint8Array, offset: number, remaining: number): number {
  if (remaining > MAX_REMAINING_LENGTH) fail("remaining-length-too-large");
  const total = 1 + remainingLengthSize(remaining) + remaining;
  checkRoom(buf, offset, total);
  return total;
}

export function encodeConnect(buf: Uint8Array, offset: number, f: ConnectFields): number {
  const keepalive = f.keepalive;
  if (!(keepalive === (keepalive | 0) && keepalive >= 0 && keepalive <= 65535)) fail("bad-keepalive");
  const clientIdLength = stringFieldLength(f.clientId);
  if (clientIdLength === 0 && !f.cleanSession) fail("empty-client-id-needs-clean-session");
  let remaining = 10 + 2 + clientIdLength;
  let flags = f.cleanSession ? 0x02 : 0;
  let willTopicLength = 0;
  let willMessageLength = 0;
  const willTopic = f.willTopic;
  const willMessage = f.willMessage;
  if (willTopic !== null) {
    const willQos = f.willQos;
    if (willQos !== 0 && willQos !== 1 && willQos !== 2) fail("bad-qos");
    willTopicLength = topicNameLength(willTopic);
    willMessageLength = willMessage === null ? 0 : binaryFieldLength(willMessage);
    remaining += 4 + willTopicLength + willMessageLength;
    flags |= 0x04 | (willQos << 3) | (f.willRetain ? 0x20 : 0);
  }
  const username = f.username;
  const password = f.password;
  let usernameLength = 0;
  let passwordLength = 0;
  if (username !== null) {
    usernameLength = stringFieldLength(username);
    remaining += 2 + usernameLength;
    flags |= 0x80;
  }
  if (password !== null) {
    if (username === null) fail("password-without-username");
    passwordLength = binaryFieldLength(password);
    remaining += 2 + passwordLength;
    flags |= 0x40;
  }
  const total = frame(buf, offset, remaining);

  buf[offset] = 0x10;
  let pos = writeRemainingLength(buf, offset + 1, remaining);
  buf[pos++] = 0;
  buf[pos++] = 4;
  buf[pos++] = 0x4d; // M
  buf[pos++] = 0x51; // Q
  buf[pos++] = 0x54; // T
  buf[pos++] = 0x54; // T
  buf[pos++] = 4; // protocol level 4: MQTT 3.1.1
  buf[pos++] = flags;
  pos = writeU16(buf, pos, keepalive);
  pos = writeU16(buf, pos, clientIdLength);
  pos = writeString(buf, pos, f.clientId, clientIdLength);
  if (willTopic !== null) {
    pos = writeU16(buf, pos, willTopicLength);
    pos = writeString(buf, pos, willTopic, willTopicLength);
    if (willMessage === null) pos = writeU16(buf, pos, 0);
    else pos = writeBinaryField(buf, pos, willMessage, willMessageLength);
  }
  if (username !== null) {
    pos = writeU16(buf, pos, usernameLength);
    pos = writeString(buf, pos, username, usernameLength);
  }
  if (password !== null) writeBinaryField(buf, pos, password, passwordLength);
  return total;
}

export function encodePublish(buf: Uint8Array, offset: number, f: PublishFields): number {
  const qos = f.qos;
  if (qos !== 0 && qos !== 1 && qos !== 2) fail("bad-qos");
  if (qos === 0) {
    if (f.dup) fail("dup-on-qos0");
  } else if (!isPacketId(f.packetId)) fail(f.packetId === 0 ? "qos-needs-packet-id" : "bad-packet-id");

  const topic = f.topic;
  let topicLength: number;
  if (typeof topic === "string") {
    topicLength = topic === f.checkedTopic ? f.checkedTopicLength! : checkTopicString(f, topic);
  } else {
    topicLength = f.topicLength;
    checkSlice(topic, f.topicOffset, topicLength);
    if (topicLength === 0) fail("topic-empty");
    if (topicLength > MAX_STRING_LENGTH) fail("string-too-long");
    const flags = scanUtf8(topic, f.topicOffset, topicLength);
    if (flags & UTF8_BAD) fail("invalid-utf8");
    if (flags & UTF8_NULL) fail("topic-has-null");
    if (flags & (UTF8_PLUS | UTF8_HASH)) fail("topic-has-wildcard");
  }

  const payload = f.payload;
  let payloadLength: number;
  if (typeof payload === "string") {
    payloadLength = utf8Length(payload);
    if (payloadLength < 0) fail("invalid-utf8");
  } else {
    payloadLength = f.payloadLength;
    checkSlice(payload, f.payloadOffset, payloadLength);
  }

  const remaining = 2 + topicLength + (qos === 0 ? 0 : 2) + payloadLength;
  const total = frame(buf, offset, remaining);

  buf[offset] = 0x30 | (f.dup ? 0x08 : 0) | (qos << 1) | (f.retain ? 0x01 : 0);
  let pos = writeRemainingLength(buf, offset + 1, remaining);
  pos = writeU16(buf, pos, topicLength);
  if (typeof topic !== "string") pos = copyBytes(buf, pos, topic, f.topicOffset, topicLength);
  else pos = copyBytes(buf, pos, f.checkedTopicBytes!, 0, topicLength);
  if (qos !== 0) pos = writeU16(buf, pos, f.packetId);
  if (typeof payload === "string") writeString(buf, pos, payload, payloadLength);
  else copyBytes(buf, pos, payload, f.payloadOffset, payloadLength);
  return total;
}

function encodeAck(buf: Uint8Array, offset: number, first: number, packetId: number): number {
  if (!isPacketId(packetId)) fail("bad-packet-id");
  checkRoom(buf, offset, 4);
  buf[offset] = first;
  buf[offset + 1] = 2;
  buf[offset + 2] = packetId >> 8;
  buf[offset + 3] = packetId & 255;
  return 4;
}

export function encodePuback(buf: Uint8Array, offset: number, packetId: number): number {
  return encodeAck(buf, offset, 0x40, packetId);
}
export function encodePubrec(buf: Uint8Array, offset: number, packetId: number): number {
  return encodeAck(buf, offset, 0x50, packetId);
}
/** PUBREL carries the fixed flags 0b0010 (MQTT-3.6.1-1). */
export function encodePubrel(buf: Uint8Array, offset: number, packetId: number): number {
  return encodeAck(buf, offset, 0x62, packetId);
}
export function encodePubcomp(buf: Uint8Array, offset: number, packetId: number): number {
  return encodeAck(buf, offset, 0x70, packetId);
}
function checkCount(count: number, capacity: number): void {
  if (!(count === (count | 0) && count >= 1)) fail("no-topics");
  if (count > capacity) fail("too-many-topics");
}

export function encodeSubscribe(buf: Uint8Array, offset: number, f: SubscribeFields): number {
  if (!isPacketId(f.packetId)) fail("bad-packet-id");
  const count = f.count;
  const topics = f.topics;
  const qos = f.qos;
  checkCount(count, topics.length < qos.length ? topics.length : qos.length);
  let remaining = 2;
  for (let i = 0; i < count; i++) {
    const q = qos[i];
    if (q !== 0 && q !== 1 && q !== 2) fail("bad-qos");
    remaining += 3 + topicFilterLength(topics[i]);
  }
  const total = frame(buf, offset, remaining);

  buf[offset] = 0x82; // SUBSCRIBE carries the fixed flags 0b0010 (MQTT-3.8.1-1)
  let pos = writeRemainingLength(buf, offset + 1, remaining);
  pos = writeU16(buf, pos, f.packetId);
  for (let i = 0; i < count; i++) {
    const start = pos;
    pos = writeUtf8(buf, pos + 2, topics[i]);
    writeU16(buf, start, pos - start - 2); // the length the scan already checked
    buf[pos++] = qos[i];
  }
  return total;
}

export function encodeUnsubscribe(buf: Uint8Array, offset: number, f: UnsubscribeFields): number {
  if (!isPacketId(f.packetId)) fail("bad-packet-id");
  const count = f.count;
  const topics = f.topics;
  checkCount(count, topics.length);
  let remaining = 2;
  for (let i = 0; i < count; i++) remaining += 2 + topicFilterLength(topics[i]);
  const total = frame(buf, offset, remaining);

  buf[offset] = 0xa2; // UNSUBSCRIBE carries the fixed flags 0b0010 (MQTT-3.10.1-1)
  let pos = writeRemainingLength(buf, offset + 1, remaining);
  pos = writeU16(buf, pos, f.packetId);
  for (let i = 0; i < count; i++) {
    const start = pos;
    pos = writeUtf8(buf, pos + 2, topics[i]);
    writeU16(buf, start, pos - start - 2);
  }
  return total;
}

function encodeEmpty(buf: Uint8Array, offset: number, first: number): number {
  checkRoom(buf, offset, 2);
  buf[offset] = first;
  buf[offset + 1] = 0;
  return 2;
}

export function encodePingreq(buf: Uint8Array, offset: number): number {
  return encodeEmpty(buf, offset, 0xc0);
}
export function encodeDisconnect(buf: Uint8Array, offset: number): number {
  return encodeEmpty(buf, offset, 0xe0);
}
