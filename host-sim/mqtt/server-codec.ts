/*
 * The server role of the MQTT codec, for the host's test brokers and tools (the hostile server,
 * the packet dissector, `onenet-led packet`): decoding what a client sends (CONNECT, SUBSCRIBE,
 * UNSUBSCRIBE, PINGREQ, DISCONNECT) and encoding what a server sends (CONNACK, SUBACK, UNSUBACK,
 * PINGRESP). The chip only ever needs the client role, which stays in firmware/mqtt; this file
 * extends it, so both roles share one framer and one set of rules.
 *
 *   new MqttDecoder({ bufferSize?, role?: "client" | "server" | "any" })   the firmware's decoder,
 *                                   with every type of the role; its packet is a ServerPacket
 *   encodeConnack(buf, offset, sessionPresent, returnCode), encodeSuback(buf, offset, packetId, codes, count),
 *   encodeUnsuback(buf, offset, packetId), encodePingresp(buf, offset): number   (throw MqttError)
 */
import {
  CONNACK,
  CONNECT,
  DISCONNECT,
  MqttError,
  MqttDecoder as ClientDecoder,
  DecodedPacket,
  PINGREQ,
  PINGRESP,
  PUBACK,
  PUBCOMP,
  PUBLISH,
  PUBREC,
  PUBREL,
  SUBACK,
  SUBSCRIBE,
  UNSUBACK,
  UNSUBSCRIBE,
  encodeDisconnect,
  encodePuback,
  writeRemainingLength,
  type DecodeErrorCode,
  type DecoderSink as ClientSink,
} from "../../firmware/mqtt/index.js";
import { UTF8_BAD, UTF8_HASH, UTF8_NULL, UTF8_PLUS, scanUtf8 } from "../../firmware/bytes.js";

/**
 * Whether a topic filter's wildcards are well placed: "+" alone in its level, "#" alone in the
 * last level. Works on bytes because "/", "+" and "#" are ASCII (never inside a multi-byte sequence).
 */
export function filterIsValid(buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  for (let i = off; i < end; i++) {
    const b = buf[i];
    if (b !== 0x2b && b !== 0x23) continue;
    if (i > off && buf[i - 1] !== 0x2f) return false;
    if (b === 0x23) return i === end - 1;
    if (i < end - 1 && buf[i + 1] !== 0x2f) return false;
  }
  return true;
}

export type DecoderRole = "client" | "server" | "any";

/** The sink of either role: packets come as ServerPacket. */
export interface DecoderSink {
  onPacket(p: ServerPacket): void;
  onError(code: DecodeErrorCode, fatal: boolean): void;
}

export interface DecoderOptions {
  bufferSize?: number;
  role?: DecoderRole;
}

/** A decoded packet of either role: the client's fields, plus CONNECT's and the topic filters'. */
export class ServerPacket extends DecodedPacket {
  /** CONNECT. */
  protocolLevel = 0;
  connectFlags = 0;
  keepalive = 0;
  cleanSession = false;
  clientIdOffset = 0;
  clientIdLength = 0;
  hasWill = false;
  willQos = 0;
  willRetain = false;
  willTopicOffset = 0;
  willTopicLength = 0;
  willMessageOffset = 0;
  willMessageLength = 0;
  hasUsername = false;
  usernameOffset = 0;
  usernameLength = 0;
  hasPassword = false;
  passwordOffset = 0;
  passwordLength = 0;
  /** SUBSCRIBE / UNSUBSCRIBE: how many topic filters; the current one after firstFilter/nextFilter. */
  filterCount = 0;
  filterOffset = 0;
  filterLength = 0;
  /** Requested QoS of the current filter (SUBSCRIBE; 0 for UNSUBSCRIBE). */
  filterQos = 0;
  private cursor = 0;

  /** SUBSCRIBE/UNSUBSCRIBE: selects the first topic filter; false when there is none. */
  firstFilter(): boolean {
    this.cursor = this.payloadOffset;
    return this.nextFilter();
  }

  /** Selects the next topic filter (filterOffset, filterLength, filterQos); false at the end. */
  nextFilter(): boolean {
    if (this.type !== SUBSCRIBE && this.type !== UNSUBSCRIBE) return false;
    const b = this.buffer;
    const p = this.cursor;
    if (p + 2 > this.payloadOffset + this.payloadLength) return false;
    const len = (b[p] << 8) | b[p + 1];
    this.filterOffset = p + 2;
    this.filterLength = len;
    if (this.type === SUBSCRIBE) {
      this.filterQos = b[p + 2 + len];
      this.cursor = p + 3 + len;
    } else {
      this.filterQos = 0;
      this.cursor = p + 2 + len;
    }
    return true;
  }

