/*
 * The Node side of the XS board proxy: connects an XsWorker running a bundle (with the harness of
 * runtime.ts) to a real host Board (HostBoard: virtual UART, VirtualLed, VirtualClock, log).
 *
 * Host events (UART readable/writable, timer expiry) become one xsnap command each, carrying the
 * virtual time; the firmware's effects come back as records (protocol.ts) and are applied to the
 * host board in the firmware's order, before the host event returns. Everything is synchronous, so
 * the VirtualClock sees the same calls in the same order as when the firmware runs on Node.
 */
import type { Board, BoardTimer, LogLevel, SerialPort } from "../../firmware/board.js";
import {
  CMD_GC,
  CMD_HEADER_BYTES,
  CMD_READABLE,
  CMD_TIMER,
  CMD_WRITABLE,
  LOG_LEVELS,
  REC_ERROR,
  REC_EVENT,
  REC_LED,
  REC_LOG,
  REC_RESET,
  REC_SERIAL_OPEN,
  REC_TIMER_CANCEL,
  REC_TIMER_CREATE,
  REC_TIMER_SCHEDULE,
  REQ_FLUSH,
  REQ_RANDOM,
  REQ_READ,
  REQ_WRITABLE,
  REQ_WRITE,
} from "./protocol.js";
import { XsWorkerError, type XsMeter, type XsWorker } from "./worker.js";

/** A firmware callback threw inside XS (rethrown into the host event that ran it). */
export class XsFirmwareError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "XsFirmwareError";
  }
}

/** Compute and counts per kind of host event, for benchmarks. */
export interface XsEventStats {
  readable: { count: number; compute: number };
  writable: { count: number; compute: number };
  timer: { count: number; compute: number };
  /** Synchronous round trips XS made (serial read/write/writable, random, flushes). */
  requests: number;
}

const EMPTY = new Uint8Array(0);

/**
 * Live heap slots in XS right now: runs a garbage collection in a command of its own (evaluations
 * retain a slot each, commands do not, so only this measures growth exactly). Needs the harness.
 */
export function liveSlots(worker: XsWorker): number {
  const header = Buffer.alloc(CMD_HEADER_BYTES);
  header[0] = CMD_GC;
  return worker.command(header).meter.currentHeapCount;
}

export class XsBoardHost {
  /** Free-form events from XS code (`xsHarness.emit(message)`), in order with the board effects. */
  onEvent: ((message: string) => void) | undefined;
  /** Called after every host event delivered to XS with that crank's metering. */
  onCrank: ((kind: "readable" | "writable" | "timer", meter: XsMeter) => void) | undefined;
  readonly stats: XsEventStats = {
    readable: { count: 0, compute: 0 },
    writable: { count: 0, compute: 0 },
    timer: { count: 0, compute: 0 },
    requests: 0,
  };

  private serial: SerialPort | undefined;
  private readonly timers: BoardTimer[] = [];
  private readonly header = Buffer.alloc(CMD_HEADER_BYTES);
  private readBuffer = new Uint8Array(4096);
  private readonly replyWord = Buffer.alloc(8);
  private pendingError: XsFirmwareError | undefined;
  private delivering = false;
  private readonly deferred: (() => void)[] = [];

  constructor(
    readonly worker: XsWorker,
    readonly board: Board,
  ) {
    worker.onQuery = (request) => this.query(request);
    // The proxy exposes `moduleReset` only when the host board has one, as the firmware expects.
    worker.evaluate(`xsHarness.board(${board.moduleReset ? "true" : "false"}); undefined`);
  }

  /**
   * Evaluates code in XS with the proxy clock set to the host's time, applies the board effects
   * it queued, and rethrows a firmware error it reported. Use for set-up and test probes.
   */
  evaluate(code: string): XsMeter {
    const clock = this.board.clock;
    const { reply, meter } = this.worker.evaluate(
      // The reply is read through `result` after XS has run its promise jobs (xsnap's protocol), so
      // effects of code that continues in a promise are applied too.
      `xsHarness.setTime(${clock.now()}, ${clock.wallTime()}); xsHarness.guard(() => { ${code}\n }); ({ get result() { return xsHarness.flush(); } });`,
    );
    this.apply(reply);
    this.throwPending();
    return meter;
  }

  /** Like evaluate, for an expression whose JSON value comes back. */
  evaluateJson<T = unknown>(expression: string): T {
    const clock = this.board.clock;
    this.worker.evaluate(`xsHarness.setTime(${clock.now()}, ${clock.wallTime()}); undefined`);
    return this.worker.evaluateJson<T>(expression).value;
  }

