/* Shared by the MQTT codec tests: hex conversion and a sink that records what the decoder says. */
import { MqttDecoder, packetTypeName, topicToString } from "../../host-sim/mqtt/index.js";
import type { DecodedPacket, DecodeErrorCode, DecoderRole, DecoderSink } from "../../host-sim/mqtt/index.js";

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array, spaced = true): string {
  const parts: string[] = [];
  for (const b of bytes) parts.push(b.toString(16).toUpperCase().padStart(2, "0"));
  return parts.join(spaced ? " " : "");
}

function text(p: DecodedPacket, off: number, len: number): string {
  return topicToString(p.buffer, off, len);
}

function bytes(p: DecodedPacket, off: number, len: number): number[] {
  return Array.from(p.buffer.subarray(off, off + len));
}

/** A plain-object snapshot of a decoded packet with only the fields its type uses. */
export function snapshot(p: DecodedPacket): Record<string, unknown> {
  const type = packetTypeName(p.type);
  const s: Record<string, unknown> = { type };
  switch (type) {
    case "PUBLISH":
      Object.assign(s, { qos: p.qos, dup: p.dup, retain: p.retain, topic: text(p, p.topicOffset, p.topicLength), payload: bytes(p, p.payloadOffset, p.payloadLength) });
      if (p.qos > 0) s.packetId = p.packetId;
      break;
    case "CONNACK":
      Object.assign(s, { sessionPresent: p.sessionPresent, returnCode: p.returnCode });
      break;
    case "PUBACK":
    case "PUBREC":
    case "PUBREL":
    case "PUBCOMP":
    case "UNSUBACK":
      s.packetId = p.packetId;
      break;
    case "SUBACK": {
      const codes: number[] = [];
      for (let i = 0; i < p.codeCount; i++) codes.push(p.code(i));
      Object.assign(s, { packetId: p.packetId, codes });
      break;
    }
    case "SUBSCRIBE":
    case "UNSUBSCRIBE": {
      const topics: unknown[] = [];
      for (let ok = p.firstFilter(); ok; ok = p.nextFilter())
        topics.push(type === "SUBSCRIBE" ? [text(p, p.filterOffset, p.filterLength), p.filterQos] : text(p, p.filterOffset, p.filterLength));
      Object.assign(s, { packetId: p.packetId, topics, count: p.filterCount });
      break;
    }
    case "CONNECT":
      Object.assign(s, {
        clientId: text(p, p.clientIdOffset, p.clientIdLength),
        keepalive: p.keepalive,
        cleanSession: p.cleanSession,
        username: p.hasUsername ? text(p, p.usernameOffset, p.usernameLength) : null,
        password: p.hasPassword ? bytes(p, p.passwordOffset, p.passwordLength) : null,
        will: p.hasWill
          ? { topic: text(p, p.willTopicOffset, p.willTopicLength), message: bytes(p, p.willMessageOffset, p.willMessageLength), qos: p.willQos, retain: p.willRetain }
          : null,
      });
      break;
  }
  return s;
}

export type Event = { packet: Record<string, unknown> } | { error: DecodeErrorCode; fatal: boolean };

export class Recorder implements DecoderSink {
  events: Event[] = [];
  onPacket(p: DecodedPacket): void {
    this.events.push({ packet: snapshot(p) });
  }
  onError(code: DecodeErrorCode, fatal: boolean): void {
    this.events.push({ error: code, fatal });
  }
}

/** Decodes `input` in one chunk with a fresh decoder; returns the events. */
export function decodeAll(input: Uint8Array, role: DecoderRole = "client", bufferSize = 1024): Event[] {
  const decoder = new MqttDecoder({ role, bufferSize });
  const sink = new Recorder();
  decoder.feed(input, 0, input.length, sink);
  return sink.events;
}

/** Decodes `input` cut into the given chunk sizes (cycled). */
export function decodeChunked(input: Uint8Array, cuts: readonly number[], role: DecoderRole = "client", bufferSize = 1024): Event[] {
  const decoder = new MqttDecoder({ role, bufferSize });
  const sink = new Recorder();
  let pos = 0;
  let k = 0;
  while (pos < input.length) {
    const n = Math.min(Math.max(1, cuts[k++ % cuts.length]), input.length - pos);
    // Copy into a fresh array at a non-zero offset so offset handling is exercised too.
    const chunk = new Uint8Array(n + 3);
    chunk.set(input.subarray(pos, pos + n), 2);
    decoder.feed(chunk, 2, n, sink);
    pos += n;
  }
  return sink.events;
}
