/*
 * The MQTT 3.1.1 session: CONNECT (fresh password each time), SUBSCRIBE, QoS 0/1/2 both ways,
 * keepalive, and reconnect with back-off, over any Transport (the ESP8266 AT driver on a board).
 *
 * Public API (the application is written against this):
 *
 *   const client = new MqttClient(board, transport, options, handler);
 *   client.start();                       // opens the link; reconnects by itself until stop()
 *   client.publish(topic, payload, payloadOffset, payloadLength, qos, retain?): PublishResult
 *   client.lastPacketId                   // id given to the last accepted QoS 1/2 message
 *   client.lastPublishError               // encoder error code behind the last "invalid"
 *   client.stop();                        // DISCONNECT when online, close, no more reconnects
 *   client.state / client.online / client.stats / client.inflight
 *
 * Options, handler and every named value are in client-types.ts. Handler contract:
 * - onOnline() after CONNACK 0 and a checked SUBACK (a 0x80 refusal is reported by topic through
 *   onError("suback-refused", topic) first; the session still goes online for the rest).
 * - onOffline(reason, detail) exactly once after each onOnline, when that session ends.
 * - onError(code, detail) for everything else, including each failed attempt ("connect-failed"
 *   with the transport's reason); details never carry the password.
 * - onMessage(packet, buffer): views valid during the call only; publish() may be called from it.
 * - Every callback may throw or call start()/stop()/publish(): the session stays consistent.
 *
 * Retry policy (each delay jittered to 50..100 % of its step, then held back by the login cap):
 *   link lost / failed open / CONNACK 3 / timeouts / protocol errors: backoff (1 s doubling to 60 s)
 *   CONNACK 1, 2, 4, 5, writePassword failure, CONNECT too large:  refusedBackoff (2 min doubling to 30 min)
 *   both reset once a session has stayed online stableMs (30 s), so a flapping broker keeps
 *   pushing the delay up instead of being hit every second.
 *
 * Guarantees:
 * - A QoS 1/2 message accepted by publish() ("sent" or "queued") stays in its fixed slot until
 *   PUBACK / PUBCOMP: it is sent again with DUP after every reconnect (and after retransmitMs
 *   without an ack) and survives any number of link losses. stop() keeps it too.
 * - Reconnects back off exponentially with jitter; CONNACK 1, 2, 4, 5 back off for minutes; and
 *   whatever happens, at most connectRate.count CONNECTs go out in any connectRate.windowMs
 *   (OneNET: 3 per 5 s).
 * - PINGREQ goes out after 0.75 x keepalive of silence in either direction, so the server (which
 *   drops at 1.5 x keepalive) never sees a gap longer than the keepalive; no packet within
 *   pingTimeoutMs after it means the link is dead: it is closed and reopened.
 * - Nothing throws out of transport or timer callbacks: failures are reported through
 *   handler.onError and the session recovers. Handler exceptions are caught and reported.
 * - All memory is allocated in the constructor; one timer, rescheduled. The password is never
 *   logged and its copies are zeroed once the CONNECT has been handed to the transport.
 */
import type { Board } from "../board.js";
import type { LinkDownReason, Transport, TransportEvents } from "../transport.js";
import { Backoff, RateWindow } from "./client-backoff.js";
import { checkSuback, MqttDecoder, type DecodedPacket, type DecoderSink } from "./decode.js";
import {
  encodeConnect,
  encodeDisconnect,
  encodePingreq,
  encodePuback,
  encodePubcomp,
  encodePublish,
  encodePubrec,
  encodePubrel,
  encodeSubscribe,
  newConnectFields,
  newPublishFields,
  newSubscribeFields,
  type ConnectFields,
  type PublishFields,
  type SubscribeFields,
} from "./encode.js";
import { MqttError } from "./errors.js";
import { CONNACK, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, UNSUBACK } from "./constants.js";
import { IdSet, InflightStore, SLOT_FREE, SLOT_PUBLISH, SLOT_PUBREL, type InflightSlot } from "./client-inflight.js";
import {
  ClientStats,
  type ClientError,
  type ClientState,
  type MqttClientHandler,
  type MqttClientOptions,
  type OfflineReason,
  type PublishResult,
  type Subscription,
  type TopicBytes,
} from "./client-types.js";

export type * from "./client-types.js";
export { ClientStats } from "./client-types.js";

// Frozen: Moddable keeps a frozen table in flash instead of copying it to RAM.
const CONNACK_ERRORS: readonly ClientError[] = Object.freeze([
  "connack-bad-protocol",
  "connack-bad-protocol",
  "connack-id-rejected",
  "connack-server-unavailable",
  "connack-bad-credentials",
  "connack-not-authorized",
] as const);

const NEVER = Number.POSITIVE_INFINITY;
/** How long to wait for the transport to confirm a close before going on without it. */
const CLOSE_TIMEOUT_MS = 10_000;

