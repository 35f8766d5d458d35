/*
 * The MQTT codec lab, run inside XS by test/xs/mqtt.test.ts and bench/xs.ts: encodes the seed
 * packets with the firmware's encoders, decodes packets with its streaming decoder, and offers an
 * allocation-free round trip for metering.
 */
import {
  MqttDecoder as ClientDecoder,
  encodeConnect,
  encodeDisconnect,
  encodePingreq,
  encodePublish,
  encodeSubscribe,
  encodeUnsubscribe,
  newConnectFields,
  newPublishFields,
  newSubscribeFields,
  newUnsubscribeFields,
  type DecodeErrorCode,
  type DecodedPacket,
  type DecoderSink,
} from "../../../firmware/mqtt/index.js";
import { MqttDecoder, type DecoderRole } from "../../mqtt/server-codec.js";
import { fromHex, toHex, toText } from "./hex.js";

export interface SeedFields {
  clientId: string;
  username: string;
  password: string;
  keepalive: number;
  subscribeId: number;
  unsubscribeId: number;
  topicFilter: string;
  publishTopic: string;
  publishPayload: string;
}

/** The seed packets, as the firmware's encoders write them (hex). */
export function encodeSeed(f: SeedFields): Record<string, string> {
  const buf = new Uint8Array(1024);
  const out: Record<string, string> = {};
  const c = newConnectFields();
  c.clientId = f.clientId;
  c.username = f.username;
  c.password = f.password;
  c.keepalive = f.keepalive;
  c.cleanSession = true;
  out.connect = toHex(buf, 0, encodeConnect(buf, 0, c));
  const s = newSubscribeFields(1);
  s.packetId = f.subscribeId;
  s.count = 1;
  s.topics[0] = f.topicFilter;
  s.qos[0] = 0;
  out.subscribe = toHex(buf, 0, encodeSubscribe(buf, 0, s));
  const u = newUnsubscribeFields(1);
  u.packetId = f.unsubscribeId;
  u.count = 1;
  u.topics[0] = f.topicFilter;
  out.unsubscribe = toHex(buf, 0, encodeUnsubscribe(buf, 0, u));
  const p = newPublishFields();
  p.topic = f.publishTopic;
  p.payload = f.publishPayload;
  out.publish = toHex(buf, 0, encodePublish(buf, 0, p));
  out.pingreq = toHex(buf, 0, encodePingreq(buf, 0));
  out.disconnect = toHex(buf, 0, encodeDisconnect(buf, 0));
  return out;
}

export interface PacketSummary {
  type: number;
  flags: number;
  remainingLength: number;
  packetId: number;
  qos: number;
  returnCode: number;
  sessionPresent: boolean;
  topic: string;
  payload: string;
  codes: number[];
  error: DecodeErrorCode | null;
  fatal: boolean;
}

/**
 * Decodes `hex` (any number of packets) fed in chunks of `chunk` bytes; returns one summary per
 * packet or error, in order.
 */
export function decodeHex(hex: string, role: DecoderRole, chunk: number): PacketSummary[] {
  const decoder = new MqttDecoder({ bufferSize: 1024, role });
  const results: PacketSummary[] = [];
  const summary = (p: DecodedPacket, error: DecodeErrorCode | null, fatal: boolean): PacketSummary => {
    const codes: number[] = [];
    for (let i = 0; i < p.codeCount; i++) codes.push(p.code(i));
    return {
      type: p.type,
      flags: p.flags,
      remainingLength: p.remainingLength,
      packetId: p.packetId,
      qos: p.qos,
      returnCode: p.returnCode,
      sessionPresent: p.sessionPresent,
      topic: error ? "" : toText(p.buffer, p.topicOffset, p.topicLength),
      payload: error ? "" : toText(p.buffer, p.payloadOffset, p.payloadLength),
      codes,
      error,
      fatal,
    };
  };
  const sink: DecoderSink = {
    onPacket: (p) => void results.push(summary(p, null, false)),
    onError: (code, fatal) => void results.push(summary(decoder.packet, code, fatal)),
  };
  const bytes = fromHex(hex);
  for (let i = 0; i < bytes.length; i += chunk) decoder.feed(bytes, i, Math.min(chunk, bytes.length - i), sink);
  return results;
}

/**
 * Encode-then-decode loop for metering: a property/post PUBLISH encoded into a fixed buffer and fed
 * to a client decoder, `n` times. Nothing is allocated per round. Returns packets decoded.
 */
export class RoundTrip {
  private readonly buf = new Uint8Array(512);
  private readonly publish = newPublishFields();
  private readonly decoder = new ClientDecoder({ bufferSize: 512 });
  private decoded = 0;
  private readonly sink: DecoderSink;

  constructor(topic: string, payload: string) {
    this.publish.topic = topic;
    this.publish.payload = payload;
    this.sink = {
      onPacket: () => {
        this.decoded++;
      },
      onError: () => {},
    };
  }

  run(n: number): number {
    for (let i = 0; i < n; i++) {
      const length = encodePublish(this.buf, 0, this.publish);
      this.decoder.feed(this.buf, 0, length, this.sink);
    }
    return this.decoded;
  }
}

/** decodeHex for many independent streams (one fresh decoder each). */
export function decodeMany(hexes: string[], role: DecoderRole, chunk: number): PacketSummary[][] {
  const out: PacketSummary[][] = [];
  for (const h of hexes) out.push(decodeHex(h, role, chunk));
  return out;
}

/** Receive path for metering: one framed PUBLISH fed to a client decoder `n` times. */
export class ReceiveLoop {
  private readonly decoder = new ClientDecoder({ bufferSize: 1024 });
  private readonly packet: Uint8Array;
  received = 0;
  private readonly sink: DecoderSink = {
    onPacket: () => {
      this.received++;
    },
    onError: () => {},
  };

  constructor(hex: string) {
    this.packet = fromHex(hex);
  }

  run(n: number): number {
    for (let i = 0; i < n; i++) this.decoder.feed(this.packet, 0, this.packet.length, this.sink);
    return this.received;
  }
}

/**
 * Send path for metering: a PUBLISH encoded `n` times into one buffer. `asBytes` passes topic and
 * payload as bytes (as the application does); otherwise as strings, which on XS allocate a string
 * wrapper for every character read.
 */
export class SendLoop {
  private readonly buf = new Uint8Array(1024);
  private readonly fields = newPublishFields();
  written = 0;

  constructor(topic: string, payload: string, asBytes: boolean) {
    const f = this.fields;
    if (asBytes) {
      const t = fromHex(toHexText(topic));
      const p = fromHex(toHexText(payload));
      f.topic = t;
      f.topicOffset = 0;
      f.topicLength = t.length;
      f.payload = p;
      f.payloadOffset = 0;
      f.payloadLength = p.length;
    } else {
      f.topic = topic;
      f.payload = payload;
    }
  }

  run(n: number): number {
    for (let i = 0; i < n; i++) this.written += encodePublish(this.buf, 0, this.fields);
    return this.written;
  }
}

function toHexText(ascii: string): string {
  let s = "";
  for (let i = 0; i < ascii.length; i++) s += (ascii.charCodeAt(i) < 16 ? "0" : "") + ascii.charCodeAt(i).toString(16);
  return s;
}
