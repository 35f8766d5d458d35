/*
 * The Board the firmware sees inside XS: every part is a thin proxy over the xsnap message channel
 * to the host board in Node (board-host.ts), where the virtual UART, the ESP8266 emulator, the
 * broker and the VirtualClock live. Runs inside XS: no Node APIs, no TextEncoder.
 *
 * Exactness over speed: calls whose answer the firmware needs now (serial read/write/writable,
 * random) are synchronous round trips to the host's real objects, so the firmware gets the very
 * answers it would get on Node; calls without an answer (LED, timers, log) are queued in order in a
 * fixed outbox and ride along with the next round trip. Virtual time comes with every event.
 */
import type {
  Board,
  BoardTimer,
  Clock,
  DigitalOutput,
  Log,
  LogLevel,
  SerialHandlers,
  SerialPort,
} from "../../firmware/board.js";
import {
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

/** xsnap's synchronous call to Node (captured by the runtime before it hides the global). */
export type IssueCommand = (request: ArrayBuffer) => ArrayBuffer;

const OUTBOX_BYTES = 8192;

/** The ordered queue of one-way records, and the round trips that carry it. */
export class Channel {
  private readonly out = new Uint8Array(OUTBOX_BYTES);
  private readonly view = new DataView(this.out.buffer);
  private length = 0;

  constructor(private readonly issue: IssueCommand) {}

  /**
   * Makes room for `bytes` more bytes of records, flushing if needed. Keeps 5 bytes of headroom so a
   * request record always fits behind the queue.
   */
  reserve(bytes: number): number {
    if (this.length + bytes > OUTBOX_BYTES - 5) this.request(REQ_FLUSH);
    const at = this.length;
    this.length += bytes;
    return at;
  }

  u8(at: number, value: number): void {
    this.out[at] = value;
  }

  u16(at: number, value: number): void {
    this.view.setUint16(at, value, true);
  }

  u32(at: number, value: number): void {
    this.view.setUint32(at, value, true);
  }

  f64(at: number, value: number): void {
    this.view.setFloat64(at, value, true);
  }

  /** Queues a record carrying a string (UTF-8, truncated to 4 KB). */
  text(kind: number, prefix: number, message: string): void {
    const max = Math.min(message.length * 3, 4096);
    const hasPrefix = prefix >= 0 ? 1 : 0;
    const at = this.reserve(1 + hasPrefix + 2 + max);
    this.out[at] = kind;
    if (hasPrefix) this.out[at + 1] = prefix;
    const start = at + 1 + hasPrefix + 2;
    const n = encodeUtf8(message, this.out, start, max);
    this.view.setUint16(at + 1 + hasPrefix, n, true);
    this.length = start + n;
  }

  /**
   * Sends the queued records plus one request (`kind`, `operand`, then `payload` bytes) and returns
   * Node's reply. A payload too big for the outbox goes in a one-off buffer after a flush.
   */
  request(kind: number, operand = 0, payload?: Uint8Array): Uint8Array {
    const extra = payload ? payload.length : 0;
    if (this.length + 5 + extra > OUTBOX_BYTES) {
      if (this.length > 0) this.request(REQ_FLUSH);
      if (5 + extra > OUTBOX_BYTES) {
        const big = new Uint8Array(5 + extra);
        big[0] = kind;
        new DataView(big.buffer).setUint32(1, operand, true);
        if (payload) big.set(payload, 5);
        return new Uint8Array(this.issue(big.buffer));
      }
    }
    const at = this.length;
    this.out[at] = kind;
    this.view.setUint32(at + 1, operand, true);
    if (payload) this.out.set(payload, at + 5);
    this.length = 0;
    return new Uint8Array(this.issue(this.out.buffer.slice(0, at + 5 + extra)));
  }

  /** The queued records as the reply of the current command (and an empty queue). */
  takeReply(): ArrayBuffer {
    const reply = this.out.buffer.slice(0, this.length);
    this.length = 0;
    return reply;
  }
}

/** UTF-8 without TextEncoder (absent on Moddable). Returns the bytes written (at most `max`). */
function encodeUtf8(s: string, out: Uint8Array, at: number, max: number): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    const need = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (n + need > max) break;
    const p = at + n;
    if (need === 1) out[p] = c;
    else if (need === 2) {
      out[p] = 0xc0 | (c >> 6);
      out[p + 1] = 0x80 | (c & 63);
    } else if (need === 3) {
      out[p] = 0xe0 | (c >> 12);
      out[p + 1] = 0x80 | ((c >> 6) & 63);
      out[p + 2] = 0x80 | (c & 63);
    } else {
      out[p] = 0xf0 | (c >> 18);
      out[p + 1] = 0x80 | ((c >> 12) & 63);
      out[p + 2] = 0x80 | ((c >> 6) & 63);
      out[p + 3] = 0x80 | (c & 63);
    }
    n += need;
  }
  return n;
}

