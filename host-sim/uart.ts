/*
 * A virtual UART between the MCU (the firmware, through the board's SerialPort seam) and the
 * ESP8266 emulator, timed on a VirtualClock.
 *
 * Public API (for the host board, the emulator and the driver tests):
 *
 *   const uart = new VirtualUart(clock, { baud: 115200, chunkSize: 16, txFifoSize: 128,
 *                                          rxBufferSize: 1024, faults: { seed: 1, dropRate: 0.01 } });
 *   const port = uart.mcu.open({ onReadable(count) {...}, onWritable(count) {...} }); // board SerialPort
 *   uart.module.onData = (bytes) => ...;   // the emulator's receive side (bytes: a fresh copy)
 *   uart.module.write(bytes);              // the emulator transmits (unbounded queue, baud-timed)
 *   uart.module.discard(); uart.module.setBaud(n); uart.module.pending
 *   uart.onTraffic = (direction, bytes, time) => ...;  // tap: "to-module" | "to-mcu", as delivered
 *   uart.setFaults({ dropRate, corruptRate, delayRate, extraDelayMs, seed }, "to-mcu" | "to-module" | "both");
 *   uart.stats  // { toModule, toMcu, dropped, corrupted, delayed, overruns }
 *   uart.byteTimeMs  // time one byte takes on the wire
 *   uart.setBaud(n) // both ends switch at once (AT+UART_CUR)
 *   uart.setChunkSize(n, direction?); uart.rxAvailable  // bytes waiting in the MCU's RX buffer
 *   seededRandom(seed) -> () => number in [0, 1)      // mulberry32, for anything that needs jitter
 *
 * Defaults: 115200 baud, 10 bits a byte, chunkSize 16 (both ways; moduleChunkSize overrides the
 * MCU-to-module side), txFifoSize 128, txLowWater 0 (onWritable when the FIFO is empty), RX buffer
 * 1024, no faults.
 *
 * Model, per direction: a wire that carries one byte per `bitsPerByte / baud` seconds (115200 8N1:
 * 10 bits, ~86.8 us a byte). Bytes are handed to the receiver in chunks: when `chunkSize` bytes have
 * arrived, or when the wire goes idle (the UART's RX timeout interrupt), so a reader sees the stream
 * split as on real hardware. On the MCU side:
 * - the transmit FIFO holds `txFifoSize` bytes: `write` accepts at most `writable` and `onWritable`
 *   fires when the FIFO has drained to `txLowWater` after a write (ECMA-419);
 * - received chunks land in an RX buffer of `rxBufferSize` bytes; bytes that do not fit are lost and
 *   counted in `stats.overruns` (no flow control, as on most boards).
 * Every callback runs from a clock event, never inside the caller's read/write (board.ts rule).
 * Faults are drawn from a seeded generator so a failing run replays exactly.
 */
import type { SerialHandlers, SerialPort } from "../firmware/board.js";
import type { VirtualClock } from "./clock.js";

export type UartDirection = "to-module" | "to-mcu";

export interface UartFaults {
  /** Probability that a byte is lost on the wire. */
  dropRate?: number;
  /** Probability that a byte arrives with one random bit flipped. */
  corruptRate?: number;
  /** Probability that the wire pauses `extraDelayMs` before a byte (order is kept). */
  delayRate?: number;
  extraDelayMs?: number;
  /** Seed of the fault generator (default 1). */
  seed?: number;
}

export interface UartOptions {
  baud?: number;
  /** Bits on the wire per byte: start + data + parity + stop. 8N1 = 10. */
  bitsPerByte?: number;
  /** Bytes per delivery to the receiver (both directions); 1 delivers byte by byte. */
  chunkSize?: number;
  /** Chunk size towards the module only (defaults to chunkSize). */
  moduleChunkSize?: number;
  txFifoSize?: number;
  /** onWritable fires when the FIFO level falls to this (default: empty). */
  txLowWater?: number;
  rxBufferSize?: number;
  faults?: UartFaults;
}

export interface UartStats {
  /** Bytes delivered to the module / to the MCU (after faults). */
  toModule: number;
  toMcu: number;
  dropped: number;
  corrupted: number;
  delayed: number;
  /** Bytes lost because the MCU's RX buffer was full. */
  overruns: number;
}

export interface UartModuleEnd {
  /** Queue bytes for transmission to the MCU (copied). */
  write(bytes: Uint8Array): void;
  /** Receives what the MCU sent, a chunk at a time (a fresh copy the callee may keep). */
  onData: ((bytes: Uint8Array) => void) | undefined;
  /** Bytes still queued towards the MCU. */
  readonly pending: number;
  /** Drops the bytes queued towards the MCU that are not on the wire yet (a reset cuts the line). */
  discard(): void;
  /** Both ends switch baud (AT+UART_CUR). */
  setBaud(baud: number): void;
}

