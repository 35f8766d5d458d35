/*
 * The session's outbound messages: QoS 0 sent at once or dropped, QoS 1/2 encoded once into an
 * in-flight slot and kept until acknowledged, sent (again, with DUP) oldest first whenever the
 * session is online, after a retransmission timeout, and after every reconnect. The slots' states
 * move only through client-inflight.ts's transition function.
 *
 * Outcomes are named values (PublishResult, and lastPublishError for the encoder's code); nothing
 * here throws or allocates per message.
 */
import type { Transport } from "../transport.js";
import type { ResolvedOptions } from "./client-options.js";
import { InflightStore, type InflightSlot } from "./client-inflight.js";
import type { ClientStats, PublishResult, TopicBytes } from "./client-types.js";
import { encodePublish, encodePubrel, newPublishFields, type PublishFields } from "./encode.js";
import { MqttError, errorName } from "./errors.js";

const NEVER = Number.POSITIVE_INFINITY;

/** What the outbox needs from the session that owns it. */
export interface OutboxHost {
  readonly online: boolean;
  now(): number;
  /** The session's scratch buffer for control packets (a PUBREL). */
  readonly tx: Uint8Array;
  /** Sends `length` bytes of tx as a control packet; false when the link is stuck (the session closes it). */
  sendControl(length: number): boolean;
  /** Something went out now (for the keepalive). */
  sent(now: number): void;
  /** The PUBACK or PUBCOMP of `packetId` came. */
  acked(packetId: number): void;
}

export class Outbox {
  readonly inflight: InflightStore;
  /** The packet id given to the last QoS 1/2 message publish() accepted. */
  lastPacketId = 0;
  /** The encoder's error code behind the last "invalid" (or "too-large") publish result. */
  lastPublishError = "";
  /** Queued QoS 1/2 messages wait for room in the transport until then. */
  private txRetryAt = NEVER;
  /** Acceptance number of the newest in-flight message handed to the transport. */
  private lastSentSeq = 0;
  private encodedLength = 0;
  private readonly fields: PublishFields = newPublishFields();
  private readonly retransmitMs: number;
  private readonly txReserve: number;
  private readonly txRetryMs: number;

  constructor(
    private readonly host: OutboxHost,
    private readonly transport: Transport,
    private readonly stats: ClientStats,
    o: ResolvedOptions,
  ) {
    this.inflight = new InflightStore(o.maxInflight, o.inflightSlotSize);
    this.retransmitMs = o.retransmitMs;
    this.txReserve = o.txReserve;
    this.txRetryMs = o.txRetryMs;
  }

  publish(
    topic: string | TopicBytes,
    payload: Uint8Array,
    payloadOffset: number,
    payloadLength: number,
    qos: 0 | 1 | 2,
    retain: boolean,
    reservedId: number,
  ): PublishResult {
    if (qos !== 0 && qos !== 1 && qos !== 2) {
      this.lastPublishError = "invalid-qos";
      return "invalid";
    }
    const host = this.host;
    if (qos === 0) {
      if (!host.online) return "offline";
      this.setFields(topic, payload, payloadOffset, payloadLength, qos, retain, 0);
      const encoded = this.encode(host.tx);
      if (encoded !== "encoded") return encoded;
      const length = this.encodedLength;
      if (this.transport.sendSpace < length + this.txReserve) return "tx-full";
      if (!this.transport.send(host.tx, 0, length)) return "tx-full";
      host.sent(host.now());
      this.stats.published++;
      return "sent";
    }
    const slot = this.inflight.freeSlot();
    if (slot === null) return "inflight-full";
    const packetId = this.inflight.allocateId(reservedId);
    this.setFields(topic, payload, payloadOffset, payloadLength, qos, retain, packetId);
    const encoded = this.encode(slot.bytes);
    if (encoded !== "encoded") return encoded;
    this.inflight.claim(slot, packetId, qos, this.encodedLength);
    this.lastPacketId = packetId;
    if (!host.online) return "queued";
    // Not slot.sentAt: the ack may arrive, and the slot be freed, inside the transport's send().
    const seq = slot.seq;
    this.flush();
    return this.lastSentSeq >= seq ? "sent" : "queued";
  }

  /** Sends every unsent in-flight packet, oldest first; stops (and retries later) when the transport is full. */
  flush(): void {
    for (;;) {
      if (!this.host.online) return;
      const slot = this.inflight.oldestUnsent();
      if (slot === null) return;
      if (!this.sendSlot(slot)) {
        this.txRetryAt = this.host.now() + this.txRetryMs;
        return;
      }
    }
  }

