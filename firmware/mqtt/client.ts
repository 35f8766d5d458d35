/*
 * The MQTT 3.1.1 session: CONNECT (fresh password each time), SUBSCRIBE, QoS 0/1/2 both ways,
 * keepalive, and reconnect with a back-off chosen by the cause, over any Transport (the ESP8266
 * AT driver on a board).
 *
 * Public API (the application is written against this):
 *
 *   const client = new MqttClient(board, transport, options, handler);
 *   client.start();                       // opens the link; reconnects by itself until stop()
 *   client.publish(topic, payload, payloadOffset, payloadLength, qos, retain?): PublishResult
 *   client.lastPacketId                   // id given to the last accepted QoS 1/2 message
 *   client.lastPublishError               // encoder error code behind the last "invalid"
 *   client.stop();                        // DISCONNECT when online, close, no more reconnects
 *   client.retryNow();                    // leave an offline wait at once (the configuration changed)
 *   client.state / client.cause / client.online / client.stats / client.inflight
 *
 * Options, handler and every named value are in client-types.ts; the options are checked in
 * client-options.ts; the state machine is client-session.ts, outbound messages client-outbox.ts.
 * Handler contract:
 * - onOnline() after CONNACK 0 and a checked SUBACK (a 0x80 refusal is reported by topic through
 *   onError("suback-refused", topic) first; the session still goes online for the rest).
 * - onOffline(reason, detail) exactly once after each onOnline, when that session ends.
 * - onError(code, detail) for everything else, including each failed attempt ("connect-failed"
 *   with the transport's reason); details never carry the password.
 * - onMessage(packet, buffer): views valid during the call only; publish() may be called from it.
 * - Every callback may throw or call start()/stop()/publish(): the session stays consistent.
 *
 * Retry policy (client-backoff.ts RetryPolicy; each delay jittered to 50..100 % of its step, then
 * held back by the login cap): the transport's cause (onClose's third argument) or the session's
 * own error picks the wait, and the state names it:
 *   "backoff"       link lost, failed open, CONNACK 3, timeouts, protocol errors: 1 s doubling to 60 s
 *   "refused"       wrong WiFi password, no such access point: 30 s doubling to 4 min;
 *                   CONNACK 1, 2, 4, 5, no password, CONNECT too large: 2 min doubling to 30 min
 *   "needs-config"  settings no retry can cure (config-invalid: the SSID or password cannot be sent): no
 *                   timer; retryNow() (after the configuration changed) or stop()/start()
 *   every back-off starts over once a session has stayed online stableMs (30 s), so a flapping
 *   broker keeps pushing the delay up instead of being hit every second.
 *
 * Guarantees:
 * - A QoS 1/2 message accepted by publish() ("sent" or "queued") stays in its fixed slot until
 *   PUBACK / PUBCOMP: it is sent again with DUP after every reconnect (and after retransmitMs
 *   without an ack) and survives any number of link losses. stop() keeps it too.
 * - Whatever happens, at most connectRate.count CONNECTs go out in any connectRate.windowMs
 *   (default 3 per 6 s: OneNET refuses a 4th login in 5 s, counted on arrival).
 * - PINGREQ goes out after 0.75 x keepalive of silence in either direction, so the server (which
 *   drops at 1.5 x keepalive) never sees a gap longer than the keepalive; no packet within
 *   pingTimeoutMs after it means the link is dead: it is closed and reopened.
 * - Nothing throws out of transport or timer callbacks: failures are reported through
 *   handler.onError and the session recovers. Handler exceptions are caught and reported.
 * - All memory is allocated in the constructor; one timer, rescheduled. The password is never
 *   logged and its copies are zeroed once the CONNECT has been handed to the transport.
 */
import type { Transport } from "../transport.js";
import { MqttSession, NEVER, CLOSE_TIMEOUT_MS, waiting, type ClientBoard } from "./client-session.js";
import type { ClientState, MqttClientHandler, MqttClientOptions, PublishResult, SessionCause, TopicBytes } from "./client-types.js";
import { encodeDisconnect } from "./encode.js";

export type * from "./client-types.js";
export { ClientStats } from "./client-types.js";
export { MqttClientConfigError } from "./client-options.js";
export type { ClientBoard } from "./client-session.js";

export class MqttClient extends MqttSession {
  constructor(board: ClientBoard, transport: Transport, options: MqttClientOptions, handler: MqttClientHandler) {
    super(board, transport, options, handler);
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** The named cause of the last failed attempt or lost session (undefined once online again). */
  get cause(): SessionCause | undefined {
    return this.causeValue;
  }

  get online(): boolean {
    return this.currentState === "online";
  }

  get lastPacketId(): number {
    return this.outbox.lastPacketId;
  }

  get lastPublishError(): string {
    return this.outbox.lastPublishError;
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
      this.closeRetry = "transient";
      this.closeCause = undefined;
      this.setState("closing");
      this.phaseDeadline = now + CLOSE_TIMEOUT_MS;
      this.armTimer();
      return;
    }
    const at = this.connectRate.earliest(now);
    if (at > now) this.enterWait("backoff", at - now);
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
      this.reporter.offline("stopped", "stop() called");
    }
  }

  /**
   * Leaves an offline wait now ("backoff", "refused" or "needs-config"), starting every back-off
   * over: for after the configuration changed (the WiFi password was fixed). The login cap holds.
   */
  retryNow(): void {
    // New settings have to prove themselves again.
    this.networkProven = false;
    if (!waiting(this.currentState)) return;
    this.retry.reset();
    this.enterWait("backoff", 0);
    this.armTimerNow();
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
    const result = this.outbox.publish(topic, payload, payloadOffset, payloadLength, qos, retain, this.subscribeId);
    if (qos !== 0) this.armTimer();
    return result;
  }
}
