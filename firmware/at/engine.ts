/*
 * The AT command engine (RT-Thread's AT client, in the firmware's terms): the UART both ways, the
 * byte-level parser, and ONE command in flight with its response object, completed by OK, ERROR,
 * FAIL, SEND OK / SEND FAIL or its timeout, with a growing back-off while the module answers
 * `busy p...`. It knows the commands' texts and timeouts (commands.ts), not what they are for:
 * the link policy (link.ts) decides what to send next and what a result means.
 *
 *   new AtEngine(board, stats, options, ring, owner, receiver)
 *   issue(cmd, n, leadingCrlf?)   send a command (n: the length for CIPSEND and CIPRECVDATA)
 *   resend()                      the command in flight again, as it is in the buffer
 *   finish()                      nothing in flight any more (its timers stop)
 *   cmd / idle / phase            what is in flight, and whether its data is being written
 *   response                      what the module said while it ran (reason lines, counters)
 *   writeRaw(text)                bytes without a line end (`+++`) through the same output job
 *   setRaw(on, skipSpace)         transparent mode: every received byte is data
 *
 * Lines are sorted as they come: final results complete the command; reason lines (+CWJAP:<n>,
 * DNS Fail, ALREADY CONNECTED, ...) fill the response; the rest is looked up in the URC table
 * (urc.ts) and handled there, or ignored and counted when no entry matches. Nothing is allocated
 * per command or per line: the command text is built in one buffer, the parser compares bytes.
 */
import type { Clock, SerialHandlers, SerialPort } from "../board.js";
import { CommandBuffer } from "./command-buffer.js";
import { TIMEOUTS, timeoutOf, writeCommand, type Cmd, type LinkParams } from "./commands.js";
import { AtParser, type AtParserSink, type DataKind, type LineKind } from "./parser.js";
import { AtResponse } from "./response.js";
import type { TxRing } from "./tx-ring.js";
import { URCS, urcMatches, type UrcTarget } from "./urc.js";

const MAX_BUSY_RETRIES = 8;
const MAX_TIMEOUTS_IN_ROW = 3;

/** A command's progress: its line went out; (CIPSEND) the prompt came; its data is being written. */
export type CmdPhase = "command" | "prompt" | "data";

export interface EngineStats {
  uartBytesWritten: number;
  uartBytesRead: number;
  commands: number;
  timeouts: number;
  busyRetries: number;
  parserOverflows: number;
  unknownLines: number;
  /** Payload bytes the module confirmed (SEND OK) or, in transparent mode, written raw. */
  payloadBytesSent: number;
}

/** What the engine tells the policy that drives it. */
export interface EngineOwner extends UrcTarget {
  /** The command finished with OK (`ok`) or ERROR/FAIL. */
  onResult(cmd: Cmd, ok: boolean): void;
  /** The data of an AT+CIPSEND got SEND OK (`ok`) or SEND FAIL / ERROR; its bytes left the ring. */
  onSendDone(ok: boolean): void;
  /** The prompt of AT+CIPSEND without a length: the module is in transparent mode now. */
  onPassthroughPrompt(): void;
  /** The command in flight timed out (not the third silent one in a row: see onUnresponsive). */
  onTimeout(cmd: Cmd, phase: CmdPhase): void;
  /** `busy` outlasted every retry. */
  onBusyExhausted(cmd: Cmd): void;
  /** Three silent timeouts in a row: the module does not answer at all. The command is finished. */
  onUnresponsive(): void;
  /** Nothing left to write: the policy may stream more (transparent mode) or move on. */
  onOutputIdle(): void;
}

/** Where payload bytes go (the Transport facade: to the session, or dropped). */
export interface DataReceiver {
  deliver(bytes: Uint8Array, offset: number, length: number): void;
}

export interface EngineOptions extends LinkParams {
  /** UART read buffer, and the most one AT+CIPRECVDATA asks for. */
  rxChunkSize: number;
  trace?: (line: string) => void;
}

export class AtEngine implements AtParserSink, SerialHandlers {
  readonly parser: AtParser;
  readonly response = new AtResponse();
  private readonly port: SerialPort;
  private readonly rx: Uint8Array;
  private readonly cmdBuf = new CommandBuffer(320);
  /** Armed for the command's timeout, or for the busy back-off (never both). */
  private readonly timer;
  private readonly pollTimer;
  private waitingOutBusy = false;
  private cmdValue: Cmd = "none";
  private phaseValue: CmdPhase = "command";
  private timeoutsInRow = 0;
  /** The one line being written (a command, or `+++`), from cmdBuf. */
  private lineOff = 0;
  private lineEnd = 0;

