/*
 * The MQTT 3.1.1 session's state machine (see client.ts for the API and its contract): link life
 * cycle (opening, CONNECT, SUBSCRIBE, online, closing, and the three offline waits), keepalive,
 * the packets that arrive, and the deadlines, on one rescheduled timer. Outbound messages are
 * client-outbox.ts's, the opening packets client-connect.ts's, the handler calls client-report.ts's.
 */
import type { Board } from "../board.js";
import type { LinkCause, LinkDownReason, Transport, TransportEvents } from "../transport.js";
import { RateWindow, RetryPolicy, retryKindOf, type RetryKind } from "./client-backoff.js";
import { IdSet, type InflightStore } from "./client-inflight.js";
import { resolveOptions, type ResolvedOptions } from "./client-options.js";
import { Connector } from "./client-connect.js";
import { Outbox } from "./client-outbox.js";
import { Reporter } from "./client-report.js";
import {
  ClientStats,
  type ClientError,
  type ClientState,
  type MqttClientHandler,
  type MqttClientOptions,
  type OfflineReason,
  type SessionCause,
} from "./client-types.js";
import { CONNACK, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, UNSUBACK } from "./constants.js";
import { checkSuback, headerError, MqttDecoder, type DecodedPacket, type DecoderSink } from "./decode.js";
import { encodePingreq, encodePuback, encodePubcomp, encodePubrec } from "./encode.js";
import { errorName, type DecodeErrorCode } from "./errors.js";


// Frozen: Moddable keeps a frozen table in flash instead of copying it to RAM.
const CONNACK_ERRORS: readonly ClientError[] = Object.freeze([
  "connack-bad-protocol",
  "connack-bad-protocol",
  "connack-id-rejected",
  "connack-server-unavailable",
  "connack-bad-credentials",
  "connack-not-authorized",
] as const);

export const NEVER = Number.POSITIVE_INFINITY;
/** How long to wait for the transport to confirm a close before going on without it. */
export const CLOSE_TIMEOUT_MS = 10_000;

export type ClientBoard = Pick<Board, "clock" | "log" | "random">;

/** The states in which the session waits, offline, to open again. */
export function waiting(state: ClientState): boolean {
  return state === "backoff" || state === "refused" || state === "needs-config";
}

/**
 * The session itself (the façade in client.ts is what the application holds): it is the
 * transport's events object and the decoder's sink, so a received byte reaches the application
 * through as few frames as possible (the chip's stack is small).
 */
export abstract class MqttSession implements TransportEvents, DecoderSink {
  readonly stats = new ClientStats();
  /** Outbound QoS 1/2 slots (read-only use outside: `inflight.used`). */
  readonly inflight: InflightStore;

  protected currentState: ClientState = "stopped";
  protected causeValue: SessionCause | undefined;
  private readonly o: ResolvedOptions;
  private readonly decoder: MqttDecoder;
  protected readonly tx: Uint8Array;
  private readonly inboundQos2: IdSet;
  protected readonly retry: RetryPolicy;
  protected readonly connectRate: RateWindow;
  protected readonly timer: { schedule(ms: number): void; cancel(): void };
  protected readonly outbox: Outbox;
  protected readonly reporter: Reporter;
  private readonly connector: Connector;

  /** When the timer is armed for; NEVER when disarmed. */
  protected timerAt = NEVER;
  /** Deadline of the current phase: reopen (a wait), open, CONNACK, SUBACK or close. */
  protected phaseDeadline = NEVER;
  protected lastTxAt = 0;
  private lastRxAt = 0;
  protected pingSentAt = -1;
  private lastPingAt = -NEVER;
  protected subscribeId = 0;
  private onlineSince = 0;
  /** These settings reached the broker (a CONNACK 0) since start or the last retryNow(). */
  protected networkProven = false;
  /** Between onOnline and its onOffline. */
  protected sessionUp = false;
  /** Why we are closing the link ourselves, reported instead of the transport's "closed-by-us". */
  protected closeReason: OfflineReason = "closed-by-us";
  protected closeDetail = "";
  protected closeRetry: RetryKind = "transient";
  protected closeCause: SessionCause | undefined;
  /** stop() closed a live link: its onClose is stale. */
  protected swallowClose = false;
  /** The chunk being decoded (for Transport.unparsable), and whether that call is under way. */
  private rxBytes: Uint8Array | null = null;
  private rxEnd = 0;
  private explaining = false;