/** mulberry32: small, fast, seedable; good enough for fault injection and jitter. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class FaultPlan {
  dropRate = 0;
  corruptRate = 0;
  delayRate = 0;
  extraDelayMs = 0;
  random: () => number = seededRandom(1);

  set(f: UartFaults): void {
    this.dropRate = f.dropRate ?? 0;
    this.corruptRate = f.corruptRate ?? 0;
    this.delayRate = f.delayRate ?? 0;
    this.extraDelayMs = f.extraDelayMs ?? 0;
    this.random = seededRandom(f.seed ?? 1);
  }
}

/** One direction of the link: a byte queue, the wire, and the receiver's chunk assembly. */
class Wire {
  private queue: number[] = [];
  private head = 0;
  private busy = false;
  private chunk: number[] = [];
  private inFlight = 0;
  private pendingGap = 0;
  private readonly completeFn = () => this.complete();
  readonly faults = new FaultPlan();

  constructor(
    private readonly uart: VirtualUart,
    private readonly clock: VirtualClock,
    readonly direction: UartDirection,
    public chunkSize: number,
    private readonly capacity: number,
    private readonly deliver: (chunk: Uint8Array) => void,
    private readonly onDequeue: () => void,
    private readonly batch: boolean,
  ) {}

  get level(): number {
    return this.queue.length - this.head;
  }

  get room(): number {
    return this.capacity - this.level;
  }

  discard(): void {
    this.queue = [];
    this.head = 0;
  }

  enqueue(bytes: Uint8Array, count: number): void {
    for (let i = 0; i < count; i++) this.queue.push(bytes[i]);
    this.kick();
  }

  private kick(): void {
    if (this.busy || this.level === 0) return;
    this.busy = true;
    const f = this.faults;
    let gap = this.pendingGap;
    this.pendingGap = 0;
    if (gap === 0 && f.delayRate > 0 && f.random() < f.delayRate) {
      gap = f.extraDelayMs;
      this.uart.stats.delayed++;
    }
    // Towards the MCU the bytes of one chunk travel as one event (what the receiver sees is the
    // same: a chunk at the time its last byte lands). Towards the module each byte is its own
    // event so the MCU's TX FIFO drains byte by byte, as `writable` shows on a real UART.
    let count = 1;
    if (this.batch) {
      const want = Math.min(this.level, Math.max(1, this.chunkSize - this.chunk.length));
      while (count < want) {
        if (f.delayRate > 0 && f.random() < f.delayRate) {
          // A pause inside the chunk: the line idles there, so the chunk ends before it.
          this.pendingGap = f.extraDelayMs;
          this.uart.stats.delayed++;
          break;
        }
        count++;
      }
    }
    this.inFlight = count;
    this.clock.setTimeout(this.completeFn, gap + count * this.uart.byteTimeMs);
  }

  private complete(): void {
    this.busy = false;
    const count = Math.min(this.inFlight, this.level); // fewer if discarded meanwhile
    this.inFlight = 0;
    if (count === 0) {
      this.kick();
      return;
    }
    const f = this.faults;
    for (let i = 0; i < count; i++) {
      let byte = this.queue[this.head++];
      if (f.dropRate > 0 && f.random() < f.dropRate) {
        this.uart.stats.dropped++;
        continue;
      }
      if (f.corruptRate > 0 && f.random() < f.corruptRate) {
        byte ^= 1 << Math.floor(f.random() * 8);
        this.uart.stats.corrupted++;
      }
      this.chunk.push(byte);
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.onDequeue();
    // Idle line (the RX timeout interrupt), a pause ahead, or a full chunk hands the bytes over.
    if (this.chunk.length > 0 && (this.chunk.length >= this.chunkSize || this.level === 0 || this.pendingGap > 0)) {
      const out = Uint8Array.from(this.chunk);
      this.chunk.length = 0;
      this.uart.onTraffic?.(this.direction, out, this.clock.now());
      this.deliver(out);
    }
    this.kick();
  }
}

export class VirtualUart {
  readonly stats: UartStats = { toModule: 0, toMcu: 0, dropped: 0, corrupted: 0, delayed: 0, overruns: 0 };
  /** Tap for the dashboard and tests: every chunk as the receiving side gets it. */
  onTraffic: ((direction: UartDirection, bytes: Uint8Array, virtualTime: number) => void) | undefined;

  readonly mcu: { open(handlers: SerialHandlers): SerialPort };
  readonly module: UartModuleEnd;