class ProxyOutput implements DigitalOutput {
  constructor(private readonly channel: Channel, private readonly kind: number) {}

  write(level: 0 | 1): void {
    // Same check as the host's VirtualLed, so a bad level fails in the caller on XS too.
    if (level !== 0 && level !== 1) throw new RangeError("digital level must be 0 or 1");
    const at = this.channel.reserve(2);
    this.channel.u8(at, this.kind);
    this.channel.u8(at + 1, level);
  }
}

class ProxyTimer implements BoardTimer {
  constructor(private readonly channel: Channel, private readonly id: number) {}

  schedule(ms: number): void {
    const at = this.channel.reserve(11);
    this.channel.u8(at, REC_TIMER_SCHEDULE);
    this.channel.u16(at + 1, this.id);
    this.channel.f64(at + 3, ms);
  }

  cancel(): void {
    const at = this.channel.reserve(3);
    this.channel.u8(at, REC_TIMER_CANCEL);
    this.channel.u16(at + 1, this.id);
  }
}

class ProxyClock implements Clock {
  current = 0;
  wall = -1;
  readonly callbacks: (() => void)[] = [];

  constructor(private readonly channel: Channel) {}

  now(): number {
    return this.current;
  }

  wallTime(): number {
    return this.wall;
  }

  createTimer(callback: () => void): BoardTimer {
    const id = this.callbacks.length;
    if (id > 0xffff) throw new RangeError("too many timers");
    this.callbacks.push(callback);
    const at = this.channel.reserve(3);
    this.channel.u8(at, REC_TIMER_CREATE);
    this.channel.u16(at + 1, id);
    return new ProxyTimer(this.channel, id);
  }
}

class ProxySerial implements SerialPort {
  constructor(private readonly channel: Channel) {}

  read(view: Uint8Array): number {
    if (view.length === 0) return 0;
    const bytes = this.channel.request(REQ_READ, view.length);
    const n = Math.min(bytes.length, view.length);
    view.set(n === bytes.length ? bytes : bytes.subarray(0, n), 0);
    return n;
  }

  write(view: Uint8Array): number {
    const reply = this.channel.request(REQ_WRITE, view.length, view);
    return new DataView(reply.buffer, reply.byteOffset, reply.byteLength).getUint32(0, true);
  }

  get writable(): number {
    const reply = this.channel.request(REQ_WRITABLE);
    return new DataView(reply.buffer, reply.byteOffset, reply.byteLength).getUint32(0, true);
  }
}

const LEVEL_CODES: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export class ProxyBoard implements Board {
  readonly led: DigitalOutput;
  readonly moduleReset: DigitalOutput | undefined;
  readonly clock: ProxyClock;
  readonly log: Log;
  /** The firmware's serial handlers, once it opened the port. */
  serialHandlers: SerialHandlers | undefined;

  constructor(private readonly channel: Channel, hasModuleReset: boolean) {
    this.led = new ProxyOutput(channel, REC_LED);
    this.moduleReset = hasModuleReset ? new ProxyOutput(channel, REC_RESET) : undefined;
    this.clock = new ProxyClock(channel);
    this.log = (level: LogLevel, message: string) => {
      channel.text(REC_LOG, LEVEL_CODES[level] ?? 1, String(message));
    };
  }

  openSerial(handlers: SerialHandlers): SerialPort {
    if (this.serialHandlers) throw new Error("the ESP8266 UART is already open");
    this.serialHandlers = handlers;
    const at = this.channel.reserve(1);
    this.channel.u8(at, REC_SERIAL_OPEN);
    return new ProxySerial(this.channel);
  }

  random(): number {
    const reply = this.channel.request(REQ_RANDOM);
    return new DataView(reply.buffer, reply.byteOffset, reply.byteLength).getFloat64(0, true);
  }

  /** Tells Node that a firmware callback threw (Node rethrows it into its VirtualClock). */
  reportError(error: unknown): void {
    let message: string;
    try {
      const e = error as { stack?: unknown };
      message = typeof e?.stack === "string" && e.stack ? String(error) + "\n" + e.stack : String(error);
    } catch {
      message = "unprintable exception";
    }
    this.channel.text(REC_ERROR, -1, message);
  }

  /** A free-form event for tests and harness code (Node's XsBoardHost.onEvent). */
  emit(message: string): void {
    this.channel.text(REC_EVENT, -1, message);
  }
}
