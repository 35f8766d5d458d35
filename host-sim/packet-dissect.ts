/*
 * Annotated byte-by-byte breakdown of MQTT 3.1.1 packets, like the seed tutorial's tables: every
 * field with its offset, bytes, value and a note, grouped into fixed header / variable header /
 * payload. Validation is the firmware's own decoder (firmware/mqtt), so a malformed packet is
 * reported with the decoder's named error (and the rule it breaks). Used by `onenet-led packet
 * decode` and meant for the web dashboard too (plain JSON-able data).
 *
 * Public API:
 *   dissect(bytes: Uint8Array, options?: { role?: DecoderRole }): Dissection   (role default "any")
 *   renderDissection(d: Dissection): string     text tables for a terminal
 *   parseHex(text: string): Uint8Array          "10 9F 01", "109f01", "0x10,0x9f"; throws HexError
 *   toSpacedHex(bytes, offset?, length?): string   "10 9F 01"
 *   redactPassword(bytes, packet): DissectedPacket   a CONNECT's password (the OneNET token) as "<redacted N bytes>"
 *   truncation(bytes, offset): string | undefined   "3 bytes, the packet needs 4" for a packet cut short
 */
import {
  CONNACK,
  CONNECT,
  MqttDecoder,
  PUBLISH,
  SUBACK,
  SUBSCRIBE,
  UNSUBSCRIBE,
  describeMqttError,
  packetTypeName,
  UTF8_BAD,
  scanUtf8,
  utf8ToString,
} from "./mqtt/index.js";
import type { DecodeErrorCode, DecodedPacket, DecoderRole } from "./mqtt/index.js";

export type SectionName = "fixed header" | "variable header" | "payload";

export interface DissectedField {
  name: string;
  /** Offset of the field's first byte in the input given to dissect(). */
  offset: number;
  length: number;
  /** The bytes, spaced upper-case hex. */
  hex: string;
  value: string | number | boolean;
  /** How to show value: "text" is decoded UTF-8 (quote it), "hex" raw bytes, "bits" a binary string. */
  kind: "number" | "text" | "hex" | "bits" | "name" | "boolean";
  note: string;
  section: SectionName;
}

export interface DissectedSection {
  name: SectionName;
  offset: number;
  length: number;
  fields: DissectedField[];
}

export interface DissectError {
  code: DecodeErrorCode;
  description: string;
  /** true: MQTT requires closing the connection (or framing is lost). */
  fatal: boolean;
}

export interface DissectedPacket {
  /** "PUBLISH", ... ("reserved" for types 0 and 15, "" when not even the first byte arrived). */
  type: string;
  typeNumber: number;
  offset: number;
  /** Bytes of this packet present in the input. */
  length: number;
  hex: string;
  fields: DissectedField[];
  sections: DissectedSection[];
  error: DissectError | null;
}

export interface Dissection {
  ok: boolean;
  packets: DissectedPacket[];
  /** Input bytes left undecoded after a framing error. */
  unparsed: number;
}

export class HexError extends Error {
  override name = "HexError";
}

export function toSpacedHex(bytes: Uint8Array, offset = 0, length = bytes.length - offset): string {
  const parts: string[] = [];
  for (let i = offset; i < offset + length; i++) parts.push(bytes[i].toString(16).toUpperCase().padStart(2, "0"));
  return parts.join(" ");
}

