/*
 * The ESP8266 link policy: what to do next, derived from state (no queue of objects), and what
 * each answer and unsolicited line means. It drives the command engine (engine.ts) and the module
 * bring-up (module.ts): WiFi join (AT+CWJAP), the TCP or SSL link (AT+CIPSTART, with TLS
 * verification refused rather than skipped), sending (AT+CIPSEND=<n> chunks of the TX ring, or the
 * raw stream in transparent mode), the three receive modes (active +IPD, passive AT+CIPRECVDATA
 * on +IPD,<n> notices, transparent), closing, and recovery.
 *
 * State: what the driver knows of the WiFi and of the module's link (`onModule`, and whether it
 * belongs to the current session, `forSession`), the passive read (`recvWanted`), and the wait
 * for a refused CIPSTART's CLOSED (`verdict`); transparent mode and its `+++` escape are
 * transparent.ts's. The session (idle, opening, open) is the facade's (driver.ts), reached
 * through LinkSession (session.ts).
 *
 * Recovery: an unsolicited `ready` re-inits from ATE0 (the module just booted); three silent
 * timeouts in a row mark it unresponsive and reset it. Link loss is reported through the session
 * with its reason and named cause; the session owns the back-off and opens again. In passive mode
 * a CLOSED is reported only after the data still buffered in the module (the server's last words)
 * has been read and delivered. In transparent mode the module's own lines (`ready`, `WIFI
 * DISCONNECT`, `CLOSED`) are found where the session cannot parse the stream, and in bytes that
 * arrive while no session takes them (during the `+++` escape): a reset is then seen at once.
 */
import type { Board, Clock, Log } from "../board.js";
import { utf8Length } from "../bytes.js";
import type { Cmd } from "./commands.js";
import { AtEngine, type CmdPhase, type DataReceiver, type EngineOwner } from "./engine.js";
import { cwjapError, type AtError } from "./errors.js";
import { Esp8266Module, type ModuleOwner } from "./module.js";
import type { LinkOptions, LinkSession, LinkStats } from "./session.js";
import { TransparentMode, type TransparentOwner } from "./transparent.js";
import type { TxRing } from "./tx-ring.js";
import type { Urc } from "./urc.js";

/** Largest AT+CIPSEND the module accepts. */
export const MAX_SEND_CHUNK = 2048;

/** After CIPSTART's bare ERROR, how long a following CLOSED still means "refused". */
const VERDICT_MS = 200;
const MAX_CONNECT_FAILURES = 3;
const MAX_RESETS_PER_OPEN = 3;

export class Esp8266Link implements EngineOwner, ModuleOwner, TransparentOwner {
  readonly engine: AtEngine;
  readonly module: Esp8266Module;
  private readonly transparent: TransparentMode;
  wifi = false;
  /** WiFi was joined by us since the module's last reset (so WIFI GOT IP means it is back). */
  private joined = false;
  /** The module has (or may have) a TCP/SSL link open. */
  private onModule = false;
  /** That link belongs to the current session (else it is stale: flush and close it). */
  forSession = false;
  private recvWanted = false;
  /** A +IPD,<n> notification came after the last AT+CIPRECVDATA went out: read again after it. */
  private notifiedSinceRead = false;
  /** Passive mode: the peer closed while data still waits in the module. */
  private peerClosed = false;
  private alreadyRetried = false;
  private connectFailures = 0;
  private resetsThisOpen = 0;
  /** The module stopped answering without a session: re-init once on our own. */
  private recoverPending = false;
  /** CIPSTART answered a bare ERROR: a CLOSED within VERDICT_MS means refused. */
  private verdict = false;
  private readonly timer;
  private readonly log: Log;

  constructor(
    board: Pick<Board, "openSerial" | "moduleReset"> & { clock: Clock; log: Log },
    private readonly options: LinkOptions,
    private readonly stats: LinkStats,
    private readonly ring: TxRing,
    private readonly session: LinkSession,
    receiver: DataReceiver,
  ) {
    this.log = board.log;
    this.engine = new AtEngine(board, stats, options, ring, this, receiver);
    this.module = new Esp8266Module(this.engine, options, board.moduleReset, board.clock, board.log, this);
    this.transparent = new TransparentMode(this.engine, board.clock, this);
    this.timer = board.clock.createTimer(() => this.onVerdict());
  }