  /** @internal */
  override clear(): void {
    super.clear();
    this.protocolLevel = 0;
    this.connectFlags = 0;
    this.keepalive = 0;
    this.cleanSession = false;
    this.clientIdOffset = 0;
    this.clientIdLength = 0;
    this.hasWill = false;
    this.willQos = 0;
    this.willRetain = false;
    this.willTopicOffset = 0;
    this.willTopicLength = 0;
    this.willMessageOffset = 0;
    this.willMessageLength = 0;
    this.hasUsername = false;
    this.usernameOffset = 0;
    this.usernameLength = 0;
    this.hasPassword = false;
    this.passwordOffset = 0;
    this.passwordLength = 0;
    this.filterCount = 0;
    this.filterOffset = 0;
    this.filterLength = 0;
    this.filterQos = 0;
    this.cursor = 0;
  }
}

const SERVER_ACCEPTS =
  (1 << CONNECT) | (1 << PUBLISH) | (1 << PUBACK) | (1 << PUBREC) | (1 << PUBREL) | (1 << PUBCOMP) | (1 << SUBSCRIBE) | (1 << UNSUBSCRIBE) | (1 << PINGREQ) | (1 << DISCONNECT);
const CLIENT_ACCEPTS =
  (1 << CONNACK) | (1 << PUBLISH) | (1 << PUBACK) | (1 << PUBREC) | (1 << PUBREL) | (1 << PUBCOMP) | (1 << SUBACK) | (1 << UNSUBACK) | (1 << PINGRESP);
const ANY_ACCEPTS = 0x7ffe;

/** The decoder of either role (default "client"), for host tools; see firmware/mqtt/decode.ts for the contract. */
export class MqttDecoder extends ClientDecoder {
  declare readonly packet: ServerPacket;

  override feed(bytes: Uint8Array, offset: number, length: number, sink: DecoderSink): void {
    super.feed(bytes, offset, length, sink as ClientSink);
  }

  override end(sink: DecoderSink): void {
    super.end(sink as ClientSink);
  }

  constructor(options: DecoderOptions = {}) {
    const role = options.role ?? "client";
    super({ bufferSize: options.bufferSize }, role === "client" ? CLIENT_ACCEPTS : role === "server" ? SERVER_ACCEPTS : ANY_ACCEPTS, (buffer) => new ServerPacket(buffer));
  }

  protected override parse(p: ServerPacket): DecodeErrorCode | null {
    switch (p.type) {
      case PINGREQ:
      case DISCONNECT:
        return p.remainingLength === 0 ? null : "nonzero-remaining-length";
      case SUBSCRIBE:
      case UNSUBSCRIBE:
        return this.parseFilters(p, p.type === SUBSCRIBE);
      case CONNECT:
        return this.parseConnect(p);
      default:
        return super.parse(p);
    }
  }

  private parseFilters(p: ServerPacket, withQos: boolean): DecodeErrorCode | null {
    const b = this.buffer;
    const s = p.headerLength;
    const e = s + p.remainingLength;
    if (p.remainingLength < 2) return "packet-too-short";
    const id = (b[s] << 8) | b[s + 1];
    if (id === 0) return "packet-id-zero";
    let q = s + 2;
    if (q === e) return "no-topics";
    let count = 0;
    while (q < e) {
      if (q + 2 > e) return "packet-too-short";
      const len = (b[q] << 8) | b[q + 1];
      q += 2;
      if (q + len > e) return "packet-too-short";
      if (len === 0) return "topic-empty";
      const f = scanUtf8(b, q, len);
      if (f & UTF8_BAD) return "invalid-utf8";
      if (f & UTF8_NULL) return "topic-has-null";
      if (!filterIsValid(b, q, len)) return "bad-topic-filter";
      q += len;
      if (withQos) {
        if (q >= e) return "packet-too-short";
        if (b[q] > 2) return "bad-subscribe-qos";
        q++;
      }
      count++;
    }
    p.packetId = id;
    p.payloadOffset = s + 2;
    p.payloadLength = e - s - 2;
    p.filterCount = count;
    return null;
  }

