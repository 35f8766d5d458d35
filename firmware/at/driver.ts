/*
 * ESP8266 AT driver: the firmware's Transport over an ESP8266 running Espressif AT firmware
 * (NonOS AT 1.7.x or ESP-AT 2.x), on the UART of the board seam. This file is the thin facade:
 * the session (idle, opening, open) and the Transport calls; the work is done by
 *   engine.ts   the command engine: UART both ways, parser, one command in flight, busy back-off
 *   tx-ring.ts  the transmit queue
 *   urc.ts      the table of unsolicited lines
 *   module.ts   the module: reset, start-up commands, dialect, receive mode, TLS capabilities
 *   link.ts     the policy: WiFi, the TCP/SSL link, sending, the receive modes, recovery
 *   transparent.ts  transparent mode: the `+++` escape, the module's own lines in the stream
 *   session.ts  the types the facade and the policy share
 *
 * Public API (others code against it):
 *   new Esp8266Driver(board: Pick<Board, "openSerial"|"clock"|"log"|"moduleReset">, options: Esp8266Options)
 *   implements Transport: open(events), send(bytes, off, len), sendSpace, close(), unparsable(...)
 *   readonly dialect: "1.7" | "2.x" | undefined      (from AT+GMR / AT+SYSSTORE)
 *   readonly receiveMode: the mode in use (passive falls back to active where unsupported)
 *   readonly stats: Esp8266Stats (UART bytes both ways, payload bytes, commands, timeouts, ...)
 *   readonly lastError: AtError | undefined           (named cause of the last failure)
 *   readonly linkUp, wifiUp, moduleReady: booleans for UIs and tests
 *   setWifi(ssid, password)                           new credentials, used from the next join
 *
 * Every close reaches the session with its reason and its named cause (onClose's third
 * argument), so the session can tell a dropped link from a wrong WiFi password. Data that
 * arrives before onOpen (a server speaking first) is dropped and counted in stats.droppedBytes.
 * The WiFi password never reaches a log or trace: CWJAP lines are redacted.
 */
import type { Board, BoardTimer, Log } from "../board.js";
import type { ReceiveMode } from "../config.js";
import type { LinkDownReason, Transport, TransportEvents } from "../transport.js";
import type { AtError } from "./errors.js";
import { Esp8266Link } from "./link.js";
import type { LinkSession, LinkSettings, LinkStats, LinkStatus, SessionState } from "./session.js";
import type { Dialect } from "./module.js";
import { TxRing } from "./tx-ring.js";

export type { AtError } from "./errors.js";
export { TIMEOUTS } from "./commands.js";
export { MAX_SEND_CHUNK } from "./link.js";
export type { LinkStatus } from "./session.js";
export type { Dialect } from "./module.js";

export interface Esp8266Options extends LinkSettings {
  /** TX ring size in bytes (default 2048). Transport.send refuses what does not fit. */
  txBufferSize?: number;
  /** UART read buffer, and the most one AT+CIPRECVDATA asks for (default 512). */
  rxChunkSize?: number;
  onStatus?: (status: LinkStatus, detail: string) => void;
}

export interface Esp8266Stats extends LinkStats {
  uartBytesWritten: number;
  uartBytesRead: number;
  /** Payload bytes the module confirmed (SEND OK) or, in transparent mode, written raw. */
  payloadBytesSent: number;
  /** Payload bytes handed to onData. */
  payloadBytesReceived: number;
  /** Payload bytes received while no session could take them. */
  droppedBytes: number;
  commands: number;
  timeouts: number;
  busyRetries: number;
  /** Resets we made plus resets the module made by itself. */
  moduleResets: number;
  /** Lines discarded as garbage (too long). */
  parserOverflows: number;
  /** Unsolicited lines no entry of the URC table knows: ignored. */
  unknownLines: number;
}

export class Esp8266Driver implements Transport, LinkSession {
  readonly stats: Esp8266Stats = {
    uartBytesWritten: 0,
    uartBytesRead: 0,
    payloadBytesSent: 0,
    payloadBytesReceived: 0,
    droppedBytes: 0,
    commands: 0,
    timeouts: 0,
    busyRetries: 0,
    moduleResets: 0,
    parserOverflows: 0,
    unknownLines: 0,
  };

  private readonly options: Esp8266Options;
  private readonly log: Log;
  private readonly ring: TxRing;
  private readonly link: Esp8266Link;
  private readonly kickTimer: BoardTimer;
  private sessionState: SessionState = "idle";
  private events: TransportEvents | undefined;
  private closing = false;
  private opened_ = false;
  private lastErrorValue: AtError | undefined;