  /** A new open(): its own budget of retries. */
  onOpenRequested(): void {
    this.alreadyRetried = false;
    this.resetsThisOpen = 0;
  }

  /** The session ends: its link is no longer wanted; unless `keep`, its queued bytes go too. */
  onSessionEnded(keep: boolean): void {
    if (!keep) this.dropQueued();
    this.forSession = false;
  }

  // ---- what to do next ----

  service(): void {
    if (!this.engine.idle || this.module.waitingForBoot || this.verdict || this.transparent.escaping) return;
    const module = this.module;
    switch (module.phase) {
      case "down":
        if (this.session.state === "opening" || this.recoverPending) {
          this.recoverPending = false;
          module.startReset();
        }
        return;
      case "resetting":
        return;
      case "init":
        module.nextInit();
        return;
      case "ready":
        break;
    }
    const state = this.session.state;
    if (this.peerClosed) {
      if (this.recvWanted && state === "open") {
        this.readData();
        return;
      }
      this.peerClosed = false;
      this.recvWanted = false;
      if (state === "open" && this.forSession) this.session.ended("closed-by-peer", "closed-by-peer", "CLOSED: the server closed the link");
    }
    if (this.transparent.on) {
      if (this.session.state === "open" && this.forSession) {
        this.engine.pump();
        return;
      }
      if (this.engine.writing || this.ring.used > 0) {
        // Flush the closing session's last bytes (its MQTT DISCONNECT) before leaving passthrough.
        this.engine.pump();
        return;
      }
      this.transparent.escape(false);
      return;
    }
    if (this.onModule) {
      if (module.mode === "passive" && this.recvWanted) {
        this.readData();
        return;
      }
      if (this.ring.used > 0) {
        this.engine.issue("cipsend", Math.min(this.ring.used, MAX_SEND_CHUNK));
        return;
      }
      if (!this.forSession) {
        this.engine.issue("cipclose", 0);
        return;
      }
      if (this.session.state === "opening" && module.mode === "transparent") this.engine.issue("passthrough", 0);
      return;
    }
    if (this.session.state !== "opening") return;
    if (!this.wifi) {
      this.joinWifi();
      return;
    }
    const o = this.options;
    if (o.tls && o.tlsVerify && !module.verifyOn) {
      // Refused here rather than connecting unverified: the token would go to whoever answers.
      this.session.ended("connect-failed", "tls-verify-unsupported", "tls-verify-unsupported: AT+CIPSSLCCONF=2 answered ERROR");
      return;
    }
    if (module.nameRefused) {
      this.session.ended("connect-failed", "tls-server-name-unsupported", "tls-server-name-unsupported: AT+CIPSSLCCN answered ERROR");
      return;
    }
    this.session.status("link-opening", o.host);
    this.engine.issue("cipstart", 0);
  }

  private readData(): void {
    this.engine.issue("recvdata", this.engine.rxSize);
    this.notifiedSinceRead = false;
  }

  private joinWifi(): void {
    const { ssid, password } = this.options;
    let problem = "";
    const ssidBytes = utf8Length(ssid);
    const passwordBytes = utf8Length(password);
    if (ssidBytes < 0 || passwordBytes < 0) problem = "ssid and password must be text (a lone UTF-16 surrogate is not)";
    else if (ssidBytes === 0 || ssidBytes > 32) problem = "ssid must be 1-32 bytes";
    else if (passwordBytes > 64) problem = "password must be at most 64 bytes";
    if (problem) {
      this.session.ended("wifi-join-failed", "config-invalid", "config-invalid: " + problem);
      return;
    }
    this.session.status("wifi-joining", ssid);
    this.engine.issue("cwjap", 0);
  }

  /** Forgets queued TX bytes, except a chunk the module is already taking (it expects exactly n). */
  private dropQueued(): void {
    if (this.engine.cmd === "cipsend") {
      this.ring.keepOnly(this.engine.response.sendLength);
    } else {
      this.ring.keepOnly(0);
      if (this.transparent.on) this.ring.pending = 0;
    }
  }

