/*
 * ESP8266 AT driver: the firmware's Transport over an ESP8266 running Espressif AT firmware
 * (NonOS AT 1.7.x or ESP-AT 2.x), on the UART of the board seam.
 *
 * Public API (others code against it):
 *   new Esp8266Driver(board: Pick<Board, "openSerial"|"clock"|"log"|"moduleReset">, options: Esp8266Options)
 *   implements Transport: open(events), send(bytes, off, len), sendSpace, close()
 *   readonly dialect: "1.7" | "2.x" | undefined      (from AT+GMR / AT+SYSSTORE)
 *   readonly receiveMode: the mode in use (passive falls back to active where unsupported)
 *   readonly stats: Esp8266Stats (UART bytes both ways, payload bytes, commands, timeouts, ...)
 *   readonly lastError: AtError | undefined           (named cause of the last failure)
 *   readonly linkUp, wifiUp, moduleReady: booleans for UIs and tests
 *
 * How it works:
 * - Bytes from the UART go, from onReadable only, into one preallocated buffer and through the
 *   byte-level AtParser (parser.ts). Lines are dispatched by kind (the unsolicited-line table in
 *   `onLine`); final results complete the one command in flight (`AtResponse`).
 * - One command in flight, each kind with its timeout (AT 2 s, CWJAP 20 s, CIPSTART 15 s: longer
 *   than the module's own ~10 s so its verdict is read, SEND OK 10 s, ready 10 s). `busy p/s...`
 *   makes it retry with growing back-off.
 * - What to do next is derived from state in `service()` (no queue of objects): init step, WiFi
 *   join, CIPSTART, passive read, send, close. So nothing is allocated per command or per packet,
 *   except the typed-array views handed to SerialPort.write (one per FIFO-sized chunk).
 * - Transport.send copies into a fixed TX ring; chunks of at most 2048 bytes go out as
 *   AT+CIPSEND=<n>, prompt, exactly n bytes, SEND OK. In transparent mode the ring streams raw.
 * - Start-up: reset (RST pin if wired, else AT+RST) and `ready` (or probe with AT), ATE0, AT+GMR
 *   (dialect), AT+SYSSTORE=0 (2.x), AT+CWMODE=1, AT+CIPMUX=0, receive mode (AT+CIPRECVMODE=1 or
 *   AT+CIPMODE=1), AT+CIPSSLSIZE=4096 (1.7 + TLS), AT+CIPSSLCCONF (TLS), AT+CIPSSLCSNI/CCN
 *   (2.x, tlsServerName), AT+CIPSNTPCFG (verification); then AT+CWJAP (when WiFi
 *   is not up) and AT+CIPSTART. open() with the module initialised and WiFi up goes straight to
 *   AT+CIPSTART.
 * - TLS verification (options.tlsVerify): AT+CIPSSLCCONF=2 makes the module check the server's
 *   certificate chain against the CA flashed into it (2.x: the `client_ca` partition, and the name
 *   against the CIPSTART host; NonOS 1.7: esp_ca_cert.bin at SSL_CLIENT_CA_ADDR, the chain only,
 *   its SDK sets no host name). A module that answers ERROR to it cannot verify: every open() then
 *   ends with tls-verify-unsupported and no CIPSTART, never an unverified link in its place.
 *   Without verification the mode is set to 0, as a 2 kept in the module's flash would otherwise
 *   still apply. AT+CIPSSLCCONF? first: the set (a flash write on 1.7) only when the mode
 *   differs. A failed SSL CIPSTART (refused, or a certificate the CA did not sign) is
 *   tls-connect-failed: the module's ERROR (1.7: + CLOSED) does not tell the two apart.
 *   tlsServerName (2.x): AT+CIPSSLCSNI and AT+CIPSSLCCN carry it (a host given as an address still
 *   gets its name checked); an ERROR to CIPSSLCCN with verification on refuses the link as
 *   tls-server-name-unsupported. 1.7 has neither command: a warning, the chain is still checked.
 *   Certificate dates: builds whose mbedTLS checks validity periods need the module's clock, so
 *   with verification SNTP is turned on (AT+CIPSNTPCFG=1,0, as Espressif's own CIPSSLCCONF
 *   examples do) during init; it syncs once WiFi is up. Nothing waits for it: a handshake made
 *   before the first sync fails as tls-connect-failed and the session's next try succeeds.
 * - Recovery: an unsolicited `ready` re-inits from ATE0 (the module just booted); three silent
 *   timeouts in a row (no byte from the module meanwhile) mark it unresponsive and reset it. Link loss (CLOSED, WIFI DISCONNECT, SEND FAIL,
 *   reset, unresponsive) is reported through onClose with its LinkDownReason; the session owns the
 *   back-off and calls open() again. In passive mode a CLOSED is reported only after the data
 *   still buffered in the module (the server's last words) has been read and delivered.
 * - The WiFi password never reaches a log or trace: CWJAP lines are redacted.
 *
 * Limits: in transparent mode the module's own messages (CLOSED, WIFI DISCONNECT, ready) are
 * indistinguishable from data, so link loss there is found by the session's keepalive; data that
 * arrives before onOpen (a server speaking first) is dropped and counted in stats.droppedBytes.
 */