  /** PUBACK or PUBCOMP for `packetId`. One for nothing in flight is benign after a retransmission (the server acks both copies): counted. */
  onAck(event: "puback" | "pubcomp", packetId: number): void {
    const slot = this.inflight.find(packetId);
    if (slot === null || !this.inflight.acknowledge(slot, event)) {
      this.stats.unknownAcks++;
      return;
    }
    this.stats.acked++;
    this.host.acked(packetId);
  }

  onPubrec(packetId: number): void {
    const slot = this.inflight.find(packetId);
    if (slot !== null && this.inflight.acknowledge(slot, "pubrec")) {
      this.flush();
      return;
    }
    // Spec 4.3.3: a PUBREC is answered with PUBREL; an unknown id costs four bytes, not the link.
    this.host.sendControl(encodePubrel(this.host.tx, 0, packetId));
  }

  /** The link is gone: nothing is in transit on the next one until resent. */
  linkDown(): void {
    this.inflight.markAllUnsent();
    this.txRetryAt = NEVER;
  }

  /** The earliest of `t` and this outbox's own deadlines (online only). */
  nextDeadline(t: number): number {
    if (this.txRetryAt < t) t = this.txRetryAt;
    if (this.retransmitMs > 0) {
      const slots = this.inflight.slots;
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[i];
        if (slot.state !== "free" && slot.sentAt >= 0 && slot.sentAt + this.retransmitMs < t) t = slot.sentAt + this.retransmitMs;
      }
    }
    return t;
  }

  /** Deadlines due at `now` (online only): transport room to retry, unacknowledged messages to resend. */
  runDeadlines(now: number): void {
    if (now >= this.txRetryAt) {
      this.txRetryAt = NEVER;
      this.flush();
    }
    if (this.retransmitMs > 0) {
      const slots = this.inflight.slots;
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[i];
        if (slot.state !== "free" && slot.sentAt >= 0 && now >= slot.sentAt + this.retransmitMs) slot.sentAt = -1;
      }
      this.flush();
    }
  }

  private sendSlot(slot: InflightSlot): boolean {
    let bytes = slot.bytes;
    let length = slot.length;
    if (slot.state === "pubcomp-pending") {
      bytes = this.host.tx;
      length = encodePubrel(bytes, 0, slot.packetId);
    } else if (slot.everSent) {
      bytes[0] |= 0x08; // DUP: this copy may already have reached the server
    }
    if (this.transport.sendSpace < length + this.txReserve) return false;
    // Marked sent before the call: a transport may deliver the ack from inside send().
    const now = this.host.now();
    const everSent = slot.everSent;
    const isPublish = slot.state !== "pubcomp-pending";
    const seq = slot.seq;
    slot.sentAt = now;
    slot.everSent = true;
    if (!this.transport.send(bytes, 0, length)) {
      if (slot.state !== "free") {
        slot.sentAt = -1;
        slot.everSent = everSent;
      }
      return false;
    }
    this.host.sent(now);
    if (seq > this.lastSentSeq) this.lastSentSeq = seq;
    if (everSent) this.stats.retransmissions++;
    else if (isPublish) this.stats.published++;
    return true;
  }

  /** Encodes the PUBLISH in `fields` into `out` at 0 (its length in encodedLength). */
  private encode(out: Uint8Array): "encoded" | "too-large" | "invalid" {
    try {
      this.encodedLength = encodePublish(out, 0, this.fields);
      return "encoded";
    } catch (error) {
      this.lastPublishError = errorName(error);
      const code = error instanceof MqttError ? error.code : "";
      return code === "buffer-too-small" || code === "remaining-length-too-large" ? "too-large" : "invalid";
    } finally {
      // Do not keep the caller's buffers alive.
      this.fields.topic = "";
      this.fields.payload = "";
    }
  }

  private setFields(
    topic: string | TopicBytes,
    payload: Uint8Array,
    payloadOffset: number,
    payloadLength: number,
    qos: 0 | 1 | 2,
    retain: boolean,
    packetId: number,
  ): void {
    const f = this.fields;
    if (typeof topic === "string") {
      f.topic = topic;
    } else {
      f.topic = topic.bytes;
      f.topicOffset = topic.offset;
      f.topicLength = topic.length;
    }
    f.payload = payload;
    f.payloadOffset = payloadOffset;
    f.payloadLength = payloadLength;
    f.qos = qos;
    f.retain = retain;
    f.dup = false;
    f.packetId = packetId;
  }
}