  constructor(board: Pick<Board, "openSerial" | "clock" | "log" | "moduleReset">, options: Esp8266Options) {
    // A copy, shared with the link and the engine: setWifi() may change the credentials later.
    const linkOptions = { ...options, rxChunkSize: Math.max(16, options.rxChunkSize ?? 512) };
    this.options = linkOptions;
    this.log = board.log;
    this.ring = new TxRing(Math.max(16, options.txBufferSize ?? 2048));
    this.link = new Esp8266Link(board, linkOptions, this.stats, this.ring, this, this);
    this.kickTimer = board.clock.createTimer(() => this.onKick());
  }

  /** The named cause of the last failure (cleared by open()). */
  get lastError(): AtError | undefined {
    return this.lastErrorValue;
  }
  get dialect(): Dialect | undefined {
    return this.link.module.dialect;
  }
  /** The receive mode in use (passive falls back to active on firmware without it). */
  get receiveMode(): ReceiveMode {
    return this.link.module.mode;
  }
  get linkUp(): boolean {
    return this.sessionState === "open";
  }
  get wifiUp(): boolean {
    return this.link.wifi;
  }
  get moduleReady(): boolean {
    return this.link.module.phase === "ready";
  }
  get sendSpace(): number {
    return this.sessionState === "open" && !this.closing ? this.ring.free : 0;
  }

  /**
   * New WiFi credentials (the user fixed a wrong password): used from the next join. A joined
   * module keeps its network until the link is lost.
   */
  setWifi(ssid: string, password: string): void {
    this.options.ssid = ssid;
    this.options.password = password;
  }

  // ---- Transport ----

  open(events: TransportEvents): void {
    if (this.sessionState !== "idle") {
      this.log("warn", "at: open() while a link is open or opening: ignored");
      return;
    }
    this.events = events;
    this.sessionState = "opening";
    this.opened_ = true;
    this.link.onOpenRequested();
    this.lastErrorValue = undefined;
    this.status("link-opening", this.options.host);
    this.kick();
  }

  send(bytes: Uint8Array, offset: number, length: number): boolean {
    if (this.sessionState !== "open" || this.closing) return false;
    if (!this.ring.push(bytes, offset, length)) return false;
    this.kick();
    return true;
  }

  close(): void {
    if (this.sessionState === "idle" || this.closing) return;
    this.closing = true;
    this.kick();
  }

  unparsable(bytes: Uint8Array, offset: number, length: number): boolean {
    return this.link.unparsable(bytes, offset, length);
  }

  // ---- LinkSession (the policy's view of the session) ----

  get state(): SessionState {
    return this.sessionState;
  }
  get closeRequested(): boolean {
    return this.closing;
  }
  get everOpened(): boolean {
    return this.opened_;
  }

  kick(): void {
    this.kickTimer.schedule(0);
  }

  status(status: LinkStatus, detail: string): void {
    const cb = this.options.onStatus;
    if (!cb) return;
    try {
      cb(status, detail);
    } catch {
      this.log("error", "at: onStatus threw");
    }
  }

  noteError(error: AtError): void {
    this.lastErrorValue = error;
  }

  opened(): void {
    this.sessionState = "open";
    this.link.forSession = true;
    this.status("link-up", this.options.host);
    try {
      this.events?.onOpen();
    } catch {
      this.log("error", "at: onOpen threw");
    }
  }

  ended(reason: LinkDownReason, error: AtError | undefined, detail: string, keep = false): void {
    this.link.onSessionEnded(keep);
    if (error) this.lastErrorValue = error;
    if (this.sessionState === "idle") return;
    this.sessionState = "idle";
    this.closing = false;
    this.log(reason === "closed-by-us" ? "info" : "warn", "at: link down: " + reason + ": " + detail);
    this.status("link-down", reason + ": " + detail);
    const events = this.events;
    if (!events) return;
    try {
      events.onClose(reason, detail, error);
    } catch {
      this.log("error", "at: onClose threw");
    }
  }

  // ---- data from the engine (DataReceiver) ----

  deliver(bytes: Uint8Array, offset: number, length: number): void {
    if (this.sessionState !== "open" || !this.link.forSession || this.closing) {
      this.stats.droppedBytes += length;
      this.link.strayBytes(bytes, offset, length);
      return;
    }
    this.stats.payloadBytesReceived += length;
    try {
      this.events?.onData(bytes, offset, length);
    } catch {
      this.log("error", "at: onData threw");
    }
  }

  private onKick(): void {
    if (this.closing) {
      if (this.link.holdingClose) {
        // The stream was garbage: leave transparent mode first; a `ready` on the way decides.
        this.link.startEscape();
        return;
      }
      this.closing = false;
      this.ended("closed-by-us", undefined, "closed by the application", true);
    }
    this.link.service();
  }
}