/** How the next back-off is chosen when the link is down. */
const RETRY_NORMAL = 0;
/** Retrying soon cannot help (credentials, identity, protocol): minutes. */
const RETRY_REFUSED = 1;

export type ClientBoard = Pick<Board, "clock" | "log" | "random">;

export class MqttClient {
  readonly stats = new ClientStats();
  /** Outbound QoS 1/2 slots (read-only use outside: `inflight.used`). */
  readonly inflight: InflightStore;
  /** The packet id given to the last QoS 1/2 message publish() accepted. */
  lastPacketId = 0;
  /** The encoder's error code behind the last "invalid" (or "too-large") publish result. */
  lastPublishError = "";

  private currentState: ClientState = "stopped";
  private readonly decoder: MqttDecoder;
  private readonly tx: Uint8Array;
  private readonly password: Uint8Array;
  private readonly inboundQos2: IdSet;
  private readonly backoff: Backoff;
  private readonly refusedBackoff: Backoff;
  private readonly connectRate: RateWindow;
  private readonly timer: { schedule(ms: number): void; cancel(): void };
  private readonly events: TransportEvents;
  private readonly sink: DecoderSink;
  private readonly connectFields: ConnectFields;
  private readonly publishFields: PublishFields;
  private readonly subscribeFields: SubscribeFields;
  private readonly subscriptions: readonly Subscription[];

  // Option values, resolved once.
  private readonly keepaliveMs: number;
  private readonly pingIntervalMs: number;
  private readonly pingTimeoutMs: number;
  private readonly retransmitMs: number;
  private readonly ackTimeoutMs: number;
  private readonly openTimeoutMs: number;
  private readonly stableMs: number;
  private readonly txReserve: number;
  private readonly txRetryMs: number;
  private readonly cleanSession: boolean;

  /** When the timer is armed for; NEVER when disarmed. */
  private timerAt = NEVER;
  /** Deadline of the current phase: reopen (backoff), open, CONNACK, SUBACK or close. */
  private phaseDeadline = NEVER;
  private lastTxAt = 0;
  private lastRxAt = 0;
  private pingSentAt = -1;
  private lastPingAt = -NEVER;
  private subscribeId = 0;
  private onlineSince = 0;
  /** Between onOnline and its onOffline. */
  private sessionUp = false;
  /** Why we are closing the link ourselves, reported instead of the transport's "closed-by-us". */
  private closeReason: OfflineReason = "closed-by-us";
  private closeDetail = "";
  private closeRetry = RETRY_NORMAL;
  /** stop() closed a live link: its onClose is stale. */
  private swallowClose = false;
  /** Acceptance number of the newest in-flight message handed to the transport. */
  private lastSentSeq = 0;
  /** Queued QoS 1/2 messages wait for room in the transport. */
  private txRetryAt = NEVER;

