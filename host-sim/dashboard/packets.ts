/*
 * One MQTT packet as the dashboard shows it: direction, a one-line summary (type, topic, packet id,
 * payload) and the byte-by-byte dissection of host-sim/packet-dissect.ts, which validates with the
 * firmware's own decoder: as a client for what the broker sent, as a server for what the device sent.
 * A CONNECT's password (the OneNET token) is replaced by "<redacted N bytes>" in every field and in
 * the packet's hex, so the page never receives it.
 *
 * Public API:
 *   describePacket(bytes, direction): PacketView
 */
import { dissect, redactMarker, redactPassword, toSpacedHex } from "../packet-dissect.js";
import type { DissectedField, DissectedPacket, Dissection } from "../packet-dissect.js";
import { packetTypeName } from "../mqtt/index.js";
import { fixedHeader } from "./uart-view.js";

export type PacketDirection = "up" | "down";

export interface PacketView {
  /** "up" = device -> broker, "down" = broker -> device. */
  direction: PacketDirection;
  /** "PUBLISH", ... or "malformed". */
  type: string;
  size: number;
  topic?: string;
  /** OneNET thing topic after `$sys/{pid}/{dev}/`, e.g. "thing/property/set_reply". */
  thing?: string;
  packetId?: number;
  qos?: number;
  /** PUBLISH payload as text (or hex), shortened for the summary line. */
  message?: string;
  /** Short readable summary, e.g. CONNACK's return code, SUBACK's grants. */
  note: string;
  /** Spaced hex of the whole packet, the password replaced by a marker. */
  hex: string;
  /** The dissection (one packet: the broker frames them one by one). */
  packets: DissectedPacket[];
  ok: boolean;
}

const MESSAGE_MAX = 160;

function text(v: DissectedField | undefined): string | undefined {
  return v === undefined ? undefined : String(v.value);
}

export function describePacket(bytes: Uint8Array, direction: PacketDirection): PacketView {
  let d: Dissection;
  try {
    d = dissect(bytes, { role: direction === "up" ? "server" : "client" });
  } catch (error) {
    // The dissector failed on these bytes: show them raw (a CONNECT only up to its fixed header).
    const header = fixedHeader(bytes);
    const shown = bytes[0] === 0x10 ? Math.min(bytes.length, header ? header.length : 1) : bytes.length;
    return {
      direction,
      type: bytes.length ? packetTypeName(bytes[0]! >> 4) : "malformed",
      size: bytes.length,
      note: `not dissected: ${(error as Error).message}`,
      hex: toSpacedHex(bytes, 0, shown) + (shown < bytes.length ? ` ${redactMarker(bytes.length - shown)}` : ""),
      packets: [],
      ok: false,
    };
  }
  const packets = d.packets.map((p) => redactPassword(bytes, p));
  const first = packets[0];
  const view: PacketView = {
    direction,
    type: first && first.type ? first.type : "malformed",
    size: bytes.length,
    note: "",
    hex: packets.length ? packets.map((p) => p.hex).join(" ") : "",
    packets,
    ok: d.ok && d.unparsed === 0,
  };
  if (d.unparsed > 0) {
    // Bytes after a framing error: shown only when they cannot be a CONNECT.
    const rest = bytes.length - d.unparsed;
    view.hex += (view.hex ? " " : "") + (bytes[rest] === 0x10 ? redactMarker(d.unparsed) : toSpacedHex(bytes, rest));
  }
  if (!first) return view;
  const field = (name: string) => first.fields.find((f) => f.name === name);
  const id = field("packet id");
  if (id && typeof id.value === "number") view.packetId = id.value;
  switch (first.type) {
    case "PUBLISH": {
      view.topic = text(field("topic"));
      const flags = field("flags");
      view.qos = flags ? (parseInt(String(flags.value), 2) >> 1) & 3 : 0;
      const m = /^\$sys\/[^/]+\/[^/]+\/(.+)$/.exec(view.topic ?? "");
      if (m) view.thing = m[1];
      const message = text(field("message")) ?? "";
      view.message = message.length > MESSAGE_MAX ? `${message.slice(0, MESSAGE_MAX)}…` : message;
      break;
    }
    case "CONNECT": {
      const keepalive = field("keepalive");
      view.note = `client id ${JSON.stringify(text(field("client id")) ?? "")}, user ${JSON.stringify(text(field("user name")) ?? "")}, keepalive ${keepalive?.value ?? "?"} s, password hidden`;
      break;
    }
    case "CONNACK": {
      const code = field("return code");
      view.note = code ? `return code ${code.value}: ${code.note}` : "";
      break;
    }
    case "SUBSCRIBE":
    case "UNSUBSCRIBE":
      view.note = first.fields.filter((f) => f.name === "topic filter").map((f) => String(f.value)).join(", ");
      break;
    case "SUBACK":
      view.note = first.fields.filter((f) => f.name === "return code").map((f) => f.note).join(", ");
      break;
  }
  if (first.error) view.note = `${first.error.code}: ${first.error.description}`;
  return view;
}
