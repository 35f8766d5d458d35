/*
 * The ESP8266 itself: what the driver knows of the module and how it brings it up. Reset (the RST
 * pin when wired, else AT+RST) and `ready` (or a probe with AT), then the start-up commands in
 * INIT_ORDER, each only where it applies: the AT dialect (AT+GMR, AT+SYSSTORE), the receive mode
 * (AT+CIPRECVMODE=1 or AT+CIPMODE=1; passive falls back to active where it is missing), TLS
 * (AT+CIPSSLSIZE on 1.7, AT+CIPSSLCCONF, AT+CIPSSLCSNI/CCN on 2.x, SNTP for certificate dates).
 *
 * State: `phase` (down, resetting, init, ready), the dialect, the receive mode in use, and what
 * TLS verification the module agreed to since its last reset. Everything here is forgotten at a
 * reset but the dialect (a module does not change firmware by rebooting).
 */
import type { Clock, DigitalOutput, Log } from "../board.js";
import type { ReceiveMode } from "../config.js";
import { INIT_ORDER, TIMEOUTS, type Cmd } from "./commands.js";
import type { AtEngine } from "./engine.js";

export type Dialect = "1.7" | "2.x";
export type ModulePhase = "down" | "resetting" | "init" | "ready";

/** Hold the RST pin low this long. */
const RESET_PULSE_MS = 50;

export interface ModuleOptions {
  receiveMode: ReceiveMode;
  tls: boolean;
  tlsVerify?: boolean;
  tlsServerName?: string;
}

/** What the bring-up needs from the link policy that owns it. */
export interface ModuleOwner {
  /** Everything the module knew is gone (reset, or about to be): the link forgets its side too. */
  onModuleForgotten(): void;
  /** A start-up command that must succeed answered ERROR: the module is unusable as it is. */
  onInitFailed(cmd: Cmd): void;
  /** The module is ready (or a step finished): decide what comes next. */
  service(): void;
  /** Sends AT+RST (the owner knows whether a stray line must be ended first). */
  issueReset(): void;
  moduleStatus(status: "module-starting" | "module-ready", detail: string): void;
}

export class Esp8266Module {
  phase: ModulePhase = "down";
  dialect: Dialect | undefined;
  /** The receive mode in use (passive falls back to active on firmware without it). */
  mode: ReceiveMode;
  /** AT+CIPSSLCCONF=2 answered OK (or the module already said 2) since its last reset. */
  verifyOn = false;
  /** AT+CIPSSLCCN answered ERROR since the module's last reset (the name cannot be checked). */
  nameRefused = false;
  /** The module's SSL client mode as AT+CIPSSLCCONF? reported it (-1: unknown). */
  private sslMode = -1;
  private initIndex = 0;
  /** The reset pulse, or the wait for `ready` after it. */
  private waiting: "none" | "pulse" | "ready" = "none";
  private readonly timer;

  constructor(
    private readonly engine: AtEngine,
    private readonly options: ModuleOptions,
    private readonly resetPin: DigitalOutput | undefined,
    clock: Clock,
    private readonly log: Log,
    private readonly owner: ModuleOwner,
  ) {
    this.mode = options.receiveMode;
    this.timer = clock.createTimer(() => this.onTimer());
  }

  /** A reset pulse or the wait for `ready` is under way. */
  get waitingForBoot(): boolean {
    return this.waiting !== "none";
  }

  /** Forgets what a reset wipes. */
  forget(): void {
    this.verifyOn = false;
    this.sslMode = -1;
    this.nameRefused = false;
    this.mode = this.options.receiveMode;
  }

  stopWaiting(): void {
    this.waiting = "none";
    this.timer.cancel();
  }

  startReset(): void {
    this.phase = "resetting";
    this.owner.onModuleForgotten();
    this.owner.moduleStatus("module-starting", this.resetPin ? "reset pin" : "AT+RST");
    if (this.resetPin) {
      this.resetPin.write(0);
      this.wait("pulse", RESET_PULSE_MS);
    } else {
      this.owner.issueReset();
    }
  }

  /** AT+RST answered (OK, or ERROR from a confused module): the boot follows; wait for `ready`. */
  onResetAnswered(): void {
    this.wait("ready", TIMEOUTS.ready);
  }

  beginInit(): void {
    this.phase = "init";
    this.initIndex = 0;
    this.stopWaiting();
    this.owner.service();
  }