  constructor(
    private readonly board: ClientBoard,
    private readonly transport: Transport,
    private readonly options: MqttClientOptions,
    private readonly handler: MqttClientHandler,
  ) {
    const bufferSize = checkInt("bufferSize", options.bufferSize ?? 1024, 16, 268_435_460);
    const maxInflight = checkInt("maxInflight", options.maxInflight ?? 4, 0, 65_535);
    const slotSize = checkInt("inflightSlotSize", options.inflightSlotSize ?? bufferSize, 8, 268_435_460);
    const keepaliveS = checkInt("keepaliveS", options.keepaliveS, 0, 65_535);
    this.keepaliveMs = keepaliveS * 1000;
    this.pingIntervalMs = checkInt("pingIntervalMs", options.pingIntervalMs ?? Math.floor(this.keepaliveMs * 0.75), 0, this.keepaliveMs);
    this.pingTimeoutMs = checkInt("pingTimeoutMs", options.pingTimeoutMs ?? clamp(this.keepaliveMs / 2, 5000, 30_000), 1, 2 ** 31);
    this.retransmitMs = checkInt("retransmitMs", options.retransmitMs ?? 10_000, 0, 2 ** 31);
    this.ackTimeoutMs = checkInt("ackTimeoutMs", options.ackTimeoutMs ?? 10_000, 1, 2 ** 31);
    this.openTimeoutMs = checkInt("openTimeoutMs", options.openTimeoutMs ?? 120_000, 1, 2 ** 31);
    this.stableMs = checkInt("stableMs", options.stableMs ?? 30_000, 0, 2 ** 31);
    this.txReserve = checkInt("txReserve", options.txReserve ?? 16, 0, 65_535);
    this.txRetryMs = checkInt("txRetryMs", options.txRetryMs ?? 200, 1, 2 ** 31);
    this.cleanSession = options.cleanSession ?? true;
    const backoff = options.backoff ?? { initialMs: 1000, maxMs: 60_000 };
    const refused = options.refusedBackoff ?? { initialMs: 120_000, maxMs: 1_800_000 };
    const rate = options.connectRate ?? { count: 3, windowMs: 5000 };
    checkInt("backoff.initialMs", backoff.initialMs, 1, 2 ** 31);
    checkInt("backoff.maxMs", backoff.maxMs, backoff.initialMs, 2 ** 31);
    checkInt("refusedBackoff.initialMs", refused.initialMs, 1, 2 ** 31);
    checkInt("refusedBackoff.maxMs", refused.maxMs, refused.initialMs, 2 ** 31);
    checkInt("connectRate.count", rate.count, 1, 1000);
    checkInt("connectRate.windowMs", rate.windowMs, 0, 2 ** 31);
    this.subscriptions = options.subscriptions ?? [];

    this.decoder = new MqttDecoder({ bufferSize });
    this.tx = new Uint8Array(bufferSize);
    this.password = new Uint8Array(checkInt("passwordBufferSize", options.passwordBufferSize ?? 256, 0, 65_535));
    this.inflight = new InflightStore(maxInflight, slotSize);
    this.inboundQos2 = new IdSet(checkInt("maxInboundQos2", options.maxInboundQos2 ?? 8, 1, 65_535));
    this.backoff = new Backoff(backoff.initialMs, backoff.maxMs, board);
    this.refusedBackoff = new Backoff(refused.initialMs, refused.maxMs, board);
    this.connectRate = new RateWindow(rate.count, rate.windowMs);
    const connect = newConnectFields();
    connect.clientId = options.clientId;
    connect.username = options.username ?? null;
    connect.keepalive = keepaliveS;
    connect.cleanSession = this.cleanSession;
    this.connectFields = connect;
    this.publishFields = newPublishFields();
    const subscribe = newSubscribeFields(this.subscriptions.length);
    for (let i = 0; i < this.subscriptions.length; i++) {
      subscribe.topics[i] = this.subscriptions[i].topic;
      subscribe.qos[i] = this.subscriptions[i].qos;
    }
    subscribe.count = this.subscriptions.length;
    this.subscribeFields = subscribe;

    // The callback objects are made once: nothing is allocated per event.
    this.timer = board.clock.createTimer(() => this.onTimer());
    this.events = {
      onOpen: () => this.onOpen(),
      onData: (bytes, offset, length) => this.onData(bytes, offset, length),
      onClose: (reason, detail) => this.onClose(reason, detail),
    };
    this.sink = {
      onPacket: (packet) => this.onPacket(packet),
      onError: (code, fatal) => this.onDecodeError(code, fatal),
    };
  }

  get state(): ClientState {
    return this.currentState;
  }

  get online(): boolean {
    return this.currentState === "online";
  }

  /** Opens the link and keeps the session up until stop(). Harmless when already started. */
  start(): void {
    if (this.currentState !== "stopped") return;
    const now = this.board.clock.now();
    if (this.swallowClose) {
      // stop()'s close has not come back yet, and a transport (the AT driver) ignores open() until
      // it has: wait for it like any close of ours, then open after the usual short back-off.
      this.swallowClose = false;
      this.closeReason = "closed-by-us";
      this.closeDetail = "restarted";
      this.closeRetry = RETRY_NORMAL;
      this.setState("closing");
      this.phaseDeadline = now + CLOSE_TIMEOUT_MS;
      this.armTimer();
      return;
    }
    const at = this.connectRate.earliest(now);
    if (at > now) this.enterBackoff(at - now);
    else this.openLink();
    this.armTimer();
  }

  /** Ends the session: DISCONNECT when connected, link closed, no reconnect. Queued QoS 1/2 messages are kept. */
  stop(): void {
    const state = this.currentState;
    if (state === "stopped") return;
    if (state === "subscribing" || state === "online") {
      // Best effort: a DISCONNECT tells the broker not to publish a will; losing it is harmless.
      const length = encodeDisconnect(this.tx, 0);
      if (this.transport.send(this.tx, 0, length)) this.lastTxAt = this.board.clock.now();
    }
    this.setState("stopped");
    this.timer.cancel();
    this.timerAt = NEVER;
    this.phaseDeadline = NEVER;
    this.pingSentAt = -1;
    this.inflight.markAllUnsent();
    if (state === "opening" || state === "connecting" || state === "subscribing" || state === "online") {
      this.swallowClose = true;
      this.closeTransport();
    } else if (state === "closing") {
      // Our earlier close() is still on its way back: it must not count against a restart.
      this.swallowClose = true;
    }
    if (this.sessionUp) {
      this.sessionUp = false;
      this.callOffline("stopped", "stop() called");
    }
  }