  constructor(
    protected readonly board: ClientBoard,
    protected readonly transport: Transport,
    options: MqttClientOptions,
    private readonly handler: MqttClientHandler,
  ) {
    const o = resolveOptions(options);
    this.o = o;
    this.reporter = new Reporter(handler, board.log, this.stats);
    this.connector = new Connector(options, o, this.reporter);
    this.decoder = new MqttDecoder({ bufferSize: o.bufferSize });
    this.tx = new Uint8Array(o.bufferSize);
    this.inboundQos2 = new IdSet(o.maxInboundQos2);
    this.retry = new RetryPolicy(o, board);
    this.connectRate = new RateWindow(o.connectRate.count, o.connectRate.windowMs);
    const client = this;
    this.outbox = new Outbox(
      {
        get online() {
          return client.currentState === "online";
        },
        now: () => board.clock.now(),
        tx: this.tx,
        sendControl: (length) => this.sendControl(length),
        sent: (now) => {
          this.lastTxAt = now;
        },
        acked: (packetId) => this.reporter.acked(packetId),
      },
      transport,
      this.stats,
      o,
    );
    this.inflight = this.outbox.inflight;
    // Made once: nothing is allocated per event.
    this.timer = board.clock.createTimer(() => this.onTimer());
  }

  // ---- transport events (TransportEvents: the client is its own events object) -------------

  /** @internal Transport event. */
  onOpen(): void {
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

  /** @internal Transport event. */
  onData(bytes: Uint8Array, offset: number, length: number): void {
    const state = this.currentState;
    if (state !== "connecting" && state !== "subscribing" && state !== "online") return;
    this.rxBytes = bytes;
    this.rxEnd = offset + length;
    try {
      this.decoder.feed(bytes, offset, length, this);
    } catch (error) {
      this.internalError(error);
    }
    this.rxBytes = null;
    this.armTimer();
  }

  /** @internal Transport event. */
  onClose(reason: LinkDownReason, detail: string, cause?: LinkCause): void {
    try {
      if (this.swallowClose) {
        this.swallowClose = false;
        if (reason === "closed-by-us") return;
      }
      const state = this.currentState;
      if (state === "stopped" || waiting(state)) return;
      if (state === "closing" && reason !== "module-reset") {
        this.linkDown(this.closeReason, this.closeDetail, this.closeRetry, this.closeCause);
      } else {
        // The link failed on its own; a module reset also explains a link we were closing (the
        // bytes that made us close it were the module rebooting: transparent mode).
        // A packet cut off by the close is reported (truncated-packet), not silently forgotten.
        if (this.decoder.pending && !this.explaining) this.decoder.end(this);
        if (!this.sessionUp && state !== "closing") this.reporter.error("connect-failed", detail ? `${reason}: ${detail}` : reason);
        this.linkDown(reason, detail, retryKindOf(cause, this.networkProven), cause);
      }
    } catch (error) {
      this.internalError(error);
    }
    this.armTimer();
  }

  // ---- decoder events (DecoderSink) ---------------------------------------------------------

  /** @internal Decoder event. */
  onPacket(p: DecodedPacket): void {
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
      case PUBLISH:
        this.onPublish(p);
        return;
      case PUBACK:
        this.outbox.onAck("puback", p.packetId);
        return;
      case PUBCOMP:
        this.outbox.onAck("pubcomp", p.packetId);
        return;
      case PUBREC:
        this.outbox.onPubrec(p.packetId);
        return;
      case PUBREL:
        // Answered even when the id is unknown (a resent PUBREL after our PUBCOMP was lost).
        this.inboundQos2.remove(p.packetId);
        this.sendControl(encodePubcomp(this.tx, 0, p.packetId));
        return;
      case CONNACK:
        if (state !== "connecting") this.fail("protocol-error", "second CONNACK", "protocol-error");
        else this.onConnack(p);
        return;
      case SUBACK:
        if (state !== "subscribing") {
          this.reporter.error("unexpected-packet", `SUBACK ${p.packetId}`);
          return;
        }
        this.onSuback(p);
        return;
      case PINGRESP:
        this.stats.pingResponses++;
        return;
      case UNSUBACK:
        this.reporter.error("unexpected-packet", "UNSUBACK");
        return;
      default:
        this.fail("protocol-error", `packet type ${type}`, "protocol-error");
    }
  }

