// The events the embedded OneNET broker reports (dashboard, CLI event log, tests). Every event carries
// `t`, the broker's wall time in ms, and `conn`, the broker's number for the link when there is one.
// Raw `packet` events carry the exact bytes seen on the wire, CONNECT included (so its password, the
// token, is in `bytes`); the decoded `packet` summary has the password replaced by "<redacted>".
import type { DevicePublishKind } from "./topics.js";

export type Transport = "stream" | "tcp" | "tls";

export interface LinkOpenedEvent {
  type: "link-open";
  t: number;
  conn: number;
  transport: Transport;
}

/** A connection attempt turned away before MQTT (broker down for a restart, or closed). */
export interface RefusedEvent {
  type: "refused";
  t: number;
  transport: Transport;
  reason: "restarting" | "closed";
}

export interface PacketEvent {
  type: "packet";
  t: number;
  conn: number;
  /** "in" = device -> broker, "out" = broker -> device */
  dir: "in" | "out";
  bytes: Uint8Array;
  /** MQTT packet name ("connect", "publish", ...), or "unparsable" */
  cmd: string;
  /** mqtt-packet's decoding with secrets redacted */
  packet?: Record<string, unknown>;
}

/** Every CONNACK the broker sends. */
export interface ConnackEvent {
  type: "connack";
  t: number;
  conn: number;
  productId: string;
  deviceName: string;
  returnCode: number;
  /** why it was refused (never contains the token or key) */
  reason?: string;
}

export interface DisconnectedEvent {
  type: "disconnected";
  t: number;
  conn: number;
  productId?: string;
  deviceName?: string;
  /** true when the link had been accepted with CONNACK 0 */
  wasOnline: boolean;
  /** e.g. "rule: clean session must be 1", "rule: QoS 2 publish", "keepalive timeout", "peer closed", "restart" */
  reason: string;
}

export interface SubscribeEvent {
  type: "subscribe";
  t: number;
  conn: number;
  productId: string;
  deviceName: string;
  topics: string[];
  /** granted QoS per topic, 0x80 = refused */
  granted: number[];
}

export interface UnsubscribeEvent {
  type: "unsubscribe";
  t: number;
  conn: number;
  productId: string;
  deviceName: string;
  topics: string[];
}

/** A PUBLISH from a device that passed the broker's rules. */
export interface DevicePublishEvent {
  type: "device-publish";
  t: number;
  conn: number;
  productId: string;
  deviceName: string;
  topic: string;
  qos: number;
  kind: DevicePublishKind;
  serviceId?: string;
  payload: Uint8Array;
  /** parsed payload when it is valid JSON */
  json?: unknown;
  /** the message id (json.id) when it is a string */
  id?: string;
}

/** A message the cloud side (API or the broker's own replies) sent towards a device. */
export interface CloudPublishEvent {
  type: "cloud-publish";
  t: number;
  productId: string;
  deviceName: string;
  topic: string;
  kind: "property/set" | "property/get" | "service/invoke" | "reply";
  id: string;
  payload: Uint8Array;
  json: unknown;
  /** false when the device was offline or not subscribed to the topic (QoS 0: the message is lost) */
  delivered: boolean;
}

/** A desired value set by the cloud, or deleted (or kept, being newer) on the device's property/desired/delete. */
export interface DesiredEvent {
  type: "desired";
  t: number;
  productId: string;
  deviceName: string;
  action: "set" | "deleted" | "kept-newer";
  name: string;
  /** set: the new version; deleted/kept-newer: the version the device named (absent: any) */
  version?: number;
  /** set: the value */
  value?: unknown;
}

/**
 * One of OneNET's limits reached, and the broker's reaction, as OneNET reacts: a CONNACK refusal,
 * a SUBACK failure (0x80), the link closed, or QoS 0 granted instead of what was asked.
 */
export interface LimitEvent {
  type: "limit";
  t: number;
  conn?: number;
  productId: string;
  deviceName: string;
  limit: LimitName;
  reaction: string;
  detail: string;
}

export type LimitName = "login-rate" | "granted-qos" | "filters-per-subscribe" | "topic-levels" | "filter-length" | "subscriptions" | "payload-size";

export interface BanEvent {
  type: "ban";
  t: number;
  productId: string;
  deviceName: string;
  untilMs: number;
}

export interface RestartEvent {
  type: "restart";
  t: number;
  downMs: number;
}

export interface UpEvent {
  type: "up";
  t: number;
}

export type BrokerEvent =
  | LinkOpenedEvent
  | RefusedEvent
  | PacketEvent
  | ConnackEvent
  | DisconnectedEvent
  | SubscribeEvent
  | UnsubscribeEvent
  | DevicePublishEvent
  | CloudPublishEvent
  | DesiredEvent
  | LimitEvent
  | BanEvent
  | RestartEvent
  | UpEvent;