  /**
   * Publishes `payload[payloadOffset .. payloadOffset + payloadLength)` on `topic`.
   * QoS 0 is sent now or dropped; QoS 1/2 is copied into an in-flight slot (encoded) and kept until
   * acknowledged, across reconnects: "queued" is a promise, not a failure.
   */
  publish(
    topic: string | TopicBytes,
    payload: Uint8Array,
    payloadOffset: number,
    payloadLength: number,
    qos: 0 | 1 | 2,
    retain = false,
  ): PublishResult {
    if (qos !== 0 && qos !== 1 && qos !== 2) {
      this.lastPublishError = "invalid-qos";
      return "invalid";
    }
    const fields = this.publishFields;
    if (qos === 0) {
      if (this.currentState !== "online") return "offline";
      setPublishFields(fields, topic, payload, payloadOffset, payloadLength, qos, retain, 0);
      const length = this.encodePublishInto(this.tx);
      if (length < 0) return length === -1 ? "too-large" : "invalid";
      if (this.transport.sendSpace < length + this.txReserve) return "tx-full";
      if (!this.transport.send(this.tx, 0, length)) return "tx-full";
      this.lastTxAt = this.board.clock.now();
      this.stats.published++;
      return "sent";
    }
    const slot = this.inflight.freeSlot();
    if (slot === null) return "inflight-full";
    const packetId = this.inflight.allocateId(this.subscribeId);
    setPublishFields(fields, topic, payload, payloadOffset, payloadLength, qos, retain, packetId);
    const length = this.encodePublishInto(slot.bytes);
    if (length < 0) return length === -1 ? "too-large" : "invalid";
    this.inflight.claim(slot, packetId, qos, length);
    this.lastPacketId = packetId;
    if (this.currentState !== "online") return "queued";
    // Not slot.sentAt: the ack may arrive, and the slot be freed, inside the transport's send().
    const seq = slot.seq;
    this.flushUnsent();
    this.armTimer();
    return this.lastSentSeq >= seq ? "sent" : "queued";
  }

  // ---- transport events --------------------------------------------------------------------

  private onOpen(): void {
    try {
      this.swallowClose = false;
      if (this.currentState !== "opening") {
        // A link we no longer want (stopped, or closing after a timeout): let it go.
        if (this.currentState !== "closing") this.closeTransport();
        return;
      }
      this.sendConnect();
    } catch (error) {
      this.internalError(error);
    }
    this.armTimer();
  }

  private onData(bytes: Uint8Array, offset: number, length: number): void {
    const state = this.currentState;
    if (state !== "connecting" && state !== "subscribing" && state !== "online") return;
    try {
      this.decoder.feed(bytes, offset, length, this.sink);
    } catch (error) {
      this.internalError(error);
    }
    this.armTimer();
  }

  private onClose(reason: LinkDownReason, detail: string): void {
    try {
      if (this.swallowClose) {
        this.swallowClose = false;
        if (reason === "closed-by-us") return;
      }
      const state = this.currentState;
      if (state === "stopped" || state === "backoff") return;
      if (state === "closing") {
        this.linkDown(this.closeReason, this.closeDetail, this.closeRetry);
      } else {
        // A packet cut off by the close is reported (truncated-packet), not silently forgotten.
        if (this.decoder.pending) this.decoder.end(this.sink);
        if (!this.sessionUp) this.report("connect-failed", detail ? `${reason}: ${detail}` : reason);
        this.linkDown(reason, detail, RETRY_NORMAL);
      }
    } catch (error) {
      this.internalError(error);
    }
    this.armTimer();
  }

  // ---- decoder events ----------------------------------------------------------------------

  private onPacket(p: DecodedPacket): void {
    const state = this.currentState;
    if (state !== "connecting" && state !== "subscribing" && state !== "online") return;
    this.lastRxAt = this.board.clock.now();
    // Any packet proves the link alive: a PINGRESP stuck behind a large PUBLISH is not needed.
    this.pingSentAt = -1;
    const type = p.type;
    if (state === "connecting" && type !== CONNACK) {
      this.fail("protocol-error", `packet type ${type} before CONNACK`, "protocol-error");
      return;
    }
    switch (type) {
      case CONNACK:
        if (state !== "connecting") this.fail("protocol-error", "second CONNACK", "protocol-error");
        else this.onConnack(p);
        return;
      case SUBACK:
        if (state !== "subscribing") {
          this.report("unexpected-packet", `SUBACK ${p.packetId}`);
          return;
        }
        this.onSuback(p);
        return;
      case PUBLISH:
        this.onPublish(p);
        return;
      case PUBACK:
      case PUBCOMP: {
        const slot = this.inflight.find(p.packetId);
        const expected = type === PUBACK ? SLOT_PUBLISH : SLOT_PUBREL;
        if (slot === null || slot.state !== expected || (type === PUBACK && slot.qos !== 1)) {
          // Benign after a retransmission (the server acks both copies): counted, not reported.
          this.stats.unknownAcks++;
          return;
        }
        this.inflight.release(slot);
        this.stats.acked++;
        const handler = this.handler;
        if (handler.onPublishAcked) {
          try {
            handler.onPublishAcked(p.packetId);
          } catch (error) {
            this.handlerFailed("onPublishAcked", error);
          }
        }
        return;
      }
      case PUBREC: {
        const slot = this.inflight.find(p.packetId);
        if (slot !== null && slot.qos === 2) {
          // From here the PUBREL is what is in flight; everSent now tracks it, not the PUBLISH.
          if (slot.state === SLOT_PUBLISH) slot.everSent = false;
          slot.state = SLOT_PUBREL;
          slot.sentAt = -1;
          this.flushUnsent();
        } else {
          // Spec 4.3.3: a PUBREC is answered with PUBREL; an unknown id costs four bytes, not the link.
          this.sendControl(encodePubrel(this.tx, 0, p.packetId));
        }
        return;
      }
      case PUBREL:
        // Answered even when the id is unknown (a resent PUBREL after our PUBCOMP was lost).
        this.inboundQos2.remove(p.packetId);
        this.sendControl(encodePubcomp(this.tx, 0, p.packetId));
        return;
      case PINGRESP:
        this.stats.pingResponses++;
        return;
      case UNSUBACK:
        this.report("unexpected-packet", "UNSUBACK");
        return;
      default:
        this.fail("protocol-error", `packet type ${type}`, "protocol-error");
    }
  }