  /** Everything the module knew is gone (reset, or about to be). */
  private forgetModule(): void {
    this.engine.setRaw(false, false);
    this.transparent.forget();
    this.wifi = false;
    this.joined = false;
    this.onModule = false;
    this.forSession = false;
    this.recvWanted = false;
    this.peerClosed = false;
    this.module.forget();
    this.ring.clear();
    this.engine.forget();
  }

  // ---- ModuleOwner ----

  onModuleForgotten(): void {
    this.stats.moduleResets++;
    this.forgetModule();
  }

  onInitFailed(cmd: Cmd): void {
    this.session.ended("connect-failed", "init-failed", "init-failed: " + cmd + " answered ERROR");
  }

  moduleStatus(status: "module-starting" | "module-ready", detail: string): void {
    this.session.status(status, detail);
  }

  issueReset(): void {
    this.engine.issue("rst", 0);
  }

  // ---- results (EngineOwner) ----

  onResult(cmd: Cmd, ok: boolean): void {
    if (this.module.onInitResult(cmd, ok)) return;
    const r = this.engine.response;
    switch (cmd) {
      case "rst":
        this.module.onResetAnswered();
        return;
      case "cwjap":
        if (ok) {
          this.wifi = true;
          this.joined = true;
          this.session.status("wifi-up", this.options.ssid);
        } else {
          const error = r.cwjapCode >= 0 ? cwjapError(r.cwjapCode) : "wifi-join-failed";
          this.session.ended("wifi-join-failed", error, error + (r.cwjapCode >= 0 ? " (+CWJAP:" + r.cwjapCode + ")" : ""));
        }
        this.service();
        return;
      case "cipstart":
        this.onCipstart(ok);
        return;
      case "cipclose":
        // OK, CLOSED+OK, or UNLINK+ERROR (already closed): the link is gone either way.
        this.onModule = false;
        this.forSession = false;
        this.recvWanted = false;
        break;
      case "cipsend":
        // ERROR before the prompt: no link (1.7 says `link is not valid` first).
        if (r.linkInvalid) this.onModule = false;
        this.session.ended("send-failed", "link-invalid", r.linkInvalid ? "link is not valid" : "CIPSEND answered ERROR");
        break;
      case "passthrough":
        // The module forgot CIPMODE=1 (it reset unseen, its `ready` read as passthrough data): start over.
        this.module.phase = "down";
        this.session.ended("connect-failed", "link-invalid", "AT+CIPSEND (passthrough) answered ERROR");
        return;
      case "recvdata":
        // Data that reached the module while this read was under way is announced by a new
        // notification, often before this read's answer: it must not be forgotten.
        this.recvWanted = ok && ((r.recvGot >= r.recvRequested && r.recvRequested > 0) || this.notifiedSinceRead);
        break;
      default:
        return;
    }
    if (this.module.phase === "init") this.module.nextInit();
    else this.service();
  }

  private onCipstart(ok: boolean): void {
    const r = this.engine.response;
    if (ok) {
      this.onModule = true;
      this.alreadyRetried = false;
      if (this.session.state === "opening") {
        this.forSession = true;
        if (this.module.mode !== "transparent") this.session.opened();
      } else {
        this.forSession = false;
      }
      this.service();
      return;
    }
    if (r.alreadyConnected && !this.alreadyRetried) {
      // A link left over from before: close it, then start ours.
      this.alreadyRetried = true;
      this.onModule = true;
      this.forSession = false;
      this.service();
      return;
    }
    if (r.noIp) this.wifi = false;
    let error: AtError | undefined;
    if (r.noIp) error = "no-ip";
    else if (r.dnsFail) error = "dns-failed";
    else if (r.closed) error = this.options.tls ? "tls-connect-failed" : "connect-refused";
    else if (r.alreadyConnected) error = "connect-failed";
    if (error) {
      this.connectFailed(error);
      return;
    }
    // 1.7 reports a refused connection as ERROR then CLOSED: wait briefly for the CLOSED.
    r.closed = false;
    this.verdict = true;
    this.timer.schedule(VERDICT_MS);
  }

