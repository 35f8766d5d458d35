/*
 * The MQTT session's public vocabulary: options, the application's handler, and every outcome
 * as a named value (like coreMQTT's status codes), so the application can switch on them and a
 * log line can print them without formatting objects.
 */
import type { LinkCause, LinkDownReason } from "../transport.js";
import type { DecodedPacket } from "./decode.js";

/**
 * Where the session is. Moves: stopped -> opening -> connecting -> subscribing -> online; any ->
 * closing -> one of the three offline waits -> opening. Which wait depends on the cause
 * (client.cause), so a user sees a wrong password as what it is, not as a flapping link.
 */
export type ClientState =
  | "stopped" // not started, or stop() was called
  | "opening" // transport.open() called, waiting for onOpen
  | "connecting" // CONNECT sent, waiting for CONNACK
  | "subscribing" // CONNACK accepted, SUBSCRIBE sent, waiting for SUBACK
  | "online" // onOnline has been called
  | "closing" // we asked the transport to close, waiting for onClose
  | "backoff" // link down (dropped, closed, reset, timed out): opening again soon (backoff)
  | "refused" // who we are was refused (wrong WiFi password, no such network, CONNACK 1/2/4/5): opening again after a long wait (networkBackoff, refusedBackoff)
  | "needs-config"; // no retry can work with these settings (config-invalid): waiting for retryNow() after the configuration changed

/** Why the session is (or last went) offline: the transport's named cause, or the session's own error. */
export type SessionCause = LinkCause | ClientError;

/** Why an online session ended (the argument of onOffline). */
export type OfflineReason =
  | LinkDownReason
  | "keepalive-timeout" // no packet from the server in time after a PINGREQ
  | "protocol-error" // the server sent something MQTT does not allow
  | "send-failed" // the transport could not take a control packet
  | "internal-error" // a bug caught at the top of a callback
  | "stopped"; // stop() was called

/** Errors reported through handler.onError. Each is recovered from; none throws. */
export type ClientError =
  | "connack-bad-protocol" // CONNACK 1: unacceptable protocol version (long back-off)
  | "connack-id-rejected" // CONNACK 2: identifier rejected (long back-off)
  | "connack-server-unavailable" // CONNACK 3: server unavailable (normal back-off)
  | "connack-bad-credentials" // CONNACK 4: bad user name or password; OneNET: bad or expired token (long back-off)
  | "connack-not-authorized" // CONNACK 5: not authorized (long back-off)
  | "connack-timeout" // no CONNACK in time
  | "connect-failed" // the link went down before the session came online (detail: transport reason)
  | "open-timeout" // the transport neither opened nor failed in time
  | "suback-refused" // the server refused one subscription (0x80); detail: the topic filter
  | "suback-invalid" // SUBACK with the wrong packet id or number of codes
  | "suback-timeout" // no SUBACK in time
  | "keepalive-timeout" // no packet from the server in time after a PINGREQ
  | "protocol-error" // fatal decoder error or a packet out of place; detail: the rule
  | "packet-dropped" // non-fatal decoder error (e.g. packet bigger than the buffer); session continues
  | "unexpected-packet" // a packet the session did not ask for (ignored)
  | "inbound-qos2-full" // no room to track another inbound QoS 2 message: not delivered nor acknowledged; the server resends
  | "send-failed" // the transport refused a control packet: the link is closed and reopened
  | "encode-failed" // a CONNECT or SUBSCRIBE could not be encoded (configuration too large)
  | "password-failed" // writePassword threw or returned a bad length (long back-off)
  | "handler-failed" // an application callback threw (caught, the session goes on)
  | "internal-error"; // a bug caught at the top of a callback

/** What publish() did with a message. */
export type PublishResult =
  | "sent" // handed to the transport (QoS 1/2: and kept until acknowledged)
  | "queued" // QoS 1/2 kept in its slot; sent (again, with DUP) when online, until acknowledged
  | "offline" // QoS 0 while not online: dropped
  | "tx-full" // QoS 0 and the transport's TX buffer has no room now: dropped
  | "inflight-full" // QoS 1/2 and every in-flight slot is taken: not accepted
  | "too-large" // does not fit the TX buffer (QoS 0) or an in-flight slot (QoS 1/2)
  | "invalid"; // the encoder refused it (bad topic, bad QoS...): see lastPublishError

/** A topic given as UTF-8 bytes already in memory (no string conversion). */
export interface TopicBytes {
  bytes: Uint8Array;
  offset: number;
  length: number;
}

export interface Subscription {
  topic: string;
  qos: 0 | 1 | 2;
}