  /** @internal Decoder event. */
  onError(code: DecodeErrorCode, fatal: boolean): void {
    this.stats.decodeErrors++;
    if (!fatal) {
      this.reporter.error("packet-dropped", code);
      return;
    }
    const state = this.currentState;
    if (state !== "connecting" && state !== "subscribing" && state !== "online") return;
    const bytes = this.rxBytes;
    if (bytes !== null && headerError(code) && this.transport.unparsable) {
      // Not MQTT at all: a transport that shares the wire with its module (transparent mode) may
      // know these bytes as the module's own words; then it has ended the link with their cause.
      const start = this.decoder.packetStart;
      this.explaining = true;
      let known = false;
      try {
        known = this.transport.unparsable(bytes, start, this.rxEnd - start);
      } finally {
        this.explaining = false;
      }
      if (known) return;
    }
    this.fail("protocol-error", code, "protocol-error");
  }

  private onConnack(p: DecodedPacket): void {
    this.phaseDeadline = NEVER;
    const code = p.returnCode;
    if (code !== 0) {
      this.stats.refusals++;
      const error = CONNACK_ERRORS[code] ?? "connack-bad-protocol";
      this.fail(error, `CONNACK return code ${code}`, "protocol-error", code === 3 ? "transient" : "server-refused");
      return;
    }
    this.stats.connacks++;
    this.networkProven = true;
    // With no session on the server, no inbound QoS 2 message can be redelivered.
    if (this.o.cleanSession || !p.sessionPresent) this.inboundQos2.clear();
    if (this.o.subscriptions.length === 0) {
      this.goOnline();
      return;
    }
    this.subscribeId = this.inflight.allocateId(0);
    if (this.connector.subscribe(this.tx, this.subscribeId) !== "encoded") {
      const state = this.currentState;
      if (state === "connecting") this.closeLink("protocol-error", "encode-failed: SUBSCRIBE", "server-refused", "encode-failed");
      return;
    }
    const length = this.connector.length;
    // Everything is set before sending: a transport may deliver the answer from inside send().
    this.setState("subscribing");
    this.phaseDeadline = this.board.clock.now() + this.o.ackTimeoutMs;
    this.stats.subscribes++;
    this.sendControl(length);
  }