  /** Issues the next start-up command that applies; when none is left the module is ready. */
  nextInit(): void {
    const o = this.options;
    while (this.initIndex < INIT_ORDER.length) {
      const cmd = INIT_ORDER[this.initIndex++];
      if (cmd === "recvmode" && this.mode === "passive" && o.tls && this.dialect === "1.7") {
        // 1.7 reads passively over TCP only.
        this.mode = "active";
        this.log("warn", "at: passive receive is TCP-only on AT 1.7: using active receive for TLS");
      }
      if (cmd === "sslsni" && o.tls && o.tlsServerName && this.dialect === "1.7") {
        this.log("warn", "at: AT 1.7 sends no SNI and checks no certificate name: tlsServerName is not used");
      }
      if (this.applies(cmd)) {
        this.engine.issue(cmd, 0);
        return;
      }
    }
    this.phase = "ready";
    this.owner.moduleStatus("module-ready", "AT " + (this.dialect ?? "?") + ", " + this.mode + " receive");
    this.owner.service();
  }

  /**
   * A start-up command's result (`ok`: OK, else ERROR). Returns false for commands that are not
   * part of start-up. A required command's ERROR ends in onInitFailed and phase "down".
   */
  onInitResult(cmd: Cmd, ok: boolean): boolean {
    const r = this.engine.response;
    const o = this.options;
    switch (cmd) {
      case "probe":
        this.beginInit();
        return true;
      case "ate0":
        break;
      case "gmr":
        if (r.version >= 2) this.dialect = "2.x";
        else if (r.version >= 0) this.dialect = "1.7";
        else this.dialect = undefined;
        break;
      case "sysstore":
        if (!this.dialect) this.dialect = ok ? "2.x" : "1.7";
        break;
      case "recvmode":
        if (!ok) {
          this.mode = "active";
          this.log("warn", "at: AT+CIPRECVMODE unsupported: using active receive");
        }
        break;
      case "sslquery":
        this.sslMode = ok ? r.sslMode : -1;
        this.verifyOn = o.tlsVerify === true && this.sslMode === 2;
        break;
      case "sslsni":
        if (!ok) this.log("warn", "at: AT+CIPSSLCSNI answered ERROR: the TLS server name is not sent as SNI");
        break;
      case "sntp":
        if (!ok) this.log("warn", "at: AT+CIPSNTPCFG answered ERROR: the module's clock stays unset (a build that checks certificate dates will refuse)");
        break;
      case "sslccn":
        if (!ok && o.tlsVerify) {
          this.nameRefused = true;
          this.log("error", "at: AT+CIPSSLCCN answered ERROR: the certificate name cannot be checked against tlsServerName");
        }
        break;
      case "sslconf":
        this.verifyOn = ok && o.tlsVerify === true;
        if (!ok && o.tlsVerify) this.log("error", "at: AT+CIPSSLCCONF=2 answered ERROR: this AT firmware cannot verify server certificates");
        // Without verification an ERROR means there is nothing to turn off.
        break;
      case "cwmode":
      case "cipmux":
      case "cipmode":
      case "sslsize":
        if (!ok) {
          this.phase = "down";
          this.owner.onInitFailed(cmd);
          return true;
        }
        break;
      default:
        return false;
    }
    if (this.phase === "init") this.nextInit();
    else this.owner.service();
    return true;
  }

  private applies(cmd: Cmd): boolean {
    const o = this.options;
    switch (cmd) {
      case "sysstore":
        return this.dialect !== "1.7";
      case "recvmode":
        return this.mode === "passive";
      case "cipmode":
        return this.mode === "transparent";
      case "sslsize":
        return o.tls && this.dialect === "1.7";
      case "sslquery":
        return o.tls;
      case "sslconf":
        // Both families may write the mode to flash on every set: only when it must change.
        return o.tls && this.sslMode !== (o.tlsVerify ? 2 : 0);
      case "sslsni":
      case "sslccn":
        return o.tls && !!o.tlsServerName && this.dialect === "2.x";
      case "sntp":
        return o.tls && o.tlsVerify === true;
      default:
        return true;
    }
  }

  private wait(what: "pulse" | "ready", ms: number): void {
    this.waiting = what;
    this.timer.schedule(ms);
  }

  private onTimer(): void {
    const what = this.waiting;
    this.waiting = "none";
    if (what === "pulse") {
      this.resetPin?.write(1);
      this.wait("ready", TIMEOUTS.ready);
    } else if (what === "ready") {
      // No `ready` (missed, or a different baud at boot): ask the module directly.
      this.phase = "init";
      this.engine.issue("probe", 0);
    }
  }
}