  constructor(
    board: { openSerial(handlers: SerialHandlers): SerialPort; readonly clock: Clock },
    private readonly stats: EngineStats,
    private readonly options: EngineOptions,
    private readonly ring: TxRing,
    private readonly owner: EngineOwner,
    private readonly receiver: DataReceiver,
  ) {
    this.rx = new Uint8Array(options.rxChunkSize);
    this.parser = new AtParser(this);
    this.timer = board.clock.createTimer(() => this.onTimer());
    this.pollTimer = board.clock.createTimer(() => this.onReadable(Number.MAX_SAFE_INTEGER));
    // The engine is the port's handler object itself: no closure frame between a received byte
    // and the parser (the receive path's depth is the chip's stack budget).
    this.port = board.openSerial(this);
  }

  get cmd(): Cmd {
    return this.cmdValue;
  }
  get phase(): CmdPhase {
    return this.phaseValue;
  }
  /** No command in flight. */
  get idle(): boolean {
    return this.cmdValue === "none";
  }
  /** The most one AT+CIPRECVDATA asks for. */
  get rxSize(): number {
    return this.rx.length;
  }
  /** A line or payload is still being written. */
  get writing(): boolean {
    return this.lineOff < this.lineEnd || this.ring.pending > 0;
  }

  // ---- commands ----

  /** Sends `cmd`; `leadingCrlf` ends a stray line first (after a `+++` that met command mode). */
  issue(cmd: Cmd, n: number, leadingCrlf = false): void {
    if (cmd === "none") return;
    const b = this.cmdBuf.clear();
    if (leadingCrlf) b.crlf();
    writeCommand(b, cmd, this.options, n);
    this.cmdValue = cmd;
    this.phaseValue = "command";
    this.response.clear(this.stats.uartBytesRead);
    if (cmd === "recvdata") this.response.recvRequested = n;
    else if (cmd === "cipsend") this.response.sendLength = n;
    this.stats.commands++;
    if (this.options.trace) this.trace();
    this.arm(timeoutOf(cmd));
    this.startLine();
  }

  /** The command in flight again, as it is still in the buffer (after `busy`, or a silent timeout). */
  resend(): void {
    this.stats.commands++;
    this.phaseValue = "command";
    this.response.bytesAtStart = this.stats.uartBytesRead;
    this.arm(timeoutOf(this.cmdValue));
    if (this.options.trace) this.trace();
    this.startLine();
  }

  finish(): void {
    this.cmdValue = "none";
    this.phaseValue = "command";
    this.waitingOutBusy = false;
    this.timer.cancel();
  }

  /** The module answered (it booted): silent timeouts start counting from zero. */
  heard(): void {
    this.timeoutsInRow = 0;
  }

  /** Writes exactly `text`, no line end (`+++`, which must stand alone). */
  writeRaw(text: string): void {
    this.cmdBuf.clear().text(text);
    this.startLine();
  }

  /** The module forgot everything: what is being written no longer matters, nor past silence. */
  forget(): void {
    this.lineOff = this.lineEnd = 0;
    this.ring.pending = 0;
    this.timeoutsInRow = 0;
  }

  setRaw(on: boolean, skipSpace: boolean): void {
    this.parser.setRaw(on);
    this.parser.rawSkipSpace = skipSpace;
  }

  get raw(): boolean {
    return this.parser.isRaw;
  }

  private arm(ms: number): void {
    this.waitingOutBusy = false;
    this.timer.schedule(ms);
  }