  private onSuback(p: DecodedPacket): void {
    const subs = this.o.subscriptions;
    const problem = checkSuback(p, this.subscribeId, subs.length);
    if (problem !== null) {
      this.fail("suback-invalid", problem, "protocol-error");
      return;
    }
    this.subscribeId = 0;
    this.phaseDeadline = NEVER;
    const buffer = this.decoder.buffer;
    for (let i = 0; i < subs.length; i++) {
      if (buffer[p.payloadOffset + i] === 0x80) this.reporter.error("suback-refused", subs[i].topic);
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
        this.reporter.error("inbound-qos2-full", `packet id ${packetId}`);
        return;
      }
    }
    this.stats.delivered++;
    try {
      this.handler.onMessage(p, this.decoder.buffer);
    } catch (error) {
      this.reporter.handlerFailed("onMessage", error);
    }
    // The handler may have stopped the client: then the ack is not sent (the server resends).
    const state = this.currentState;
    if (state !== "subscribing" && state !== "online") return;
    if (qos === 1) this.sendControl(encodePuback(this.tx, 0, packetId));
    else if (qos === 2) {
      this.inboundQos2.add(packetId);
      this.sendControl(encodePubrec(this.tx, 0, packetId));
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
        case "refused":
        case "needs-config":
          this.openLink();
          return;
        case "opening":
          this.reporter.error("open-timeout", `no link after ${this.o.openTimeoutMs} ms`);
          this.closeLink("connect-failed", "open timeout", "transient", "open-timeout");
          return;
        case "connecting":
          this.fail("connack-timeout", `no CONNACK after ${this.o.ackTimeoutMs} ms`, "protocol-error");
          return;
        case "subscribing":
          this.fail("suback-timeout", `no SUBACK after ${this.o.ackTimeoutMs} ms`, "protocol-error");
          return;
        case "closing":
          // The transport never confirmed the close: go on without it.
          this.linkDown(this.closeReason, this.closeDetail, this.closeRetry, this.closeCause);
          return;
        default:
          break;
      }
    }
    if (state !== "subscribing" && state !== "online") return;
    if (this.o.keepaliveMs > 0) {
      if (this.pingSentAt >= 0) {
        if (now >= this.pingSentAt + this.o.pingTimeoutMs) {
          this.fail("keepalive-timeout", `no packet ${this.o.pingTimeoutMs} ms after PINGREQ`, "keepalive-timeout");
          return;
        }
      } else if (now >= this.pingDue()) {
        this.pingSentAt = now;
        this.lastPingAt = now;
        this.stats.pingsSent++;
        if (!this.sendControl(encodePingreq(this.tx, 0))) return;
      }
    }
    if (state === "online") this.outbox.runDeadlines(now);
  }

  /** When the next PINGREQ is due: after pingIntervalMs of silence either way, at most one per second (OneNET). */
  private pingDue(): number {
    const quiet = this.lastTxAt < this.lastRxAt ? this.lastTxAt : this.lastRxAt;
    const due = quiet + this.o.pingIntervalMs;
    const spaced = this.lastPingAt + 1000;
    return due > spaced ? due : spaced;
  }

  private nextDeadline(): number {
    const t = this.phaseDeadline;
    const state = this.currentState;
    if (state !== "subscribing" && state !== "online") return t;
    let k = t;
    if (this.o.keepaliveMs > 0) {
      const ping = this.pingSentAt >= 0 ? this.pingSentAt + this.o.pingTimeoutMs : this.pingDue();
      if (ping < k) k = ping;
    }
    return state === "online" ? this.outbox.nextDeadline(k) : k;
  }

  /** Arms the timer for the earliest deadline, unless it already fires sooner (it recomputes then). */
  protected armTimer(): void {
    if (this.currentState === "stopped") return;
    const t = this.nextDeadline();
    if (t === NEVER || t >= this.timerAt) return;
    const now = this.board.clock.now();
    this.timerAt = t;
    this.timer.schedule(t > now ? t - now : 0);
  }

  /** Arms the timer afresh (a deadline moved earlier than the one it is armed for). */
  protected armTimerNow(): void {
    this.timerAt = NEVER;
    this.armTimer();
  }

  // ---- link life cycle ---------------------------------------------------------------------

  protected openLink(): void {
    this.setState("opening");
    this.stats.opens++;
    this.phaseDeadline = this.board.clock.now() + this.o.openTimeoutMs;
    try {
      this.transport.open(this);
    } catch (error) {
      // A transport that throws instead of calling onClose: treat it as a failed open.
      if (this.currentState === "opening") {
        this.reporter.error("connect-failed", `transport.open threw: ${errorName(error)}`);
        this.linkDown("connect-failed", "transport.open threw", "transient", "connect-failed");
      }
    }
  }

  private sendConnect(): void {
    const now = this.board.clock.now();
    if (this.connectRate.earliest(now) > now) {
      // Only possible if the transport opened on its own: never exceed the login rate.
      this.closeLink("connect-failed", "connect rate limit", "transient", "connect-failed");
      return;
    }
    this.decoder.reset();
    const built = this.connector.connect(this.tx);
    if (built !== "encoded") {
      if (built === "no-password") this.closeLink("connect-failed", "no password", "server-refused", "password-failed");
      else this.closeLink("connect-failed", "CONNECT could not be encoded", "server-refused", "encode-failed");
      return;
    }
    const length = this.connector.length;
    this.connectRate.record(now);
    this.stats.connects++;
    this.setState("connecting");
    this.phaseDeadline = now + this.o.ackTimeoutMs;
    this.lastRxAt = now;
    this.pingSentAt = -1;
    this.sendControl(length);
    // The transport has copied the CONNECT (or refused it): wipe the token from the scratch buffer.
    this.tx.fill(0, 0, length);
  }

  private goOnline(): void {
    const now = this.board.clock.now();
    this.setState("online");
    this.causeValue = undefined;
    this.onlineSince = now;
    this.sessionUp = true;
    this.stats.onlines++;
    // Messages accepted while offline go first, oldest first, before anything onOnline publishes.
    this.outbox.flush();
    if (this.currentState !== "online") return;
    this.reporter.online();
  }

  /** Reports `code`, then closes the link; the session comes back after the wait `retry` calls for. */
  private fail(code: ClientError, detail: string, reason: OfflineReason, retry: RetryKind = "transient"): void {
    this.reporter.error(code, detail);
    const state = this.currentState;
    if (state === "stopped" || state === "closing" || waiting(state)) return;
    this.closeLink(reason, `${code}: ${detail}`, retry, code);
  }

  private closeLink(reason: OfflineReason, detail: string, retry: RetryKind, cause: SessionCause | undefined): void {
    // Whatever else the current chunk holds belongs to a link we are dropping.
    this.decoder.reset();
    this.closeReason = reason;
    this.closeDetail = detail;
    this.closeRetry = retry;
    this.closeCause = cause;
    this.pingSentAt = -1;
    this.setState("closing");
    this.phaseDeadline = this.board.clock.now() + CLOSE_TIMEOUT_MS;
    this.closeTransport();
  }

  protected closeTransport(): void {
    try {
      this.transport.close();
    } catch (error) {
      this.board.log("warn", `mqtt: transport.close threw: ${errorName(error)}`);
    }
  }

  private linkDown(reason: OfflineReason, detail: string, retry: RetryKind, cause: SessionCause | undefined): void {
    const now = this.board.clock.now();
    this.stats.linkDowns++;
    this.outbox.linkDown();
    this.pingSentAt = -1;
    this.subscribeId = 0;
    this.decoder.reset();
    this.causeValue = cause;
    const wasUp = this.sessionUp;
    if (wasUp && now - this.onlineSince >= this.o.stableMs) this.retry.reset();
    const delay = this.retry.delay(retry);
    this.enterWait(retry === "transient" ? "backoff" : retry === "config" ? "needs-config" : "refused", delay);
    if (delay === NEVER) {
      this.board.log("warn", `mqtt: link down (${reason}${cause ? `, ${cause}` : ""}): waiting for a configuration change`);
    } else {
      this.board.log("info", `mqtt: link down (${reason}${cause ? `, ${cause}` : ""}), retry in ${this.phaseDeadline - now} ms`);
    }
    if (wasUp) {
      this.sessionUp = false;
      this.reporter.offline(reason, detail);
    }
  }

  protected enterWait(state: "backoff" | "refused" | "needs-config", delay: number): void {
    const now = this.board.clock.now();
    this.setState(state);
    // The login cap holds whatever the back-off says (OneNET: 3 per 5 s, a ban after 10).
    this.phaseDeadline = delay === NEVER ? NEVER : this.connectRate.earliest(now + delay);
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

  // ---- reporting ---------------------------------------------------------------------------

  protected setState(state: ClientState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.reporter.state(state);
  }

  private internalError(error: unknown): void {
    const detail = this.reporter.internalError(error);
    const state = this.currentState;
    if (state === "connecting" || state === "subscribing" || state === "online" || state === "opening") {
      this.closeLink("internal-error", detail, "transient", "internal-error");
    }
  }
}