  private onDecodeError(code: string, fatal: boolean): void {
    this.stats.decodeErrors++;
    if (fatal) {
      const state = this.currentState;
      if (state === "connecting" || state === "subscribing" || state === "online") {
        this.fail("protocol-error", code, "protocol-error");
      }
    } else {
      this.report("packet-dropped", code);
    }
  }

  private onConnack(p: DecodedPacket): void {
    this.phaseDeadline = NEVER;
    const code = p.returnCode;
    if (code !== 0) {
      this.stats.refusals++;
      const error = CONNACK_ERRORS[code] ?? "connack-bad-protocol";
      this.fail(error, `CONNACK return code ${code}`, "protocol-error", code === 3 ? RETRY_NORMAL : RETRY_REFUSED);
      return;
    }
    this.stats.connacks++;
    // With no session on the server, no inbound QoS 2 message can be redelivered.
    if (this.cleanSession || !p.sessionPresent) this.inboundQos2.clear();
    if (this.subscriptions.length === 0) {
      this.goOnline();
      return;
    }
    this.subscribeId = this.inflight.allocateId(0);
    this.subscribeFields.packetId = this.subscribeId;
    let length: number;
    try {
      length = encodeSubscribe(this.tx, 0, this.subscribeFields);
    } catch (error) {
      this.fail("encode-failed", `SUBSCRIBE: ${errorCode(error)}`, "protocol-error", RETRY_REFUSED);
      return;
    }
    // Everything is set before sending: a transport may deliver the answer from inside send().
    this.setState("subscribing");
    this.phaseDeadline = this.board.clock.now() + this.ackTimeoutMs;
    this.stats.subscribes++;
    this.sendControl(length);
  }

  private onSuback(p: DecodedPacket): void {
    const count = this.subscriptions.length;
    const problem = checkSuback(p, this.subscribeId, count);
    if (problem !== null) {
      this.fail("suback-invalid", problem, "protocol-error");
      return;
    }
    this.subscribeId = 0;
    this.phaseDeadline = NEVER;
    const buffer = this.decoder.buffer;
    for (let i = 0; i < count; i++) {
      if (buffer[p.payloadOffset + i] === 0x80) this.report("suback-refused", this.subscriptions[i].topic);
    }
    // A handler may have stopped the client while hearing about a refusal.
    if (this.currentState === "subscribing") this.goOnline();
  }

  private onPublish(p: DecodedPacket): void {
    const qos = p.qos;
    const packetId = p.packetId;
    if (qos === 2) {
      if (this.inboundQos2.has(packetId)) {
        this.stats.duplicates++;
        this.sendControl(encodePubrec(this.tx, 0, packetId));
        return;
      }
      if (this.inboundQos2.full) {
        // Not acknowledged and not delivered: the server keeps it and resends it (3.1.1 servers
        // at the latest after a reconnect), by when PUBRELs will have made room.
        this.report("inbound-qos2-full", `packet id ${packetId}`);
        return;
      }
    }
    this.deliver(p);
    // The handler may have stopped the client: then the ack is not sent (the server resends).
    const state = this.currentState;
    if (state !== "subscribing" && state !== "online") return;
    if (qos === 1) this.sendControl(encodePuback(this.tx, 0, packetId));
    else if (qos === 2) {
      this.inboundQos2.add(packetId);
      this.sendControl(encodePubrec(this.tx, 0, packetId));
    }
  }

  private deliver(p: DecodedPacket): void {
    this.stats.delivered++;
    try {
      this.handler.onMessage(p, this.decoder.buffer);
    } catch (error) {
      this.handlerFailed("onMessage", error);
    }
  }

  // ---- timer -------------------------------------------------------------------------------

  private onTimer(): void {
    this.timerAt = NEVER;
    try {
      this.runDeadlines();
    } catch (error) {
      this.internalError(error);
    }
    this.armTimer();
  }