  private parseConnect(p: ServerPacket): DecodeErrorCode | null {
    const b = this.buffer;
    const s = p.headerLength;
    const e = s + p.remainingLength;
    if (p.remainingLength < 10) return "packet-too-short";
    if (b[s] !== 0 || b[s + 1] !== 4 || b[s + 2] !== 0x4d || b[s + 3] !== 0x51 || b[s + 4] !== 0x54 || b[s + 5] !== 0x54)
      return "bad-protocol-name";
    const level = b[s + 6];
    const cf = b[s + 7];
    p.protocolLevel = level;
    p.connectFlags = cf;
    if (level !== 4) return "bad-protocol-level";
    const will = (cf & 0x04) !== 0;
    const willQos = (cf >> 3) & 3;
    const willRetain = (cf & 0x20) !== 0;
    if (cf & 0x01 || willQos === 3 || (!will && (willQos !== 0 || willRetain)) || (cf & 0xc0) === 0x40)
      return "bad-connect-flags";
    p.cleanSession = (cf & 0x02) !== 0;
    p.keepalive = (b[s + 8] << 8) | b[s + 9];
    let q = s + 10;
    p.payloadOffset = q;
    p.payloadLength = e - q;

    if (q + 2 > e) return "packet-too-short";
    let len = (b[q] << 8) | b[q + 1];
    q += 2;
    if (q + len > e) return "packet-too-short";
    let f = scanUtf8(b, q, len);
    if (f & UTF8_BAD) return "invalid-utf8";
    if (f & UTF8_NULL) return "string-has-null";
    p.clientIdOffset = q;
    p.clientIdLength = len;
    q += len;

    if (will) {
      if (q + 2 > e) return "packet-too-short";
      len = (b[q] << 8) | b[q + 1];
      q += 2;
      if (q + len > e) return "packet-too-short";
      if (len === 0) return "topic-empty";
      f = scanUtf8(b, q, len);
      if (f & UTF8_BAD) return "invalid-utf8";
      if (f & UTF8_NULL) return "topic-has-null";
      if (f & (UTF8_PLUS | UTF8_HASH)) return "topic-has-wildcard";
      p.hasWill = true;
      p.willQos = willQos;
      p.willRetain = willRetain;
      p.willTopicOffset = q;
      p.willTopicLength = len;
      q += len;
      if (q + 2 > e) return "packet-too-short";
      len = (b[q] << 8) | b[q + 1];
      q += 2;
      if (q + len > e) return "packet-too-short";
      p.willMessageOffset = q;
      p.willMessageLength = len;
      q += len;
    }
    if (cf & 0x80) {
      if (q + 2 > e) return "packet-too-short";
      len = (b[q] << 8) | b[q + 1];
      q += 2;
      if (q + len > e) return "packet-too-short";
      f = scanUtf8(b, q, len);
      if (f & UTF8_BAD) return "invalid-utf8";
      if (f & UTF8_NULL) return "string-has-null";
      p.hasUsername = true;
      p.usernameOffset = q;
      p.usernameLength = len;
      q += len;
    }
    if (cf & 0x40) {
      if (q + 2 > e) return "packet-too-short";
      len = (b[q] << 8) | b[q + 1];
      q += 2;
      if (q + len > e) return "packet-too-short";
      p.hasPassword = true;
      p.passwordOffset = q;
      p.passwordLength = len;
      q += len;
    }
    if (q !== e) return "trailing-bytes";
    return null;
  }
}

function fail(code: ConstructorParameters<typeof MqttError>[0]): never {
  throw new MqttError(code);
}

function isPacketId(id: number): boolean {
  return id === (id | 0) && id >= 1 && id <= 65535;
}

export function encodeConnack(buf: Uint8Array, offset: number, sessionPresent: boolean, returnCode: number): number {
  if (!(returnCode === (returnCode | 0) && returnCode >= 0 && returnCode <= 5)) fail("bad-connack-code");
  if (sessionPresent && returnCode !== 0) fail("bad-connack-session-present");
  if (!(offset === Math.floor(offset) && offset >= 0 && offset + 4 <= buf.length)) fail("buffer-too-small");
  buf[offset] = 0x20;
  buf[offset + 1] = 2;
  buf[offset + 2] = sessionPresent ? 1 : 0;
  buf[offset + 3] = returnCode;
  return 4;
}

/** `codes[0..count)` each 0, 1, 2 or 0x80. */
export function encodeSuback(buf: Uint8Array, offset: number, packetId: number, codes: ArrayLike<number>, count: number): number {
  if (!isPacketId(packetId)) fail("bad-packet-id");
  if (!(count === (count | 0) && count >= 1)) fail("no-topics");
  if (count > codes.length) fail("too-many-topics");
  for (let i = 0; i < count; i++) {
    const c = codes[i];
    if (c !== 0 && c !== 1 && c !== 2 && c !== 0x80) fail("bad-suback-code");
  }
  const remaining = 2 + count;
  const total = 1 + (remaining < 128 ? 1 : remaining < 16384 ? 2 : 3) + remaining;
  if (!(offset === Math.floor(offset) && offset >= 0 && offset + total <= buf.length)) fail("buffer-too-small");
  buf[offset] = 0x90;
  let pos = writeRemainingLength(buf, offset + 1, remaining);
  buf[pos++] = packetId >> 8;
  buf[pos++] = packetId & 255;
  for (let i = 0; i < count; i++) buf[pos++] = codes[i];
  return total;
}

/** Same shape as PUBACK, with type 11. */
export function encodeUnsuback(buf: Uint8Array, offset: number, packetId: number): number {
  const n = encodePuback(buf, offset, packetId);
  buf[offset] = 0xb0;
  return n;
}

/** Same shape as DISCONNECT, with type 13. */
export function encodePingresp(buf: Uint8Array, offset: number): number {
  const n = encodeDisconnect(buf, offset);
  buf[offset] = 0xd0;
  return n;
}