export function parseHex(text: string): Uint8Array {
  const clean = text.replace(/0x/gi, "").replace(/[\s,:]+/g, "");
  const bad = clean.search(/[^0-9a-fA-F]/);
  if (bad >= 0) throw new HexError(`bad hex: ${JSON.stringify(clean[bad])} is not a hex digit`);
  if (clean.length === 0) throw new HexError("bad hex: no bytes given");
  if (clean.length % 2) throw new HexError(`bad hex: odd number of digits (${clean.length})`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const CONNACK_CODES = [
  "connection accepted",
  "refused: unacceptable protocol version",
  "refused: identifier rejected",
  "refused: server unavailable",
  "refused: bad user name or password",
  "refused: not authorized",
];

/** A printable rendering of bytes: the text if it is UTF-8 without control characters, else hex. */
function bytesValue(b: Uint8Array, off: number, len: number): { value: string; text: boolean } {
  if ((scanUtf8(b, off, len) & UTF8_BAD) === 0) {
    const s = utf8ToString(b, off, len);
    // eslint-disable-next-line no-control-regex
    if (!/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(s)) return { value: s, text: true };
  }
  return { value: toSpacedHex(b, off, len), text: false };
}

class Builder {
  fields: DissectedField[] = [];
  constructor(
    private readonly bytes: Uint8Array,
    private readonly base: number,
  ) {}

  add(section: SectionName, name: string, at: number, length: number, value: string | number | boolean, note = "", kind?: DissectedField["kind"]): void {
    const k = kind ?? (typeof value === "number" ? "number" : typeof value === "boolean" ? "boolean" : "name");
    this.fields.push({ name, offset: this.base + at, length, hex: toSpacedHex(this.bytes, at, length), value, kind: k, note, section });
  }
  u16(section: SectionName, name: string, at: number, note = ""): number {
    const v = (this.bytes[at] << 8) | this.bytes[at + 1];
    this.add(section, name, at, 2, v, note);
    return v;
  }
  /** A length-prefixed field: its 2-byte length, then the bytes. */
  prefixed(section: SectionName, name: string, at: number, len: number, asText: boolean): void {
    this.add(section, `${name} length`, at - 2, 2, len, "2-byte big-endian length prefix");
    if (asText) this.add(section, name, at, len, utf8ToString(this.bytes, at, len), "UTF-8", "text");
    else {
      const v = bytesValue(this.bytes, at, len);
      this.add(section, name, at, len, v.value, v.text ? "binary data, shown as text" : "binary data", v.text ? "text" : "hex");
    }
  }
}

function fixedHeader(f: Builder, type: number, flags: number, lengthBytes: number, remaining: number): void {
  f.add("fixed header", "packet type", 0, 1, `${packetTypeName(type)} (${type})`, "high 4 bits of byte 1");
  let note: string;
  const bits = flags.toString(2).padStart(4, "0");
  if (type === PUBLISH) note = `DUP ${(flags >> 3) & 1}, QoS ${(flags >> 1) & 3}, RETAIN ${flags & 1}`;
  else if (type === 6 || type === 8 || type === 10) note = "reserved, must be 0010";
  else note = "reserved, must be 0000";
  f.add("fixed header", "flags", 0, 1, bits, `low 4 bits of byte 1: ${note}`, "bits");
  if (lengthBytes > 0)
    f.add(
      "fixed header",
      "remaining length",
      1,
      lengthBytes,
      remaining,
      `variable-length integer, ${lengthBytes} byte${lengthBytes > 1 ? "s" : ""}: bytes after the fixed header`,
    );
}

function describePacket(f: Builder, p: DecodedPacket): void {
  const b = p.buffer;
  const s = p.headerLength;
  const V = "variable header";
  const P = "payload";
  switch (p.type) {
    case CONNECT: {
      f.u16(V, "protocol name length", s);
      f.add(V, "protocol name", s + 2, 4, "MQTT", "", "text");
      f.add(V, "protocol level", s + 6, 1, p.protocolLevel, "4 = MQTT 3.1.1");
      const cf = p.connectFlags;
      const names: string[] = [];
      if (cf & 0x80) names.push("user name");
      if (cf & 0x40) names.push("password");
      if (cf & 0x20) names.push("will retain");
      if (cf & 0x04) names.push(`will (QoS ${(cf >> 3) & 3})`);
      if (cf & 0x02) names.push("clean session");
      f.add(V, "connect flags", s + 7, 1, cf.toString(2).padStart(8, "0"), names.length ? names.join(", ") : "none", "bits");
      f.u16(V, "keepalive", s + 8, "seconds");
      f.prefixed(P, "client id", p.clientIdOffset, p.clientIdLength, true);
      if (p.hasWill) {
        f.prefixed(P, "will topic", p.willTopicOffset, p.willTopicLength, true);
        f.prefixed(P, "will message", p.willMessageOffset, p.willMessageLength, false);
      }
      if (p.hasUsername) f.prefixed(P, "user name", p.usernameOffset, p.usernameLength, true);
      if (p.hasPassword) f.prefixed(P, "password", p.passwordOffset, p.passwordLength, false);
      break;
    }
    case CONNACK:
      f.add(V, "acknowledge flags", s, 1, p.sessionPresent, p.sessionPresent ? "session present" : "no session present");
      f.add(V, "return code", s + 1, 1, p.returnCode, CONNACK_CODES[p.returnCode]);
      break;
    case PUBLISH: {
      f.prefixed(V, "topic", p.topicOffset, p.topicLength, true);
      if (p.qos > 0) f.u16(V, "packet id", p.topicOffset + p.topicLength);
      const v = bytesValue(b, p.payloadOffset, p.payloadLength);
      if (p.payloadLength > 0)
        f.add(P, "message", p.payloadOffset, p.payloadLength, v.value, `${p.payloadLength} bytes, no length prefix${v.text ? "" : " (binary)"}`, v.text ? "text" : "hex");
      break;
    }
    case SUBSCRIBE:
    case UNSUBSCRIBE:
      f.u16(V, "packet id", s);
      for (let ok = p.firstFilter(); ok; ok = p.nextFilter()) {
        f.prefixed(P, "topic filter", p.filterOffset, p.filterLength, true);
        if (p.type === SUBSCRIBE) f.add(P, "requested QoS", p.filterOffset + p.filterLength, 1, p.filterQos, "");
      }
      break;
    case SUBACK:
      f.u16(V, "packet id", s);
      for (let i = 0; i < p.codeCount; i++) {
        const c = p.code(i);
        f.add(P, "return code", p.payloadOffset + i, 1, c, c === 0x80 ? "failure" : `granted QoS ${c}`);
      }
      break;
    default:
      if (p.remainingLength === 2) f.u16(V, "packet id", s);
  }
}

function sectionsOf(fields: DissectedField[]): DissectedSection[] {
  const sections: DissectedSection[] = [];
  for (const field of fields) {
    let section = sections.at(-1);
    if (!section || section.name !== field.section) {
      section = { name: field.section, offset: field.offset, length: 0, fields: [] };
      sections.push(section);
    }
    section.fields.push(field);
    section.length = field.offset + field.length - section.offset;
  }
  return sections;
}

export function dissect(bytes: Uint8Array, options: { role?: DecoderRole } = {}): Dissection {
  const decoder = new MqttDecoder({ role: options.role ?? "any", bufferSize: Math.max(64, bytes.length + 8) });
  const packets: DissectedPacket[] = [];
  let consumed = 0;
  let framingLost = false;

  const finish = (type: number, length: number, f: Builder, error: DissectError | null): void => {
    packets.push({
      type: length > 0 ? packetTypeName(type) : "",
      typeNumber: type,
      offset: consumed,
      length,
      hex: toSpacedHex(bytes, consumed, length),
      fields: f.fields,
      sections: sectionsOf(f.fields),
      error,
    });
    consumed += length;
  };

  const sink = {
    onPacket(p: DecodedPacket): void {
      const f = new Builder(p.buffer, consumed);
      fixedHeader(f, p.type, p.flags, p.headerLength - 1, p.remainingLength);
      describePacket(f, p);
      finish(p.type, p.packetLength, f, null);
    },
    onError(code: DecodeErrorCode, fatal: boolean): void {
      const error = { code, description: describeMqttError(code), fatal };
      const raw = bytes.subarray(consumed);
      const f = new Builder(raw, consumed);
      const p = decoder.packet;
      if (code === "remaining-length-too-long" || code === "remaining-length-not-minimal") {
        let n = 1;
        while (n < raw.length && n <= 4 && raw[n] & 0x80) n++;
        const lengthBytes = Math.min(n, 4, raw.length - 1);
        fixedHeader(f, raw[0] >> 4, raw[0] & 15, 0, 0);
        f.add("fixed header", "remaining length", 1, lengthBytes, toSpacedHex(raw, 1, lengthBytes), "malformed", "hex");
        framingLost = true;
        finish(raw[0] >> 4, 1 + lengthBytes, f, error);
        return;
      }
      if (code === "truncated-packet") {
        // How far did the fixed header get? The remaining length is known once a byte without
        // the continuation bit arrived.
        let n = 1;
        let value = 0;
        let multiplier = 1;
        let complete = false;
        while (n < raw.length && n <= 4) {
          value += (raw[n] & 127) * multiplier;
          multiplier *= 128;
          if (!(raw[n++] & 128)) {
            complete = true;
            break;
          }
        }
        if (raw.length > 0) fixedHeader(f, raw[0] >> 4, raw[0] & 15, complete ? n - 1 : 0, value);
        if (!complete && raw.length > 1)
          f.add("fixed header", "remaining length (incomplete)", 1, raw.length - 1, toSpacedHex(raw, 1), "the input ends inside the length", "hex");
        if (complete && raw.length > n)
          f.add("variable header", "body (incomplete)", n, raw.length - n, toSpacedHex(raw, n), `${raw.length - n} of ${value} bytes: the input ends inside this packet`, "hex");
        finish(raw.length > 0 ? raw[0] >> 4 : 0, raw.length, f, error);
        return;
      }
      const length = p.headerLength + p.remainingLength;
      fixedHeader(f, p.type, p.flags, p.headerLength - 1, p.remainingLength);
      if (p.remainingLength > 0)
        f.add("variable header", "body (not decoded)", p.headerLength, p.remainingLength, toSpacedHex(raw, p.headerLength, p.remainingLength), "", "hex");
      finish(p.type, length, f, error);
    },
  };
  decoder.feed(bytes, 0, bytes.length, sink);
  if (!framingLost) decoder.end(sink);
  return { ok: packets.every((p) => p.error === null), packets, unparsed: bytes.length - consumed };
}

export function redactMarker(n: number): string {
  return `<redacted ${n} bytes>`;
}

/** The dissection with a CONNECT's password hidden: field value and hex, and the packet's hex. */
export function redactPassword(bytes: Uint8Array, p: DissectedPacket): DissectedPacket {
  if (p.typeNumber !== 1) return p;
  const password = p.fields.find((f) => f.name === "password");
  let from: number;
  let to: number;
  if (password) {
    from = password.offset;
    to = password.offset + password.length;
  } else if (p.error) {
    // A CONNECT the decoder refused: the token may sit anywhere after the fixed header.
    const len = p.fields.find((f) => f.name === "remaining length");
    from = len ? len.offset + len.length : p.offset + Math.min(1, p.length);
    to = p.offset + p.length;
  } else return p;
  const n = to - from;
  const marker = redactMarker(n);
  const hideField = (f: DissectedField): DissectedField => {
    const fEnd = f.offset + f.length;
    if (fEnd <= from || f.offset >= to) return f;
    if (f === password) return { ...f, hex: marker, value: marker, kind: "name", note: "the OneNET token: hidden" };
    return { ...f, hex: marker, value: marker, kind: "name" };
  };
  const fields = p.fields.map(hideField);
  const sections = p.sections.map((s) => ({ ...s, fields: s.fields.map(hideField) }));
  const parts: string[] = [];
  if (from > p.offset) parts.push(toSpacedHex(bytes, p.offset, from - p.offset));
  if (n > 0) parts.push(marker);
  if (p.offset + p.length > to) parts.push(toSpacedHex(bytes, to, p.offset + p.length - to));
  return { ...p, fields, sections, hex: parts.join(" ") };
}

/** How a packet starting at `offset` falls short of its length, in words; undefined when it does not. */
export function truncation(bytes: Uint8Array, offset: number): string | undefined {
  const have = bytes.length - offset;
  if (have < 1) return undefined;
  if (have < 2) return "1 byte: the fixed header needs at least 2";
  let remaining = 0;
  let multiplier = 1;
  let i = offset + 1;
  for (; i < bytes.length && i <= offset + 4; i++) {
    remaining += (bytes[i]! & 127) * multiplier;
    multiplier *= 128;
    if (!(bytes[i]! & 128)) {
      const needs = i + 1 - offset + remaining;
      return needs > have ? `${have} byte${have === 1 ? "" : "s"}, the packet needs ${needs}` : undefined;
    }
  }
  return `${have} bytes end inside the remaining length (its last byte has the continuation bit set)`;
}

/** Wraps a hex string to `width` bytes per line. */
function wrapHex(hex: string, width: number): string[] {
  const parts = hex.split(" ");
  const lines: string[] = [];
  for (let i = 0; i < parts.length; i += width) lines.push(parts.slice(i, i + width).join(" "));
  return lines.length ? lines : [""];
}

export function renderDissection(d: Dissection): string {
  const out: string[] = [];
  const W = 12; // bytes per line
  for (const p of d.packets) {
    if (out.length) out.push("");
    out.push(`${p.type || "(nothing)"}: ${p.length} byte${p.length === 1 ? "" : "s"} at offset ${p.offset}`);
    for (const line of wrapHex(p.hex, 24)) out.push(`  ${line}`);
    for (const section of p.sections) {
      out.push(`  ${section.name}`);
      for (const field of section.fields) {
        const value = field.kind === "text" ? JSON.stringify(field.value) : String(field.value);
        const lines = wrapHex(field.hex, W);
        const right = `${field.name.padEnd(29)} ${value}${field.note ? `   (${field.note})` : ""}`;
        out.push(`    ${String(field.offset).padStart(4)}  ${lines[0].padEnd(W * 3)} ${right}`);
        for (const line of lines.slice(1)) out.push(`          ${line}`);
      }
    }
    if (p.error) out.push(`  error: ${p.error.code}: ${p.error.description}${p.error.fatal ? " (the connection must be closed)" : ""}`);
  }
  if (d.unparsed > 0) out.push("", `${d.unparsed} byte${d.unparsed === 1 ? "" : "s"} not decoded after the framing error`);
  return out.join("\n");
}
