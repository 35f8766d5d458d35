// Broker events for people and for JSON lines: bytes as hex, payloads as text, and never a token.
//
// Public API:
//   eventToJSON(e: BrokerEvent): Record<string, unknown>   plain JSON-safe object (Uint8Array -> hex / text);
//                                                         a CONNECT's bytes are replaced by their length
//   formatEvent(e: BrokerEvent): string                    one human-readable line
import type { BrokerEvent } from "./events.js";

function hex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += (i ? " " : "") + bytes[i]!.toString(16).toUpperCase().padStart(2, "0");
  return s;
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

export function eventToJSON(e: BrokerEvent): Record<string, unknown> {
  switch (e.type) {
    case "packet": {
      const { bytes, ...rest } = e;
      // CONNECT carries the token: its length is enough for a log.
      return e.cmd === "connect" ? { ...rest, length: bytes.length } : { ...rest, hex: hex(bytes) };
    }
    case "device-publish":
    case "cloud-publish": {
      const { payload, ...rest } = e;
      return { ...rest, payload: text(payload) };
    }
    default:
      return { ...e };
  }
}

export function formatEvent(e: BrokerEvent): string {
  switch (e.type) {
    case "link-open":
      return `link ${e.conn} opened (${e.transport})`;
    case "refused":
      return `connection refused (${e.reason})`;
    case "packet":
      return `link ${e.conn} ${e.dir === "in" ? "<-" : "->"} ${e.cmd.toUpperCase()} (${e.bytes.length} bytes)`;
    case "connack":
      return e.returnCode === 0
        ? `${e.deviceName} online (CONNACK 0)`
        : `${e.deviceName || "?"} refused: CONNACK ${e.returnCode}${e.reason ? ` (${e.reason})` : ""}`;
    case "disconnected":
      return `link ${e.conn}${e.deviceName ? ` (${e.deviceName})` : ""} closed: ${e.reason}`;
    case "subscribe":
      return `${e.deviceName} subscribed ${e.topics.map((t, i) => `${t} -> ${e.granted[i] === 0x80 ? "refused" : `QoS ${e.granted[i]}`}`).join(", ")}`;
    case "unsubscribe":
      return `${e.deviceName} unsubscribed ${e.topics.join(", ")}`;
    case "device-publish":
      return `${e.deviceName} -> ${e.kind}${e.qos ? ` (QoS ${e.qos})` : ""}: ${text(e.payload)}`;
    case "cloud-publish":
      return `cloud -> ${e.deviceName} ${e.kind}${e.delivered ? "" : " (not delivered)"}: ${text(e.payload)}`;
    case "desired":
      return e.action === "set"
        ? `desired ${e.name}=${JSON.stringify(e.value)} for ${e.deviceName} (version ${e.version})`
        : `${e.deviceName} deleted desired ${e.name} (${e.version === undefined ? "any version" : `version ${e.version}`})${e.action === "kept-newer" ? ": kept, a newer version was set since" : ""}`;
    case "limit":
      return `${e.deviceName || "?"}: OneNET limit ${e.limit}: ${e.reaction} (${e.detail})`;
    case "ban":
      return `${e.deviceName} banned until ${new Date(e.untilMs).toISOString()} (too many logins)`;
    case "restart":
      return `broker restarting (down ${e.downMs} ms)`;
    case "up":
      return "broker up";
  }
}