  private runDeadlines(): void {
    const now = this.board.clock.now();
    const state = this.currentState;
    if (now >= this.phaseDeadline) {
      this.phaseDeadline = NEVER;
      switch (state) {
        case "backoff":
          this.openLink();
          return;
        case "opening":
          this.report("open-timeout", `no link after ${this.openTimeoutMs} ms`);
          this.closeLink("connect-failed", "open timeout", RETRY_NORMAL);
          return;
        case "connecting":
          this.fail("connack-timeout", `no CONNACK after ${this.ackTimeoutMs} ms`, "protocol-error");
          return;
        case "subscribing":
          this.fail("suback-timeout", `no SUBACK after ${this.ackTimeoutMs} ms`, "protocol-error");
          return;
        case "closing":
          // The transport never confirmed the close: go on without it.
          this.linkDown(this.closeReason, this.closeDetail, this.closeRetry);
          return;
        default:
          break;
      }
    }
    if (state !== "subscribing" && state !== "online") return;
    if (this.keepaliveMs > 0) {
      if (this.pingSentAt >= 0) {
        if (now >= this.pingSentAt + this.pingTimeoutMs) {
          this.fail("keepalive-timeout", `no packet ${this.pingTimeoutMs} ms after PINGREQ`, "keepalive-timeout");
          return;
        }
      } else if (now >= this.pingDue()) {
        this.pingSentAt = now;
        this.lastPingAt = now;
        this.stats.pingsSent++;
        if (!this.sendControl(encodePingreq(this.tx, 0))) return;
      }
    }
    if (state !== "online") return;
    if (now >= this.txRetryAt) {
      this.txRetryAt = NEVER;
      this.flushUnsent();
    }
    if (this.retransmitMs > 0) {
      const slots = this.inflight.slots;
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[i];
        if (slot.state !== SLOT_FREE && slot.sentAt >= 0 && now >= slot.sentAt + this.retransmitMs) slot.sentAt = -1;
      }
      this.flushUnsent();
    }
  }

  /** When the next PINGREQ is due: after pingIntervalMs of silence either way, at most one per second (OneNET). */
  private pingDue(): number {
    const quiet = this.lastTxAt < this.lastRxAt ? this.lastTxAt : this.lastRxAt;
    const due = quiet + this.pingIntervalMs;
    const spaced = this.lastPingAt + 1000;
    return due > spaced ? due : spaced;
  }

  private nextDeadline(): number {
    let t = this.phaseDeadline;
    const state = this.currentState;
    if (state !== "subscribing" && state !== "online") return t;
    if (this.keepaliveMs > 0) {
      const k = this.pingSentAt >= 0 ? this.pingSentAt + this.pingTimeoutMs : this.pingDue();
      if (k < t) t = k;
    }
    if (state !== "online") return t;
    if (this.txRetryAt < t) t = this.txRetryAt;
    if (this.retransmitMs > 0) {
      const slots = this.inflight.slots;
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[i];
        if (slot.state !== SLOT_FREE && slot.sentAt >= 0 && slot.sentAt + this.retransmitMs < t) {
          t = slot.sentAt + this.retransmitMs;
        }
      }
    }
    return t;
  }

  /** Arms the timer for the earliest deadline, unless it already fires sooner (it recomputes then). */
  private armTimer(): void {
    const state = this.currentState;
    if (state === "stopped") return;
    const t = this.nextDeadline();
    if (t === NEVER || t >= this.timerAt) return;
    const now = this.board.clock.now();
    this.timerAt = t;
    this.timer.schedule(t > now ? t - now : 0);
  }

  // ---- link life cycle ---------------------------------------------------------------------

  private openLink(): void {
    this.setState("opening");
    this.stats.opens++;
    this.phaseDeadline = this.board.clock.now() + this.openTimeoutMs;
    try {
      this.transport.open(this.events);
    } catch (error) {
      // A transport that throws instead of calling onClose: treat it as a failed open.
      if (this.currentState === "opening") {
        this.report("connect-failed", `transport.open threw: ${errorCode(error)}`);
        this.linkDown("connect-failed", "transport.open threw", RETRY_NORMAL);
      }
    }
  }

  private sendConnect(): void {
    const now = this.board.clock.now();
    if (this.connectRate.earliest(now) > now) {
      // Only possible if the transport opened on its own: never exceed the login rate.
      this.closeLink("connect-failed", "connect rate limit", RETRY_NORMAL);
      return;
    }
    this.decoder.reset();
    const fields = this.connectFields;
    let passwordLength = 0;
    const writePassword = this.options.writePassword;
    if (writePassword) {
      try {
        passwordLength = writePassword(this.password, 0);
      } catch (error) {
        passwordLength = -1;
        // The error text could quote the key: report only its code.
        this.report("password-failed", `writePassword threw ${error instanceof Error ? error.name : "a non-error"}`);
      }
      if (!(Number.isInteger(passwordLength) && passwordLength >= 0 && passwordLength <= this.password.length)) {
        if (passwordLength !== -1) this.report("password-failed", "writePassword returned a bad length");
        this.password.fill(0);
        this.closeLink("connect-failed", "no password", RETRY_REFUSED);
        return;
      }
      // One view per CONNECT (rare), so the encoder sends exactly the token's bytes.
      fields.password = this.password.subarray(0, passwordLength);
    }
    let length: number;
    try {
      length = encodeConnect(this.tx, 0, fields);
    } catch (error) {
      this.password.fill(0);
      fields.password = null;
      this.report("encode-failed", `CONNECT: ${errorCode(error)}`);
      this.closeLink("connect-failed", "CONNECT could not be encoded", RETRY_REFUSED);
      return;
    }
    this.password.fill(0, 0, passwordLength);
    fields.password = null;
    this.connectRate.record(now);
    this.stats.connects++;
    this.setState("connecting");
    this.phaseDeadline = now + this.ackTimeoutMs;
    this.lastRxAt = now;
    this.pingSentAt = -1;
    this.sendControl(length);
    // The transport has copied the CONNECT (or refused it): wipe the token from the scratch buffer.
    this.tx.fill(0, 0, length);
  }

  private goOnline(): void {
    const now = this.board.clock.now();
    this.setState("online");
    this.onlineSince = now;
    this.sessionUp = true;
    this.stats.onlines++;
    // Messages accepted while offline go first, oldest first, before anything onOnline publishes.
    this.flushUnsent();
    if (this.currentState !== "online") return;
    try {
      this.handler.onOnline();
    } catch (error) {
      this.handlerFailed("onOnline", error);
    }
  }

  /** Reports `code`, then closes the link; the session comes back after a back-off. */
  private fail(code: ClientError, detail: string, reason: OfflineReason, retry = RETRY_NORMAL): void {
    this.report(code, detail);
    const state = this.currentState;
    if (state === "stopped" || state === "closing" || state === "backoff") return;
    this.closeLink(reason, `${code}: ${detail}`, retry);
  }

  private closeLink(reason: OfflineReason, detail: string, retry: number): void {
    // Whatever else the current chunk holds belongs to a link we are dropping.
    this.decoder.reset();
    this.closeReason = reason;
    this.closeDetail = detail;
    this.closeRetry = retry;
    this.pingSentAt = -1;
    this.setState("closing");
    this.phaseDeadline = this.board.clock.now() + CLOSE_TIMEOUT_MS;
    this.closeTransport();
  }

  private closeTransport(): void {
    try {
      this.transport.close();
    } catch (error) {
      this.board.log("warn", `mqtt: transport.close threw: ${errorCode(error)}`);
    }
  }

  private linkDown(reason: OfflineReason, detail: string, retry: number): void {
    const now = this.board.clock.now();
    this.stats.linkDowns++;
    this.inflight.markAllUnsent();
    this.pingSentAt = -1;
    this.subscribeId = 0;
    this.txRetryAt = NEVER;
    this.decoder.reset();
    const wasUp = this.sessionUp;
    if (wasUp && now - this.onlineSince >= this.stableMs) {
      this.backoff.reset();
      this.refusedBackoff.reset();
    }
    const delay = retry === RETRY_REFUSED ? this.refusedBackoff.next() : this.backoff.next();
    this.enterBackoff(delay);
    this.board.log("info", `mqtt: link down (${reason}), retry in ${this.phaseDeadline - now} ms`);
    if (wasUp) {
      this.sessionUp = false;
      this.callOffline(reason, detail);
    }
  }

  private enterBackoff(delay: number): void {
    const now = this.board.clock.now();
    this.setState("backoff");
    // The login cap holds whatever the back-off says (OneNET: 3 per 5 s, a ban after 10).
    this.phaseDeadline = this.connectRate.earliest(now + delay);
  }

  // ---- sending -----------------------------------------------------------------------------

  /** Sends `length` bytes of `tx`; a control packet that does not fit means the link is stuck. */
  private sendControl(length: number): boolean {
    if (this.transport.send(this.tx, 0, length)) {
      this.lastTxAt = this.board.clock.now();
      return true;
    }
    this.fail("send-failed", `transport refused ${length} bytes`, "send-failed");
    return false;
  }

  /** Sends every unsent in-flight packet, oldest first; stops (and retries later) when the transport is full. */
  private flushUnsent(): void {
    for (;;) {
      if (this.currentState !== "online") return;
      const slot = this.inflight.oldestUnsent();
      if (slot === null) return;
      if (!this.sendSlot(slot)) {
        this.txRetryAt = this.board.clock.now() + this.txRetryMs;
        return;
      }
    }
  }

  private sendSlot(slot: InflightSlot): boolean {
    let bytes = slot.bytes;
    let length = slot.length;
    if (slot.state === SLOT_PUBREL) {
      length = encodePubrel(this.tx, 0, slot.packetId);
      bytes = this.tx;
    } else if (slot.everSent) {
      bytes[0] |= 0x08; // DUP: this copy may already have reached the server
    }
    if (this.transport.sendSpace < length + this.txReserve) return false;
    // Marked sent before the call: a transport may deliver the ack from inside send().
    const now = this.board.clock.now();
    const everSent = slot.everSent;
    const isPublish = slot.state === SLOT_PUBLISH;
    const seq = slot.seq;
    slot.sentAt = now;
    slot.everSent = true;
    if (!this.transport.send(bytes, 0, length)) {
      if (slot.state !== SLOT_FREE) {
        slot.sentAt = -1;
        slot.everSent = everSent;
      }
      return false;
    }
    this.lastTxAt = now;
    if (seq > this.lastSentSeq) this.lastSentSeq = seq;
    if (everSent) this.stats.retransmissions++;
    else if (isPublish) this.stats.published++;
    return true;
  }

  /** Encodes the PUBLISH in publishFields into `out` at 0; -1 when too large, -2 when invalid. */
  private encodePublishInto(out: Uint8Array): number {
    try {
      return encodePublish(out, 0, this.publishFields);
    } catch (error) {
      this.lastPublishError = errorCode(error);
      return isTooLarge(error) ? -1 : -2;
    } finally {
      // Do not keep the caller's buffers alive.
      clearPublishFields(this.publishFields);
    }
  }

  // ---- reporting ---------------------------------------------------------------------------

  private setState(state: ClientState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    const onStateChange = this.handler.onStateChange;
    if (onStateChange) {
      try {
        onStateChange.call(this.handler, state);
      } catch (error) {
        this.handlerFailed("onStateChange", error);
      }
    }
  }

  private report(code: ClientError, detail: string): void {
    this.board.log(code === "unexpected-packet" || code === "packet-dropped" ? "info" : "warn", `mqtt: ${code}: ${detail}`);
    try {
      this.handler.onError(code, detail);
    } catch (error) {
      this.handlerFailed("onError", error);
    }
  }

  private callOffline(reason: OfflineReason, detail: string): void {
    try {
      this.handler.onOffline(reason, detail);
    } catch (error) {
      this.handlerFailed("onOffline", error);
    }
  }

  private handlerFailed(where: string, error: unknown): void {
    this.stats.handlerErrors++;
    const detail = `${where} threw: ${errorCode(error)}`;
    this.board.log("error", `mqtt: handler-failed: ${detail}`);
    if (where === "onError") return; // reporting it through onError again could loop
    try {
      this.handler.onError("handler-failed", detail);
    } catch {
      // already logged
    }
  }

  private internalError(error: unknown): void {
    const detail = errorCode(error);
    this.board.log("error", `mqtt: internal-error: ${detail}`);
    try {
      this.handler.onError("internal-error", detail);
    } catch {
      // logged above
    }
    const state = this.currentState;
    if (state === "connecting" || state === "subscribing" || state === "online" || state === "opening") {
      this.closeLink("internal-error", detail, RETRY_NORMAL);
    }
  }
}