  private connectFailed(error: AtError): void {
    if (++this.connectFailures >= MAX_CONNECT_FAILURES) {
      // Something in the module may be wedged: start from the top next time.
      this.connectFailures = 0;
      this.module.phase = "down";
    }
    this.session.ended("connect-failed", error, error + " (" + this.options.host + ":" + this.options.port + ")");
    this.service();
  }

  onSendDone(ok: boolean): void {
    if (!ok) this.session.ended("send-failed", "send-failed", "SEND FAIL");
    this.service();
  }

  /** A command failed without a result of its own (timeout, busy). */
  private fail(error: AtError, detail: string): void {
    const engine = this.engine;
    const cmd = engine.cmd;
    if (cmd === "cipsend") {
      engine.completeSend();
      this.session.ended("send-failed", error, error);
      this.service();
      return;
    }
    engine.finish();
    switch (cmd) {
      case "cwjap":
        this.session.ended("wifi-join-failed", error, detail);
        break;
      case "cipstart":
      case "passthrough":
        this.onModule = true; // unknown: close before the next try
        this.forSession = false;
        this.connectFailed(error);
        return;
      case "recvdata":
        this.recvWanted = false;
        break;
      case "cipclose":
        this.onModule = false;
        break;
      default:
        this.module.phase = "down";
        this.session.ended("connect-failed", error, detail);
        break;
    }
    this.service();
  }

  onTimeout(cmd: Cmd, phase: CmdPhase): void {
    switch (cmd) {
      case "rst":
        // No answer to AT+RST: the module may sit in passthrough; leave it with `+++`, retry.
        this.engine.finish();
        this.transparent.escape(true);
        return;
      case "cwjap":
        this.fail("wifi-timeout", "wifi-timeout: no answer to AT+CWJAP");
        return;
      case "cipstart":
      case "passthrough":
        this.fail("connect-timeout", "connect-timeout: no answer to AT+CIPSTART");
        return;
      case "cipsend":
        this.fail("send-timeout", phase === "data" ? "send-timeout: no SEND OK" : "send-timeout: no prompt");
        return;
      case "recvdata":
      case "cipclose":
        this.fail("timeout", "timeout: " + cmd);
        return;
      default:
        // Init commands and probes are harmless to repeat.
        this.engine.resend();
        return;
    }
  }

  onBusyExhausted(_cmd: Cmd): void {
    this.fail("busy", "the module stays busy");
  }

  onUnresponsive(): void {
    const hadSession = this.session.state !== "idle";
    this.module.phase = "down";
    this.forgetModule();
    this.session.noteError("module-not-responding");
    this.log("error", "at: the module is not responding");
    if (hadSession) this.session.ended("module-unresponsive", "module-not-responding", "module-not-responding");
    // Re-init once on our own; after that, the next open() tries again.
    this.recoverPending = hadSession;
    this.service();
  }

  onPassthroughPrompt(): void {
    this.transparent.entered();
    if (this.session.state === "opening" && this.onModule) this.session.opened();
    this.service();
  }

  onOutputIdle(): void {
    if (!this.transparent.on || this.transparent.escaping || this.verdict) return;
    if (this.ring.used > 0 && this.engine.idle) {
      this.ring.beginOutput(this.ring.used);
      return;
    }
    // A closing passthrough link has written its last bytes: time for `+++`.
    if (!(this.session.state === "open" && this.forSession)) this.session.kick();
  }

  // ---- unsolicited lines (UrcTarget) ----

  onModuleReady(): void {
    const module = this.module;
    if (module.phase === "resetting") {
      if (this.engine.cmd === "rst") this.engine.finish();
      this.engine.heard();
      module.beginInit();
      return;
    }
    if (!this.session.everOpened) return;
    // The module rebooted by itself: all its state is gone.
    this.stats.moduleResets++;
    this.engine.finish();
    this.verdict = false;
    this.timer.cancel();
    this.transparent.cancel();
    module.stopWaiting();
    const hadLink = this.session.state === "open";
    this.forgetModule();
    this.session.status("module-starting", "module reset by itself");
    if (hadLink) {
      this.session.ended("module-reset", "module-reset", "the module reset (ready)");
    } else if (this.session.state === "opening" && ++this.resetsThisOpen > MAX_RESETS_PER_OPEN) {
      this.session.ended("module-reset", "module-reset", "the module keeps resetting (power supply?)");
    }
    module.beginInit();
  }