import type { Board, BoardTimer, Clock, Log, SerialPort } from "../board.js";
import type { ReceiveMode } from "../config.js";
import type { LinkDownReason, Transport, TransportEvents } from "../transport.js";
import { utf8Length } from "../bytes.js";
import { CommandBuffer } from "./command-buffer.js";
import { INIT_ORDER, TIMEOUTS, timeoutOf, writeCommand, type Cmd } from "./commands.js";
import { cwjapError, type AtError } from "./errors.js";
import { AtParser, type DataKind, type LineKind } from "./parser.js";
import { AtResponse } from "./response.js";

export type { AtError } from "./errors.js";
export { TIMEOUTS } from "./commands.js";

export type LinkStatus =
  | "module-starting"
  | "module-ready"
  | "wifi-joining"
  | "wifi-up"
  | "wifi-down"
  | "link-opening"
  | "link-up"
  | "link-down";

export type Dialect = "1.7" | "2.x";

export interface Esp8266Options {
  ssid: string;
  password: string;
  host: string;
  port: number;
  tls: boolean;
  /**
   * TLS only: the module must verify the server's certificate with its flashed CA
   * (AT+CIPSSLCCONF=2). Default false here; DeviceConfig turns it on with TLS.
   */
  tlsVerify?: boolean;
  /**
   * TLS only, ESP-AT 2.x: the name sent as SNI (AT+CIPSSLCSNI) and checked in the certificate
   * (AT+CIPSSLCCN) instead of `host`. NonOS 1.7 has neither (it checks no name): unused there.
   */
  tlsServerName?: string;
  receiveMode: ReceiveMode;
  /** TX ring size in bytes (default 2048). Transport.send refuses what does not fit. */
  txBufferSize?: number;
  /** UART read buffer, and the most one AT+CIPRECVDATA asks for (default 512). */
  rxChunkSize?: number;
  onStatus?: (status: LinkStatus, detail: string) => void;
  /** Optional command trace (commands written, CWJAP redacted). Costs a string per command. */
  trace?: (line: string) => void;
}

export interface Esp8266Stats {
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
}

/** Largest AT+CIPSEND the module accepts. */
export const MAX_SEND_CHUNK = 2048;

/** Hold the RST pin low this long. */
const RESET_PULSE_MS = 50;
/** Silence around `+++` (the module needs >= 20 ms; bytes may still sit in the FIFO). */
const ESCAPE_GUARD_MS = 50;
/**
 * After `+++` the module wants 1 s before the next command, counted from when it has left
 * passthrough (the after-guard past the last `+`) and with the bytes' time on the wire: 1.1 s.
 */
const ESCAPE_SETTLE_MS = 1100;
/** After CIPSTART's bare ERROR, how long a following CLOSED still means "refused". */
const VERDICT_MS = 200;
const MAX_BUSY_RETRIES = 8;
const MAX_TIMEOUTS_IN_ROW = 3;
const MAX_CONNECT_FAILURES = 3;
const MAX_RESETS_PER_OPEN = 3;

type Phase = "down" | "resetting" | "init" | "ready";
type CmdState = "command" | "prompt" | "data";
type Aux = "none" | "reset-pulse" | "ready-wait" | "busy-backoff" | "guard-before" | "guard-after" | "verdict";
type Session = "idle" | "opening" | "open";