function setPublishFields(
  fields: PublishFields,
  topic: string | TopicBytes,
  payload: Uint8Array,
  payloadOffset: number,
  payloadLength: number,
  qos: 0 | 1 | 2,
  retain: boolean,
  packetId: number,
): void {
  if (typeof topic === "string") {
    fields.topic = topic;
  } else {
    fields.topic = topic.bytes;
    fields.topicOffset = topic.offset;
    fields.topicLength = topic.length;
  }
  fields.payload = payload;
  fields.payloadOffset = payloadOffset;
  fields.payloadLength = payloadLength;
  fields.qos = qos;
  fields.retain = retain;
  fields.dup = false;
  fields.packetId = packetId;
}

function clearPublishFields(fields: PublishFields): void {
  fields.topic = "";
  fields.payload = "";
}

/** A name for an error that is safe to log: the encoder's code, or the error's class. */
function errorCode(error: unknown): string {
  if (error instanceof MqttError) return error.code;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return "non-error thrown";
}

function isTooLarge(error: unknown): boolean {
  return error instanceof MqttError && (error.code === "buffer-too-small" || error.code === "remaining-length-too-large");
}

function clamp(value: number, low: number, high: number): number {
  return Math.floor(value < low ? low : value > high ? high : value);
}

/** Configuration errors are the one thing the constructor throws: at start-up, with the option's name. */
export class MqttClientConfigError extends Error {
  readonly code = "invalid-option";
  constructor(readonly option: string, message: string) {
    super(message);
    this.name = "MqttClientConfigError";
  }
}

function checkInt(name: string, value: number, low: number, high: number): number {
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new MqttClientConfigError(name, `mqtt client: option ${name} must be an integer in ${low}..${high}`);
  }
  return value;
}