  onWifiDisconnect(): void {
    const wasUp = this.wifi;
    this.wifi = false;
    if (this.engine.cmd === "cwjap") return; // part of joining
    if (wasUp) this.session.status("wifi-down", this.options.ssid);
    if (this.session.state === "open") this.session.ended("wifi-lost", "wifi-lost", "WIFI DISCONNECT");
  }

  onWifiGotIp(): void {
    if (this.joined && !this.wifi) {
      this.wifi = true;
      this.session.status("wifi-up", this.options.ssid);
    }
  }

  onPeerClosed(): void {
    const cmd = this.engine.cmd;
    if (cmd === "cipstart" || cmd === "cipclose") return;
    if (this.verdict) return;
    if (!this.onModule) return;
    this.onModule = false;
    const open = this.session.state === "open" && this.forSession;
    if (this.module.mode === "passive" && this.recvWanted && open) {
      // The server's last words (an MQTT CONNACK refusal, say) wait in the module: read them
      // first, then report the close (service()).
      this.peerClosed = true;
      this.service();
      return;
    }
    this.recvWanted = false;
    if (open) this.session.ended("closed-by-peer", "closed-by-peer", "CLOSED: the server closed the link");
    else this.forSession = false;
    this.dropQueued();
  }

  onDataWaiting(n: number): void {
    if (this.module.mode === "passive" && this.onModule && n > 0) {
      this.recvWanted = true;
      this.notifiedSinceRead = true;
      this.service();
    }
  }

  // ---- transparent mode (TransparentOwner) ----

  /** The session could not parse bytes of a transparent link (see Transport.unparsable). */
  unparsable(bytes: Uint8Array, offset: number, length: number): boolean {
    if (!this.transparent.on || this.session.state !== "open") return false;
    return this.transparent.unparsable(bytes, offset, length);
  }

  /** Raw bytes no session took (the link is closing, or escaping). */
  strayBytes(bytes: Uint8Array, offset: number, length: number): void {
    if (this.transparent.on) this.transparent.stray(bytes, offset, length);
  }

  onStreamLine(urc: Urc, bytes: Uint8Array, after: number, rest: number): void {
    // The module's lines only come out of transparent mode: what follows is lines, not data.
    this.engine.setRaw(false, false);
    urc.handle(this, -1);
    if (this.transparent.on) {
      // WIFI DISCONNECT or CLOSED: the module may still be in transparent mode, so the link is
      // left through the escape as always.
      this.transparent.resume();
      this.session.kick();
      return;
    }
    if (rest > 0) this.engine.parser.feed(bytes, after, rest);
  }

  onEscaped(thenReset: boolean): void {
    if (this.transparent.garbled) {
      // No `ready` came during the escape: the garbage was just garbage.
      this.transparent.garbled = false;
      if (this.session.closeRequested) this.session.kick();
    }
    // After a `+++` that may have met a module in command mode, end that stray line first.
    if (thenReset) this.engine.issue("rst", 0, true);
    else this.service();
  }

  /** The session's close, held while a garbled transparent link escapes (see unparsable). */
  get holdingClose(): boolean {
    return this.transparent.garbled;
  }

  /** Stops delivering to the session and leaves transparent mode (its close is held meanwhile). */
  startEscape(): void {
    this.forSession = false;
    this.service();
  }

  private onVerdict(): void {
    if (!this.verdict) return;
    this.verdict = false;
    const r = this.engine.response;
    if (!r.closed) {
      // 2.x says only ERROR, also when an old link is still open: close before the next try.
      this.onModule = true;
      this.forSession = false;
    }
    this.connectFailed(this.options.tls ? "tls-connect-failed" : r.closed ? "connect-refused" : "connect-failed");
  }
}