export interface MqttClientOptions {
  clientId: string;
  username?: string;
  /**
   * Writes the password into `out` at `offset` and returns its length (0 for none). Called before
   * every CONNECT so a fresh OneNET token goes out each time. The client zeroes its copies after
   * sending and never logs them.
   */
  writePassword?: (out: Uint8Array, offset: number) => number;
  /** Seconds; 0 disables keepalive. OneNET: 10..1800. */
  keepaliveS: number;
  /** Default true (OneNET requires it). */
  cleanSession?: boolean;
  /** Subscribed after every CONNACK, all in one SUBSCRIBE. */
  subscriptions?: readonly Subscription[];
  /** Decoder RX buffer and TX scratch buffer size; also the default in-flight slot size. Default 1024. */
  bufferSize?: number;
  /** Outbound QoS 1/2 messages kept until acknowledged. Default 4. */
  maxInflight?: number;
  /** Size of each in-flight slot (the largest QoS 1/2 PUBLISH). Default bufferSize. */
  inflightSlotSize?: number;
  /** Inbound QoS 2 ids tracked until PUBREL. Default 8. */
  maxInboundQos2?: number;
  /** Room for the password (token). Default 256. */
  passwordBufferSize?: number;
  /** Resend an unacknowledged QoS 1/2 message (with DUP) after this long; 0 = only after a reconnect. Default 10000. */
  retransmitMs?: number;
  /** Back-off after a failed link or CONNACK 3. Default { initialMs: 1000, maxMs: 60000 }. */
  backoff?: { initialMs: number; maxMs: number };
  /**
   * Back-off after the network refused us (the transport's cause: wrong WiFi password, no such
   * access point). Default { initialMs: 30000, maxMs: 240000 }.
   */
  networkBackoff?: { initialMs: number; maxMs: number };
  /**
   * Back-off after CONNACK 1, 2, 4, 5 or a failing writePassword: retrying soon cannot help
   * (bad token, unknown device) and OneNET bans devices that hammer it. Default { initialMs: 120000, maxMs: 1800000 }.
   */
  refusedBackoff?: { initialMs: number; maxMs: number };
  /**
   * At most `count` CONNECTs in any `windowMs`. Default { count: 3, windowMs: 6000 }: OneNET refuses a
   * 4th login in 5 s as they arrive; a second in hand for the trip.
   */
  connectRate?: { count: number; windowMs: number };
  /** A session online this long resets the back-off. Default 30000. */
  stableMs?: number;
  /** CONNACK and SUBACK timeout. Default 10000. */
  ackTimeoutMs?: number;
  /** Give up on transport.open() after this long. Default 120000 (WiFi join + DNS + TLS on an ESP8266). */
  openTimeoutMs?: number;
  /** PINGREQ after this much silence in either direction. Default 0.75 x keepalive. */
  pingIntervalMs?: number;
  /** Link dead when nothing arrives this long after a PINGREQ. Default keepalive / 2, clamped to 5..30 s. */
  pingTimeoutMs?: number;
  /** Bytes kept free in the transport's TX buffer for acks and pings when sending PUBLISHes. Default 16. */
  txReserve?: number;
  /** Retry sending queued QoS 1/2 messages the transport had no room for after this long. Default 200. */
  txRetryMs?: number;
}

export interface MqttClientHandler {
  /** CONNACK accepted and every SUBACK checked: publish freely. */
  onOnline(): void;
  /** The online session ended (called once per onOnline). */
  onOffline(reason: OfflineReason, detail: string): void;
  /**
   * An inbound PUBLISH: topic and payload are views into `buffer`, valid only during the call.
   * QoS 1 is acknowledged after this returns; QoS 2 is delivered once however often it arrives.
   */
  onMessage(packet: DecodedPacket, buffer: Uint8Array): void;
  /** The QoS 1 PUBACK or QoS 2 PUBCOMP for `packetId` (see MqttClient.lastPacketId) arrived. */
  onPublishAcked?(packetId: number): void;
  onError(code: ClientError, detail: string): void;
  /** Every state change (for link displays). */
  onStateChange?(state: ClientState): void;
}

/** Counters for tests and diagnostics. */
export class ClientStats {
  /** transport.open() calls. */
  opens = 0;
  /** CONNECT packets sent. */
  connects = 0;
  /** CONNACKs accepted. */
  connacks = 0;
  /** CONNACKs refused (1-5). */
  refusals = 0;
  /** Times onOnline was called. */
  onlines = 0;
  subscribes = 0;
  pingsSent = 0;
  pingResponses = 0;
  /** PUBLISH packets sent, first copies only. */
  published = 0;
  /** PUBLISH and PUBREL copies sent again (timeout or reconnect). */
  retransmissions = 0;
  /** PUBACK / PUBCOMP completing one of our messages. */
  acked = 0;
  /** PUBACK / PUBCOMP for no message of ours (e.g. the second ack after a retransmission): ignored. */
  unknownAcks = 0;
  /** Inbound PUBLISHes delivered to onMessage. */
  delivered = 0;
  /** Inbound QoS 2 duplicates acknowledged but not delivered again. */
  duplicates = 0;
  decodeErrors = 0;
  linkDowns = 0;
  handlerErrors = 0;
}