  private trace(): void {
    const trace = this.options.trace;
    if (!trace) return;
    let text = "";
    if (this.cmdValue === "cwjap") {
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

  private onTimer(): void {
    const cmd = this.cmdValue;
    if (this.waitingOutBusy) {
      // The busy back-off is over: try the command again.
      this.waitingOutBusy = false;
      if (cmd !== "none" && this.phaseValue === "command") this.resend();
      return;
    }
    if (cmd === "none") return;
    this.stats.timeouts++;
    this.parser.reset();
    // Only silence counts towards "not responding": a module that talks is alive.
    if (this.stats.uartBytesRead === this.response.bytesAtStart) this.timeoutsInRow++;
    if (this.timeoutsInRow >= MAX_TIMEOUTS_IN_ROW) {
      this.finish();
      this.owner.onUnresponsive();
      return;
    }
    this.owner.onTimeout(cmd, this.phaseValue);
  }

  // ---- UART ----

  /**
   * The port has `count` bytes: reads them (or all that wait) through the parser. A read that comes
   * back empty before that is looked at again in 1 ms (some ports announce bytes they hand over
   * only a moment later); so is the port after a poll that found bytes.
   */
  onReadable(count: number): void {
    const stats = this.stats;
    const before = stats.uartBytesRead;
    let left = count > 0 ? count : 1;
    let empty = false;
    while (left > 0) {
      const n = this.port.read(this.rx);
      if (!n) {
        empty = true;
        break;
      }
      stats.uartBytesRead += n;
      left -= n;
      this.parser.feed(this.rx, 0, n);
    }
    stats.parserOverflows = this.parser.overflows;
    if (empty && (count < Number.MAX_SAFE_INTEGER || stats.uartBytesRead > before)) this.pollTimer.schedule(1);
  }

  private startLine(): void {
    this.lineOff = 0;
    this.lineEnd = this.cmdBuf.length;
    this.pump();
  }

  onWritable(): void {
    this.pump();
  }

  /** Writes the line job, then the ring's output job, as far as the FIFO takes them. */
  pump(): void {
    const ring = this.ring;
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
      if (ring.pending > 0) {
        const span = ring.outputSpan();
        const n = room < span ? room : span;
        const w = this.port.write(ring.bytes.subarray(ring.cursor, ring.cursor + n));
        ring.wrote(w);
        this.stats.uartBytesWritten += w;
        if (this.parser.isRaw) {
          // Transparent mode: written is sent; a server answers only after it.
          this.parser.rawSkipSpace = false;
          ring.head = ring.cursor;
          ring.used -= w;
          this.stats.payloadBytesSent += w;
        }
        if (w < n) return;
        continue;
      }
      this.owner.onOutputIdle();
      if (!this.writing) return;
    }
  }

  // ---- what the module says (AtParserSink) ----

  onLine(kind: LineKind, value: number): void {
    const r = this.response;
    switch (kind) {
      case "ok":
      case "error":
      case "fail":
      case "send-ok":
      case "send-fail":
        this.onFinal(kind);
        return;
      case "busy-p":
      case "busy-s":
        this.onBusy();
        return;
      // Reason lines: they explain the final result that follows.
      case "cwjap":
        r.cwjapCode = value;
        return;
      case "version":
        r.version = value;
        return;
      case "sslcconf":
        r.sslMode = value;
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
      case "closed":
        r.closed = true;
        break; // and unsolicited
      case "connect":
      case "unlink":
      case "echo":
      case "recv-bytes":
        return;
      default:
        break;
    }
    const line = this.parser.line;
    const length = this.parser.lineLength;
    for (let k = 0; k < URCS.length; k++) {
      const urc = URCS[k];
      if (urcMatches(urc, line, length)) {
        urc.handle(this.owner, value);
        return;
      }
    }
    // Not in the table: part of an answer (AT+GMR's lines) while a command runs, else unknown.
    if (this.cmdValue === "none") this.stats.unknownLines++;
  }

  onPrompt(): void {
    this.waitingOutBusy = false; // the command got through after all
    const cmd = this.cmdValue;
    if (cmd === "cipsend" && this.phaseValue !== "data") {
      this.phaseValue = "data";
      this.ring.beginOutput(this.response.sendLength);
      this.timer.schedule(TIMEOUTS.sendOk);
      this.pump();
    } else if (cmd === "passthrough") {
      this.finish();
      this.timeoutsInRow = 0;
      this.owner.onPassthroughPrompt();
    }
  }

  onDataStart(kind: DataKind, length: number): void {
    if (kind === "recvdata" && this.cmdValue === "recvdata") this.response.recvGot += length;
  }

  onData(bytes: Uint8Array, offset: number, length: number): void {
    this.receiver.deliver(bytes, offset, length);
  }

  private onBusy(): void {
    if (this.cmdValue === "none" || this.phaseValue === "data" || this.waitingOutBusy) return;
    this.stats.busyRetries++;
    if (++this.response.busy > MAX_BUSY_RETRIES) {
      this.owner.onBusyExhausted(this.cmdValue);
      return;
    }
    this.waitingOutBusy = true;
    this.timer.schedule(Math.min(1000, 100 * (1 << Math.min(this.response.busy, 4))));
  }

  private onFinal(kind: "ok" | "error" | "fail" | "send-ok" | "send-fail"): void {
    const cmd = this.cmdValue;
    if (cmd === "none") return;
    if (cmd === "cipsend") {
      if (this.phaseValue === "data") {
        if (kind === "ok") return;
        this.timeoutsInRow = 0;
        const n = this.completeSend();
        if (kind === "send-ok") this.stats.payloadBytesSent += n;
        this.owner.onSendDone(kind === "send-ok");
        return;
      }
      if (kind === "ok") {
        this.phaseValue = "prompt";
        return;
      }
      if (kind === "send-ok" || kind === "send-fail") return;
    } else if (cmd === "passthrough" && kind === "ok") {
      this.phaseValue = "prompt";
      return;
    } else if (kind === "send-ok" || kind === "send-fail") {
      return; // a late result of an earlier send
    }
    this.timeoutsInRow = 0;
    this.finish();
    this.owner.onResult(cmd, kind === "ok");
  }

  /** The CIPSEND in flight is over, whatever its outcome: its chunk leaves the ring. */
  completeSend(): number {
    const n = this.response.sendLength;
    this.finish();
    this.ring.consume(n);
    this.response.sendLength = 0;
    return n;
  }
}