  private baud: number;
  private readonly bitsPerByte: number;
  private readonly txFifoSize: number;
  private readonly txLowWater: number;
  private readonly rx: Uint8Array;
  private rxHead = 0;
  private rxCount = 0;
  private handlers: SerialHandlers | undefined;
  private writableArmed = false;
  private readonly toModule: Wire;
  private readonly toMcu: Wire;

  constructor(private readonly clock: VirtualClock, options: UartOptions = {}) {
    this.baud = options.baud ?? 115200;
    this.bitsPerByte = options.bitsPerByte ?? 10;
    const chunk = Math.max(1, options.chunkSize ?? 16);
    this.txFifoSize = Math.max(1, options.txFifoSize ?? 128);
    this.txLowWater = Math.min(this.txFifoSize - 1, Math.max(0, options.txLowWater ?? 0));
    this.rx = new Uint8Array(Math.max(1, options.rxBufferSize ?? 1024));

    let moduleOnData: ((bytes: Uint8Array) => void) | undefined;
    this.toModule = new Wire(
      this,
      clock,
      "to-module",
      Math.max(1, options.moduleChunkSize ?? chunk),
      this.txFifoSize,
      (bytes) => {
        this.stats.toModule += bytes.length;
        moduleOnData?.(bytes);
      },
      () => this.afterTxDequeue(),
      false,
    );
    this.toMcu = new Wire(this, clock, "to-mcu", chunk, Infinity, (bytes) => this.receive(bytes), () => {}, true);
    if (options.faults) this.setFaults(options.faults, "both");

    const toMcu = this.toMcu;
    this.module = {
      write: (bytes: Uint8Array) => toMcu.enqueue(bytes, bytes.length),
      get onData() {
        return moduleOnData;
      },
      set onData(fn) {
        moduleOnData = fn;
      },
      get pending() {
        return toMcu.level;
      },
      discard: () => toMcu.discard(),
      setBaud: (baud: number) => this.setBaud(baud),
    };

    const self = this;
    const port: SerialPort = {
      read(view: Uint8Array): number {
        return self.readInto(view);
      },
      write(view: Uint8Array): number {
        return self.writeFromMcu(view);
      },
      get writable(): number {
        return self.toModule.room;
      },
    };
    this.mcu = {
      open: (handlers: SerialHandlers): SerialPort => {
        this.handlers = handlers;
        // ECMA-419: the port reports its initial room once opened.
        this.clock.setTimeout(() => this.handlers?.onWritable(this.toModule.room), 0);
        return port;
      },
    };
  }

  get byteTimeMs(): number {
    return (this.bitsPerByte * 1000) / this.baud;
  }

  /** Both ends switch baud (bytes on the wire keep their timing). */
  setBaud(baud: number): void {
    this.baud = baud;
  }

  setFaults(faults: UartFaults, direction: UartDirection | "both" = "both"): void {
    if (direction !== "to-mcu") this.toModule.faults.set(faults);
    if (direction !== "to-module") this.toMcu.faults.set(faults);
  }

  setChunkSize(chunkSize: number, direction: UartDirection | "both" = "both"): void {
    if (direction !== "to-mcu") this.toModule.chunkSize = Math.max(1, chunkSize);
    if (direction !== "to-module") this.toMcu.chunkSize = Math.max(1, chunkSize);
  }

  /** Bytes waiting in the MCU's RX buffer. */
  get rxAvailable(): number {
    return this.rxCount;
  }

  private writeFromMcu(view: Uint8Array): number {
    const n = Math.min(view.length, this.toModule.room);
    this.writableArmed = true;
    if (n > 0) this.toModule.enqueue(view, n);
    return n;
  }

  private afterTxDequeue(): void {
    if (this.writableArmed && this.toModule.level <= this.txLowWater) {
      this.writableArmed = false;
      this.clock.setTimeout(() => this.handlers?.onWritable(this.toModule.room), 0);
    }
  }

  private receive(bytes: Uint8Array): void {
    const size = this.rx.length;
    let stored = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (this.rxCount === size) {
        this.stats.overruns += bytes.length - i;
        break;
      }
      this.rx[(this.rxHead + this.rxCount) % size] = bytes[i];
      this.rxCount++;
      stored++;
    }
    this.stats.toMcu += stored;
    if (stored > 0) {
      // Scheduled, not called: the handler may read or write and must not be re-entered.
      this.clock.setTimeout(() => {
        if (this.rxCount > 0) this.handlers?.onReadable(this.rxCount);
      }, 0);
    }
  }

  private readInto(view: Uint8Array): number {
    const n = Math.min(view.length, this.rxCount);
    const size = this.rx.length;
    for (let i = 0; i < n; i++) view[i] = this.rx[(this.rxHead + i) % size];
    this.rxHead = (this.rxHead + n) % size;
    this.rxCount -= n;
    return n;
  }
}