export class Esp8266Driver implements Transport {
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
  };

  private readonly port: SerialPort;
  private readonly clock: Clock;
  private readonly log: Log;
  private readonly resetPin: Board["moduleReset"];
  private readonly options: Esp8266Options;
  private readonly parser: AtParser;
  private readonly rx: Uint8Array;
  private readonly cmdBuf = new CommandBuffer(320);
  private readonly resp = new AtResponse();
  private readonly cmdTimer: BoardTimer;
  private readonly auxTimer: BoardTimer;
  private readonly kickTimer: BoardTimer;
  private readonly pollTimer: BoardTimer;

  // TX ring: bytes [head, head + used) are queued; the data phase writes from `cursor`.
  private readonly ring: Uint8Array;
  private head = 0;
  private used = 0;
  private cursor = 0;
  private ringToWrite = 0;
  private sendLen = 0;

  // The one linear write job (a command line or `+++`), from cmdBuf.
  private lineOff = 0;
  private lineEnd = 0;

  private phase: Phase = "down";
  private cmd: Cmd = "none";
  private cmdState: CmdState = "command";
  private aux: Aux = "none";
  private initIndex = 0;
  private session: Session = "idle";
  private events: TransportEvents | undefined;
  private closeRequested = false;
  private everOpened = false;

  private dialectValue: Dialect | undefined;
  private mode: ReceiveMode;
  private wifi = false;
  private joined = false;
  /** The module has (or may have) a TCP/SSL link open. */
  private linkOnModule = false;
  /** That link belongs to the current session (else it is stale: flush and close it). */
  private linkForSession = false;
  private passthrough = false;
  private escapeThenReset = false;
  private recvWanted = false;
  /** A +IPD,<n> notification came after the last AT+CIPRECVDATA went out: read again after it. */
  private notifiedSinceRead = false;
  private timeoutsInRow = 0;
  private connectFailures = 0;
  private resetsThisOpen = 0;
  private alreadyRetried = false;
  private recoverPending = false;
  /** Passive mode: the peer closed while data still waits in the module. */
  private peerClosed = false;
  /** AT+CIPSSLCCONF=2 answered OK (or the module already said 2) since its last reset. */
  private verifyOn = false;
  /** AT+CIPSSLCCN answered ERROR since the module's last reset (the name cannot be checked). */
  private nameRefused = false;
  /** The module's SSL client mode as AT+CIPSSLCCONF? reported it (-1: unknown). */
  private sslModeOnModule = -1;
  private lastErrorValue: AtError | undefined;

  constructor(board: Pick<Board, "openSerial" | "clock" | "log" | "moduleReset">, options: Esp8266Options) {
    this.options = options;
    this.clock = board.clock;
    this.log = board.log;
    this.resetPin = board.moduleReset;
    this.mode = options.receiveMode;
    this.ring = new Uint8Array(Math.max(16, options.txBufferSize ?? 2048));
    this.rx = new Uint8Array(Math.max(16, options.rxChunkSize ?? 512));
    this.parser = new AtParser({
      onLine: (kind, value) => this.onLine(kind, value),
      onPrompt: () => this.onPrompt(),
      onDataStart: (kind, length) => this.onDataStart(kind, length),
      onData: (bytes, offset, length) => this.onData(bytes, offset, length),
      onDataEnd: (kind) => this.onDataEnd(kind),
    });
    this.cmdTimer = this.clock.createTimer(() => this.onCommandTimeout());
    this.auxTimer = this.clock.createTimer(() => this.onAux());
    this.kickTimer = this.clock.createTimer(() => this.onKick());
    this.pollTimer = this.clock.createTimer(() => this.onPoll());
    this.port = board.openSerial({
      onReadable: (count) => this.onReadable(count),
      onWritable: () => this.pump(),
    });
  }

  /** The named cause of the last failure (cleared by open()). */
  get lastError(): AtError | undefined {
    return this.lastErrorValue;
  }
  get dialect(): Dialect | undefined {
    return this.dialectValue;
  }
  /** The receive mode in use (passive falls back to active on firmware without it). */
  get receiveMode(): ReceiveMode {
    return this.mode;
  }
  get linkUp(): boolean {
    return this.session === "open";
  }
  get wifiUp(): boolean {
    return this.wifi;
  }
  get moduleReady(): boolean {
    return this.phase === "ready";
  }
  get sendSpace(): number {
    return this.session === "open" && !this.closeRequested ? this.ring.length - this.used : 0;
  }

  // ---- Transport ----

  open(events: TransportEvents): void {
    if (this.session !== "idle") {
      this.log("warn", "at: open() while a link is open or opening: ignored");
      return;
    }
    this.events = events;
    this.session = "opening";
    this.everOpened = true;
    this.alreadyRetried = false;
    this.resetsThisOpen = 0;
    this.lastErrorValue = undefined;
    this.status("link-opening", this.options.host);
    this.kick();
  }

  send(bytes: Uint8Array, offset: number, length: number): boolean {
    if (this.session !== "open" || this.closeRequested) return false;
    if (length > this.ring.length - this.used) return false;
    const size = this.ring.length;
    const tail = (this.head + this.used) % size;
    const first = Math.min(length, size - tail);
    for (let i = 0; i < first; i++) this.ring[tail + i] = bytes[offset + i];
    for (let i = first; i < length; i++) this.ring[i - first] = bytes[offset + i];
    this.used += length;
    this.kick();
    return true;
  }

  close(): void {
    if (this.session === "idle" || this.closeRequested) return;
    this.closeRequested = true;
    this.kick();
  }

  // ---- event plumbing ----

  private kick(): void {
    this.kickTimer.schedule(0);
  }

  private onKick(): void {
    if (this.closeRequested) {
      this.closeRequested = false;
      this.reportClose("closed-by-us", undefined, "closed by the application", true);
    }
    this.service();
  }

  private status(status: LinkStatus, detail: string): void {
    const cb = this.options.onStatus;
    if (!cb) return;
    try {
      cb(status, detail);
    } catch {
      this.log("error", "at: onStatus threw");
    }
  }

  /** Ends the session with onClose. `keep`: queued bytes are flushed before the link is closed. */
  private reportClose(reason: LinkDownReason, error: AtError | undefined, detail: string, keep = false): void {
    if (!keep) this.dropQueued();
    this.linkForSession = false;
    if (error) this.lastErrorValue = error;
    if (this.session === "idle") return;
    this.session = "idle";
    this.closeRequested = false;
    this.log(reason === "closed-by-us" ? "info" : "warn", "at: link down: " + reason + ": " + detail);
    this.status("link-down", reason + ": " + detail);
    const events = this.events;
    if (!events) return;
    try {
      events.onClose(reason, detail);
    } catch {
      this.log("error", "at: onClose threw");
    }
  }

  private reportOpen(): void {
    this.session = "open";
    this.linkForSession = true;
    this.connectFailures = 0;
    this.status("link-up", this.options.host);
    try {
      this.events?.onOpen();
    } catch {
      this.log("error", "at: onOpen threw");
    }
  }

  /** Forgets queued TX bytes, except a chunk the module is already taking (it expects exactly n). */
  private dropQueued(): void {
    if (this.cmd === "cipsend") {
      this.used = this.sendLen;
    } else {
      this.used = 0;
      this.head = 0;
      if (this.passthrough) this.ringToWrite = 0;
    }
  }

  // ---- UART ----

  private onReadable(count: number): void {
    if (this.drain(count > 0 ? count : 1)) this.pollTimer.schedule(1);
  }

  /**
   * Reads up to `count` bytes (or all that wait). Returns true when a read came back empty before
   * that: some ports announce bytes they hand over only a moment later, so look again soon.
   */
  private drain(count: number): boolean {
    let left = count;
    let empty = false;
    while (left > 0) {
      const n = this.port.read(this.rx);
      if (!n) {
        empty = true;
        break;
      }
      this.stats.uartBytesRead += n;
      left -= n;
      this.parser.feed(this.rx, 0, n);
    }
    this.stats.parserOverflows = this.parser.overflows;
    return empty;
  }

  private onPoll(): void {
    const before = this.stats.uartBytesRead;
    this.drain(Number.MAX_SAFE_INTEGER);
    if (this.stats.uartBytesRead > before) this.pollTimer.schedule(1);
  }

  private startLine(): void {
    this.lineOff = 0;
    this.lineEnd = this.cmdBuf.length;
    this.pump();
  }

  private pump(): void {
    for (;;) {
      const room = this.port.writable;
      if (room <= 0) return;
      if (this.lineOff < this.lineEnd) {
        const n = Math.min(room, this.lineEnd - this.lineOff);
        const w = this.port.write(this.cmdBuf.bytes.subarray(this.lineOff, this.lineOff + n));
        this.lineOff += w;
        this.stats.uartBytesWritten += w;
        if (w < n) return;
        continue;
      }
      if (this.ringToWrite > 0) {
        const size = this.ring.length;
        const n = Math.min(room, this.ringToWrite, size - this.cursor);
        const w = this.port.write(this.ring.subarray(this.cursor, this.cursor + n));
        this.cursor = (this.cursor + w) % size;
        this.ringToWrite -= w;
        this.stats.uartBytesWritten += w;
        if (this.passthrough) {
          this.parser.rawSkipSpace = false;
          this.head = this.cursor;
          this.used -= w;
          this.stats.payloadBytesSent += w;
        }
        if (w < n) return;
        continue;
      }
      if (this.passthrough && this.used > 0 && this.cmd === "none" && this.aux === "none") {
        this.cursor = this.head;
        this.ringToWrite = this.used;
        continue;
      }
      // A closing passthrough link has written its last bytes: time for `+++`.
      if (this.passthrough && !(this.session === "open" && this.linkForSession) && this.aux === "none") this.kick();
      return;
    }
  }

  private get writing(): boolean {
    return this.lineOff < this.lineEnd || this.ringToWrite > 0;
  }

  // ---- commands ----

  private issue(cmd: Cmd): void {
    if (cmd === "none") return;
    const b = this.cmdBuf.clear();
    // After a `+++` that may have met a module in command mode, end that stray line first.
    if (cmd === "rst" && this.escapeThenReset) b.crlf();
    if (cmd === "rst") this.escapeThenReset = false;
    writeCommand(b, cmd, this.options, cmd === "recvdata" ? this.rx.length : this.sendLen);
    this.cmd = cmd;
    this.cmdState = "command";
    this.resp.clear(this.stats.uartBytesRead);
    if (cmd === "recvdata") {
      this.resp.recvRequested = this.rx.length;
      this.notifiedSinceRead = false;
    }
    this.stats.commands++;
    if (this.options.trace) this.trace();
    this.cmdTimer.schedule(timeoutOf(cmd));
    this.startLine();
  }

  /** The command in flight again, as it is still in cmdBuf (after `busy`, or a silent timeout). */
  private resend(): void {
    this.stats.commands++;
    this.cmdState = "command";
    this.resp.bytesAtStart = this.stats.uartBytesRead;
    this.cmdTimer.schedule(timeoutOf(this.cmd));
    if (this.options.trace) this.trace();
    this.startLine();
  }

  private trace(): void {
    const trace = this.options.trace;
    if (!trace) return;
    let text = "";
    if (this.cmd === "cwjap") {
      text = 'AT+CWJAP="' + this.options.ssid + '",<redacted>';
    } else {
      for (let i = 0; i < this.cmdBuf.length - 2; i++) text += String.fromCharCode(this.cmdBuf.bytes[i]);
    }
    try {
      trace(text);
    } catch {
      // a trace sink is diagnostic only
    }
  }

  private finishCmd(): void {
    this.cmd = "none";
    this.cmdState = "command";
    this.cmdTimer.cancel();
    if (this.aux === "busy-backoff") this.setAux("none", 0);
  }

  private setAux(aux: Aux, ms: number): void {
    this.aux = aux;
    if (aux === "none") this.auxTimer.cancel();
    else this.auxTimer.schedule(ms);
  }

  // ---- what to do next ----

  private service(): void {
    if (this.cmd !== "none" || this.aux !== "none") return;
    switch (this.phase) {
      case "down":
        if (this.session === "opening" || this.recoverPending) {
          this.recoverPending = false;
          this.startReset();
        }
        return;
      case "resetting":
        return;
      case "init":
        this.nextInit();
        return;
      case "ready":
        break;
    }
    if (this.peerClosed) {
      if (this.recvWanted && this.session === "open") {
        this.issue("recvdata");
        return;
      }
      this.peerClosed = false;
      this.recvWanted = false;
      if (this.session === "open" && this.linkForSession) {
        this.reportClose("closed-by-peer", "closed-by-peer", "CLOSED: the server closed the link");
      }
    }
    if (this.passthrough) {
      if (this.session === "open" && this.linkForSession) {
        this.pump();
        return;
      }
      if (this.writing || this.used > 0) {
        // Flush the closing session's last bytes (its MQTT DISCONNECT) before leaving passthrough.
        this.pump();
        return;
      }
      this.escapeThenReset = false;
      this.setAux("guard-before", ESCAPE_GUARD_MS);
      return;
    }
    if (this.linkOnModule) {
      if (this.mode === "passive" && this.recvWanted) {
        this.issue("recvdata");
        return;
      }
      if (this.used > 0) {
        this.sendLen = Math.min(this.used, MAX_SEND_CHUNK);
        this.issue("cipsend");
        return;
      }
      if (!this.linkForSession) {
        this.issue("cipclose");
        return;
      }
      if (this.session === "opening" && this.mode === "transparent") {
        this.issue("passthrough");
        return;
      }
      return;
    }
    if (this.session !== "opening") return;
    if (!this.wifi) {
      this.joinWifi();
      return;
    }
    if (this.options.tls && this.options.tlsVerify && !this.verifyOn) {
      // Refused here rather than connecting unverified: the token would go to whoever answers.
      this.reportClose("connect-failed", "tls-verify-unsupported", "tls-verify-unsupported: AT+CIPSSLCCONF=2 answered ERROR");
      return;
    }
    if (this.nameRefused) {
      this.reportClose("connect-failed", "tls-server-name-unsupported", "tls-server-name-unsupported: AT+CIPSSLCCN answered ERROR");
      return;
    }
    this.status("link-opening", this.options.host);
    this.issue("cipstart");
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
      this.reportClose("wifi-join-failed", "config-invalid", "config-invalid: " + problem);
      return;
    }
    this.status("wifi-joining", ssid);
    this.issue("cwjap");
  }

  private startReset(): void {
    this.phase = "resetting";
    this.stats.moduleResets++;
    this.forgetModule();
    this.status("module-starting", this.resetPin ? "reset pin" : "AT+RST");
    if (this.resetPin) {
      this.resetPin.write(0);
      this.setAux("reset-pulse", RESET_PULSE_MS);
    } else {
      this.issue("rst");
    }
  }

  /** Everything the module knew is gone (reset, or about to be). */
  private forgetModule(): void {
    this.parser.setRaw(false);
    this.passthrough = false;
    this.wifi = false;
    this.joined = false;
    this.linkOnModule = false;
    this.linkForSession = false;
    this.recvWanted = false;
    this.peerClosed = false;
    this.verifyOn = false;
    this.sslModeOnModule = -1;
    this.nameRefused = false;
    this.ringToWrite = 0;
    this.used = 0;
    this.head = 0;
    this.lineOff = this.lineEnd = 0;
    this.mode = this.options.receiveMode;
    this.timeoutsInRow = 0;
  }

  private applies(cmd: Cmd): boolean {
    const o = this.options;
    switch (cmd) {
      case "sysstore":
        return this.dialectValue !== "1.7";
      case "recvmode":
        return this.mode === "passive";
      case "cipmode":
        return this.mode === "transparent";
      case "sslsize":
        return o.tls && this.dialectValue === "1.7";
      case "sslquery":
        return o.tls;
      case "sslconf":
        // Both families may write the mode to flash on every set: only when it must change.
        return o.tls && this.sslModeOnModule !== (o.tlsVerify ? 2 : 0);
      case "sslsni":
      case "sslccn":
        return o.tls && !!o.tlsServerName && this.dialectValue === "2.x";
      case "sntp":
        return o.tls && o.tlsVerify === true;
      default:
        return true;
    }
  }

  private nextInit(): void {
    while (this.initIndex < INIT_ORDER.length) {
      const cmd = INIT_ORDER[this.initIndex++];
      if (cmd === "recvmode" && this.mode === "passive" && this.options.tls && this.dialectValue === "1.7") {
        // 1.7 reads passively over TCP only.
        this.mode = "active";
        this.log("warn", "at: passive receive is TCP-only on AT 1.7: using active receive for TLS");
      }
      if (cmd === "sslsni" && this.options.tls && this.options.tlsServerName && this.dialectValue === "1.7") {
        this.log("warn", "at: AT 1.7 sends no SNI and checks no certificate name: tlsServerName is not used");
      }
      if (this.applies(cmd)) {
        this.issue(cmd);
        return;
      }
    }
    this.phase = "ready";
    this.status("module-ready", "AT " + (this.dialectValue ?? "?") + ", " + this.mode + " receive");
    this.service();
  }

  private beginInit(): void {
    this.phase = "init";
    this.initIndex = 0;
    this.setAux("none", 0);
    this.service();
  }

  // ---- what the module says ----

  private onLine(kind: LineKind, value: number): void {
    const r = this.resp;
    switch (kind) {
      case "ok":
      case "error":
      case "fail":
      case "send-ok":
      case "send-fail":
        this.onFinal(kind);
        return;
      case "ready":
        this.onReady();
        return;
      case "busy-p":
      case "busy-s":
        this.onBusy();
        return;
      case "closed":
        r.closed = true;
        this.onClosed();
        return;
      case "connect":
        r.connect = true;
        return;
      case "already-connected":
        r.alreadyConnected = true;
        return;
      case "dns-fail":
        r.dnsFail = true;
        return;
      case "no-ip":
        r.noIp = true;
        return;
      case "link-invalid":
        r.linkInvalid = true;
        return;
      case "unlink":
        r.unlink = true;
        return;
      case "cwjap":
        r.cwjapCode = value;
        return;
      case "version":
        r.version = value;
        return;
      case "sslcconf":
        r.sslMode = value;
        return;
      case "wifi-disconnect":
        this.onWifiDisconnect();
        return;
      case "wifi-got-ip":
        if (this.joined && !this.wifi) {
          this.wifi = true;
          this.status("wifi-up", this.options.ssid);
        }
        return;
      case "ipd-notify":
        if (this.mode === "passive" && this.linkOnModule && value > 0) {
          this.recvWanted = true;
          this.notifiedSinceRead = true;
          this.service();
        }
        return;
      default:
        // wifi-connected, recv-bytes, echo, other: nothing to do.
        return;
    }
  }

  private onPrompt(): void {
    if (this.aux === "busy-backoff") this.setAux("none", 0); // the command got through after all
    if (this.cmd === "cipsend" && this.cmdState !== "data") {
      this.cmdState = "data";
      this.cursor = this.head;
      this.ringToWrite = this.sendLen;
      this.cmdTimer.schedule(TIMEOUTS.sendOk);
      this.pump();
    } else if (this.cmd === "passthrough") {
      this.finishCmd();
      this.timeoutsInRow = 0;
      this.passthrough = true;
      this.parser.setRaw(true);
      this.parser.rawSkipSpace = true;
      if (this.session === "opening" && this.linkOnModule) this.reportOpen();
      this.service();
    }
  }

  private onDataStart(kind: DataKind, length: number): void {
    if (kind === "recvdata" && this.cmd === "recvdata") this.resp.recvGot += length;
  }

  private onData(bytes: Uint8Array, offset: number, length: number): void {
    if (this.session !== "open" || !this.linkForSession || this.closeRequested) {
      this.stats.droppedBytes += length;
      return;
    }
    this.stats.payloadBytesReceived += length;
    try {
      this.events?.onData(bytes, offset, length);
    } catch {
      this.log("error", "at: onData threw");
    }
  }

  private onDataEnd(_kind: DataKind): void {}

  private onReady(): void {
    if (this.phase === "resetting") {
      if (this.cmd === "rst") this.finishCmd();
      this.timeoutsInRow = 0;
      this.beginInit();
      return;
    }
    if (!this.everOpened) return;
    // The module rebooted by itself: all its state is gone.
    this.stats.moduleResets++;
    this.finishCmd();
    this.setAux("none", 0);
    const hadLink = this.session === "open";
    this.forgetModule();
    this.status("module-starting", "module reset by itself");
    if (hadLink) {
      this.reportClose("module-reset", "module-reset", "the module reset (ready)");
    } else if (this.session === "opening" && ++this.resetsThisOpen > MAX_RESETS_PER_OPEN) {
      this.reportClose("module-reset", "module-reset", "the module keeps resetting (power supply?)");
    }
    this.beginInit();
  }

  private onWifiDisconnect(): void {
    const wasUp = this.wifi;
    this.wifi = false;
    if (this.cmd === "cwjap") return; // part of joining
    if (wasUp) this.status("wifi-down", this.options.ssid);
    if (this.session === "open") this.reportClose("wifi-lost", "wifi-lost", "WIFI DISCONNECT");
  }

  private onClosed(): void {
    if (this.cmd === "cipstart" || this.cmd === "cipclose") return;
    if (this.aux === "verdict") return;
    if (!this.linkOnModule) return;
    this.linkOnModule = false;
    if (this.mode === "passive" && this.recvWanted && this.session === "open" && this.linkForSession) {
      // The server's last words (an MQTT CONNACK refusal, say) wait in the module: read them
      // first, then report the close (service()).
      this.peerClosed = true;
      this.service();
      return;
    }
    this.recvWanted = false;
    if (this.session === "open" && this.linkForSession) {
      this.reportClose("closed-by-peer", "closed-by-peer", "CLOSED: the server closed the link");
    } else {
      this.linkForSession = false;
    }
    this.dropQueued();
  }

  private onBusy(): void {
    if (this.cmd === "none" || this.cmdState === "data" || this.aux === "busy-backoff") return;
    this.stats.busyRetries++;
    if (++this.resp.busy > MAX_BUSY_RETRIES) {
      this.fail("busy", "the module stays busy");
      return;
    }
    this.cmdTimer.cancel();
    this.setAux("busy-backoff", Math.min(1000, 100 * (1 << Math.min(this.resp.busy, 4))));
  }

  private onFinal(kind: "ok" | "error" | "fail" | "send-ok" | "send-fail"): void {
    const cmd = this.cmd;
    if (cmd === "none") return;
    if (cmd === "cipsend") {
      if (this.cmdState === "data") {
        if (kind === "ok") return;
        this.timeoutsInRow = 0;
        this.completeSend(kind === "send-ok");
        return;
      }
      if (kind === "ok") {
        this.cmdState = "prompt";
        return;
      }
      if (kind === "send-ok" || kind === "send-fail") return;
    } else if (cmd === "passthrough" && kind === "ok") {
      this.cmdState = "prompt";
      return;
    } else if (kind === "send-ok" || kind === "send-fail") {
      return; // a late result of an earlier send
    }
    this.timeoutsInRow = 0;
    this.finishCmd();
    this.onResult(cmd, kind === "ok");
  }

  private completeSend(ok: boolean, error: AtError = "send-failed"): void {
    const n = this.sendLen;
    this.finishCmd();
    this.head = (this.head + n) % this.ring.length;
    this.used = Math.max(0, this.used - n);
    this.sendLen = 0;
    if (ok) {
      this.stats.payloadBytesSent += n;
    } else {
      this.reportClose("send-failed", error, error === "send-failed" ? "SEND FAIL" : error);
    }
    this.service();
  }

  /** A command finished with OK (`ok`) or ERROR/FAIL. */
  private onResult(cmd: Cmd, ok: boolean): void {
    const r = this.resp;
    switch (cmd) {
      case "rst":
        // OK (or ERROR from a confused module): the boot follows; wait for `ready`.
        this.setAux("ready-wait", TIMEOUTS.ready);
        return;
      case "probe":
        this.beginInit();
        return;
      case "gmr":
        if (r.version >= 2) this.dialectValue = "2.x";
        else if (r.version >= 0) this.dialectValue = "1.7";
        else this.dialectValue = undefined;
        break;
      case "sysstore":
        if (!this.dialectValue) this.dialectValue = ok ? "2.x" : "1.7";
        break;
      case "recvmode":
        if (!ok) {
          this.mode = "active";
          this.log("warn", "at: AT+CIPRECVMODE unsupported: using active receive");
        }
        break;
      case "ate0":
        break;
      case "sslquery":
        this.sslModeOnModule = ok ? r.sslMode : -1;
        this.verifyOn = this.options.tlsVerify === true && this.sslModeOnModule === 2;
        break;
      case "sslsni":
        if (!ok) this.log("warn", "at: AT+CIPSSLCSNI answered ERROR: the TLS server name is not sent as SNI");
        break;
      case "sntp":
        if (!ok) this.log("warn", "at: AT+CIPSNTPCFG answered ERROR: the module's clock stays unset (a build that checks certificate dates will refuse)");
        break;
      case "sslccn":
        if (!ok && this.options.tlsVerify) {
          this.nameRefused = true;
          this.log("error", "at: AT+CIPSSLCCN answered ERROR: the certificate name cannot be checked against tlsServerName");
        }
        break;
      case "sslconf":
        this.verifyOn = ok && this.options.tlsVerify === true;
        if (!ok && this.options.tlsVerify) this.log("error", "at: AT+CIPSSLCCONF=2 answered ERROR: this AT firmware cannot verify server certificates");
        // Without verification an ERROR means there is nothing to turn off.
        break;
      case "cwmode":
      case "cipmux":
      case "cipmode":
      case "sslsize":
        if (!ok) {
          this.phase = "down";
          this.reportClose("connect-failed", "init-failed", "init-failed: " + cmd + " answered ERROR");
          return;
        }
        break;
      case "cwjap":
        if (ok) {
          this.wifi = true;
          this.joined = true;
          this.status("wifi-up", this.options.ssid);
        } else {
          const error = r.cwjapCode >= 0 ? cwjapError(r.cwjapCode) : "wifi-join-failed";
          this.reportClose("wifi-join-failed", error, error + (r.cwjapCode >= 0 ? " (+CWJAP:" + r.cwjapCode + ")" : ""));
        }
        this.service();
        return;
      case "cipstart":
        this.onCipstart(ok);
        return;
      case "cipclose":
        // OK, CLOSED+OK, or UNLINK+ERROR (already closed): the link is gone either way.
        this.linkOnModule = false;
        this.linkForSession = false;
        this.recvWanted = false;
        break;
      case "cipsend":
        // ERROR before the prompt: no link (1.7 says `link is not valid` first).
        if (r.linkInvalid) this.linkOnModule = false;
        this.reportClose("send-failed", "link-invalid", r.linkInvalid ? "link is not valid" : "CIPSEND answered ERROR");
        break;
      case "passthrough":
        // The module forgot CIPMODE=1 (it reset unseen, its `ready` read as passthrough data): start over.
        this.phase = "down";
        this.reportClose("connect-failed", "link-invalid", "AT+CIPSEND (passthrough) answered ERROR");
        return;
      case "recvdata":
        // Data that reached the module while this read was under way is announced by a new
        // notification, often before this read's answer: it must not be forgotten.
        this.recvWanted = ok && ((r.recvGot >= r.recvRequested && r.recvRequested > 0) || this.notifiedSinceRead);
        break;
      case "none":
        return;
    }
    if (this.phase === "init") this.nextInit();
    else this.service();
  }

  private onCipstart(ok: boolean): void {
    const r = this.resp;
    if (ok) {
      this.linkOnModule = true;
      this.alreadyRetried = false;
      if (this.session === "opening") {
        this.linkForSession = true;
        if (this.mode !== "transparent") this.reportOpen();
      } else {
        this.linkForSession = false;
      }
      this.service();
      return;
    }
    if (r.alreadyConnected && !this.alreadyRetried) {
      // A link left over from before: close it, then start ours.
      this.alreadyRetried = true;
      this.linkOnModule = true;
      this.linkForSession = false;
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
    this.resp.closed = false;
    this.setAux("verdict", VERDICT_MS);
  }

  private connectFailed(error: AtError): void {
    if (++this.connectFailures >= MAX_CONNECT_FAILURES) {
      // Something in the module may be wedged: start from the top next time.
      this.connectFailures = 0;
      this.phase = "down";
    }
    this.reportClose("connect-failed", error, error + " (" + this.options.host + ":" + this.options.port + ")");
    this.service();
  }

  private fail(error: AtError, detail: string): void {
    const cmd = this.cmd;
    this.finishCmd();
    switch (cmd) {
      case "cwjap":
        this.reportClose("wifi-join-failed", error, detail);
        break;
      case "cipstart":
      case "passthrough":
        this.linkOnModule = true; // unknown: close before the next try
        this.linkForSession = false;
        this.connectFailed(error);
        return;
      case "cipsend":
        this.completeSend(false, error);
        return;
      case "recvdata":
        this.recvWanted = false;
        break;
      case "cipclose":
        this.linkOnModule = false;
        break;
      default:
        this.phase = "down";
        this.reportClose("connect-failed", error, detail);
        break;
    }
    this.service();
  }

  // ---- timers ----

  private onCommandTimeout(): void {
    const cmd = this.cmd;
    if (cmd === "none") return;
    this.stats.timeouts++;
    this.parser.reset();
    // Only silence counts towards "not responding": a module that talks is alive.
    if (this.stats.uartBytesRead === this.resp.bytesAtStart) this.timeoutsInRow++;
    if (this.timeoutsInRow >= MAX_TIMEOUTS_IN_ROW) {
      this.finishCmd();
      this.unresponsive();
      return;
    }
    switch (cmd) {
      case "rst":
        // No answer to AT+RST: the module may sit in passthrough; leave it with `+++`, retry.
        this.finishCmd();
        this.escapeThenReset = true;
        this.setAux("guard-before", ESCAPE_GUARD_MS);
        return;
      case "cwjap":
        this.fail("wifi-timeout", "wifi-timeout: no answer to AT+CWJAP");
        return;
      case "cipstart":
      case "passthrough":
        this.fail("connect-timeout", "connect-timeout: no answer to AT+CIPSTART");
        return;
      case "cipsend":
        this.fail("send-timeout", this.cmdState === "data" ? "send-timeout: no SEND OK" : "send-timeout: no prompt");
        return;
      case "recvdata":
      case "cipclose":
        this.fail("timeout", "timeout: " + cmd);
        return;
      default:
        // Init commands and probes are harmless to repeat.
        this.resend();
        return;
    }
  }

  private unresponsive(): void {
    const hadSession = this.session !== "idle";
    this.phase = "down";
    this.forgetModule();
    this.lastErrorValue = "module-not-responding";
    this.log("error", "at: the module is not responding");
    if (hadSession) this.reportClose("module-unresponsive", "module-not-responding", "module-not-responding");
    // Re-init once on our own; after that, the next open() tries again.
    this.recoverPending = hadSession;
    this.service();
  }

  private onAux(): void {
    const aux = this.aux;
    this.aux = "none";
    switch (aux) {
      case "reset-pulse":
        this.resetPin?.write(1);
        this.setAux("ready-wait", TIMEOUTS.ready);
        return;
      case "ready-wait":
        // No `ready` (missed, or a different baud at boot): ask the module directly.
        this.phase = "init";
        this.issue("probe");
        return;
      case "busy-backoff":
        if (this.cmd !== "none" && this.cmdState === "command") this.resend();
        return;
      case "guard-before":
        this.cmdBuf.clear().text("+++");
        this.startLine();
        this.setAux("guard-after", ESCAPE_SETTLE_MS);
        return;
      case "guard-after":
        this.passthrough = false;
        this.parser.setRaw(false);
        if (this.escapeThenReset) {
          this.issue("rst");
          return;
        }
        this.service();
        return;
      case "verdict":
        if (!this.resp.closed) {
          // 2.x says only ERROR, also when an old link is still open: close before the next try.
          this.linkOnModule = true;
          this.linkForSession = false;
        }
        this.connectFailed(this.options.tls ? "tls-connect-failed" : this.resp.closed ? "connect-refused" : "connect-failed");
        return;
      case "none":
        return;
    }
  }
}