  private deliver(op: number, operand: number, kind: "readable" | "writable" | "timer"): void {
    if (this.delivering) {
      // A host part called back re-entrantly (board.ts forbids it): keep order, run it after.
      this.deferred.push(() => this.deliver(op, operand, kind));
      return;
    }
    this.delivering = true;
    try {
      const h = this.header;
      h[0] = op;
      h.writeDoubleLE(this.board.clock.now(), 1);
      h.writeDoubleLE(this.board.clock.wallTime(), 9);
      h.writeUInt32LE(operand >>> 0, 17);
      const { reply, meter } = this.worker.command(h);
      const s = this.stats[kind];
      s.count++;
      s.compute += meter.compute;
      this.apply(reply);
      this.onCrank?.(kind, meter);
    } finally {
      this.delivering = false;
    }
    while (this.deferred.length) this.deferred.shift()?.();
    this.throwPending();
  }

  private throwPending(): void {
    const error = this.pendingError;
    if (error) {
      this.pendingError = undefined;
      throw error;
    }
  }

  /** XS's issueCommand: records, then one request whose answer XS waits for. */
  private query(request: Uint8Array): Uint8Array {
    this.stats.requests++;
    const end = this.apply(request, true);
    if (end >= request.length) throw new XsWorkerError("request record missing");
    const kind = request[end];
    const operand = request[end + 1] | (request[end + 2] << 8) | (request[end + 3] << 16) | (request[end + 4] << 24);
    switch (kind) {
      case REQ_FLUSH:
        return EMPTY;
      case REQ_READ: {
        const port = this.requireSerial();
        const max = operand >>> 0;
        if (this.readBuffer.length < max) this.readBuffer = new Uint8Array(max);
        const n = port.read(this.readBuffer.subarray(0, max));
        return this.readBuffer.subarray(0, n);
      }
      case REQ_WRITE: {
        const port = this.requireSerial();
        const accepted = port.write(request.subarray(end + 5, end + 5 + (operand >>> 0)));
        this.replyWord.writeUInt32LE(accepted >>> 0, 0);
        return this.replyWord.subarray(0, 4);
      }
      case REQ_WRITABLE:
        this.replyWord.writeUInt32LE(this.requireSerial().writable >>> 0, 0);
        return this.replyWord.subarray(0, 4);
      case REQ_RANDOM:
        this.replyWord.writeDoubleLE(this.board.random(), 0);
        return this.replyWord;
      default:
        throw new XsWorkerError(`unknown request ${kind} from XS`);
    }
  }

  private requireSerial(): SerialPort {
    if (!this.serial) throw new XsWorkerError("serial request before openSerial");
    return this.serial;
  }

  /**
   * Applies one-way records from `bytes`; with `untilRequest`, stops at the first request record
   * and returns its offset.
   */
  private apply(bytes: Uint8Array, untilRequest = false): number {
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let i = 0;
    while (i < data.length) {
      const kind = data[i];
      if (kind >= 0x80) {
        if (untilRequest) return i;
        throw new XsWorkerError(`request record ${kind} in a reply`);
      }
      switch (kind) {
        case REC_LED:
          this.board.led.write(data[i + 1] as 0 | 1);
          i += 2;
          break;
        case REC_RESET:
          this.board.moduleReset?.write(data[i + 1] as 0 | 1);
          i += 2;
          break;
        case REC_TIMER_CREATE: {
          const id = data.readUInt16LE(i + 1);
          this.timers[id] = this.board.clock.createTimer(() => this.deliver(CMD_TIMER, id, "timer"));
          i += 3;
          break;
        }
        case REC_TIMER_SCHEDULE:
          this.timers[data.readUInt16LE(i + 1)].schedule(data.readDoubleLE(i + 3));
          i += 11;
          break;
        case REC_TIMER_CANCEL:
          this.timers[data.readUInt16LE(i + 1)].cancel();
          i += 3;
          break;
        case REC_LOG: {
          const level: LogLevel = LOG_LEVELS[data[i + 1]] ?? "info";
          const n = data.readUInt16LE(i + 2);
          this.board.log(level, data.toString("utf8", i + 4, i + 4 + n));
          i += 4 + n;
          break;
        }
        case REC_SERIAL_OPEN:
          this.serial = this.board.openSerial({
            onReadable: (count) => this.deliver(CMD_READABLE, count, "readable"),
            onWritable: (count) => this.deliver(CMD_WRITABLE, count, "writable"),
          });
          i += 1;
          break;
        case REC_ERROR:
        case REC_EVENT: {
          const n = data.readUInt16LE(i + 1);
          const text = data.toString("utf8", i + 3, i + 3 + n);
          if (kind === REC_EVENT) this.onEvent?.(text);
          else this.pendingError ??= new XsFirmwareError(text);
          i += 3 + n;
          break;
        }
        default:
          throw new XsWorkerError(`unknown record ${kind} from XS`);
      }
    }
    return i;
  }
}
