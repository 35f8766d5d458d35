/*
 * The board's SerialPort seam (firmware/board.ts) over a real serial device with the npm
 * `serialport` package, in real time: a USB-UART adapter wired to an ESP8266
 * (`--serial /dev/ttyUSB0 --baud 115200`), or one end of a socat pty pair in tests.
 *
 * Public API:
 *
 *   const serial = new SerialPortBoardSerial({ path: "/dev/ttyUSB0", baudRate: 115200 }, handlers);
 *   await serial.opened;            // rejects with a clear message when the device cannot be opened
 *   serial.read(view) / serial.write(view) / serial.writable   // the SerialPort seam
 *   serial.stats                    // { read, written, overruns }
 *   serial.onError = (e) => ...     // I/O errors after opening
 *   serial.onLost = (e) => ...      // the device went away (adapter unplugged): reported at once
 *   serial.onTraffic = (direction, bytes) => ...   // every byte both ways ("to-module": written)
 *   await serial.close();
 *   boardSerial({ path, baudRate }) // -> (handlers) => SerialPort, for Board.openSerial
 *   const port = await SerialPortBoardSerial.open({ path, baudRate });   // opened before the board starts
 *   port.attach(handlers)           // then Board.openSerial hands the firmware's callbacks over
 *
 * ECMA-419 behaviour, as on the chip: `write` accepts at most `writable` bytes (a software FIFO of
 * `txFifoSize`, default 128, emptied as the OS takes the bytes) and `onWritable` follows when it
 * has drained; received bytes wait in an `rxBufferSize` buffer (overflow is counted and dropped,
 * like a UART overrun) and `onReadable(count)` announces them. Callbacks always come from the
 * event loop (setImmediate), never from inside read/write.
 */
import { SerialPort as NodeSerialPort } from "serialport";
import type { SerialHandlers, SerialPort } from "../../firmware/board.js";

export interface BoardSerialOptions {
  path: string;
  baudRate: number;
  /** Bytes `write` may have in flight (default 128, like a UART FIFO). */
  txFifoSize?: number;
  /** Receive buffer (default 4096). */
  rxBufferSize?: number;
  /** RTS/CTS hardware flow control (AT+UART_CUR=...,3 on the module). */
  rtscts?: boolean;
}

export class SerialPortBoardSerial implements SerialPort {
  readonly opened: Promise<void>;
  readonly stats = { read: 0, written: 0, overruns: 0 };
  onError: ((error: Error) => void) | undefined;
  onLost: ((error: Error) => void) | undefined;
  onTraffic: ((direction: "to-module" | "to-mcu", bytes: Uint8Array) => void) | undefined;
  /** The device went away while open (not closed by us). */
  lost = false;

  private readonly port: NodeSerialPort;
  private handlers: SerialHandlers | undefined;
  private readonly rx: Uint8Array;
  private rxHead = 0;
  private rxCount = 0;
  private inFlight = 0;
  private readonly fifo: number;
  private readablePending = false;
  private writablePending = false;
  private closed = false;

  /** Opens the port before anyone reads it: a missing device is an error before the board starts. */
  static async open(options: BoardSerialOptions): Promise<SerialPortBoardSerial> {
    const serial = new SerialPortBoardSerial(options);
    await serial.opened;
    return serial;
  }

  constructor(private readonly options: BoardSerialOptions, handlers?: SerialHandlers) {
    this.handlers = handlers;
    this.fifo = options.txFifoSize ?? 128;
    this.rx = new Uint8Array(options.rxBufferSize ?? 4096);
    this.port = new NodeSerialPort({
      path: options.path,
      baudRate: options.baudRate,
      rtscts: options.rtscts ?? false,
      autoOpen: false,
    });
    this.opened = new Promise<void>((resolve, reject) => {
      this.port.open((error) => {
        if (error) {
          reject(new Error(`cannot open serial port ${options.path}: ${openFailure(error)}`));
          return;
        }
        this.scheduleWritable();
        resolve();
      });
    });
    this.opened.catch(() => {}); // the owner awaits it; no unhandled rejection if it does not
    this.port.on("data", (chunk: Buffer) => this.receive(chunk));
    this.port.on("error", (error: Error) => this.onError?.(error));
    this.port.on("close", (error: (Error & { disconnected?: boolean }) | null) => {
      if (this.closed) return;
      this.closed = true;
      this.lost = true;
      const reason = error?.disconnected ? "the device is gone (adapter unplugged?)" : (error?.message ?? "closed");
      this.onLost?.(new Error(`serial port ${options.path} closed: ${reason}`));
    });
  }

  get path(): string {
    return this.options.path;
  }

  /** Hands the firmware's callbacks over (a port opened with open()). */
  attach(handlers: SerialHandlers): this {
    this.handlers = handlers;
    this.scheduleWritable();
    if (this.rxCount > 0) this.announceReadable();
    return this;
  }

  get writable(): number {
    return this.closed ? 0 : this.fifo - this.inFlight;
  }

  read(view: Uint8Array): number {
    const n = Math.min(view.length, this.rxCount);
    const size = this.rx.length;
    for (let i = 0; i < n; i++) view[i] = this.rx[(this.rxHead + i) % size];
    this.rxHead = (this.rxHead + n) % size;
    this.rxCount -= n;
    this.stats.read += n;
    return n;
  }

  write(view: Uint8Array): number {
    const n = Math.min(view.length, this.writable);
    if (n === 0) return 0;
    this.inFlight += n;
    this.stats.written += n;
    const bytes = Buffer.from(view.subarray(0, n));
    this.onTraffic?.("to-module", bytes);
    this.port.write(bytes, () => {
      this.inFlight -= n;
      if (this.inFlight === 0) this.scheduleWritable();
    });
    return n;
  }

  /** Opens a lost port again (the adapter is back); rejects while it is still gone. */
  reopen(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!this.lost) return resolve();
      this.port.open((error) => {
        if (error) return reject(new Error(`cannot open serial port ${this.options.path}: ${openFailure(error)}`));
        this.lost = false;
        this.closed = false;
        this.inFlight = 0;
        this.scheduleWritable();
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.lost = false;
    return new Promise<void>((resolve) => {
      if (!this.port.isOpen) return resolve();
      this.port.close(() => resolve());
    });
  }

  private receive(chunk: Buffer): void {
    this.onTraffic?.("to-mcu", chunk);
    const size = this.rx.length;
    let i = 0;
    for (; i < chunk.length && this.rxCount < size; i++) {
      this.rx[(this.rxHead + this.rxCount) % size] = chunk[i];
      this.rxCount++;
    }
    this.stats.overruns += chunk.length - i;
    this.announceReadable();
  }

  private announceReadable(): void {
    if (this.readablePending) return;
    this.readablePending = true;
    setImmediate(() => {
      this.readablePending = false;
      if (this.rxCount > 0 && !this.closed) this.handlers?.onReadable(this.rxCount);
    });
  }

  private scheduleWritable(): void {
    if (this.writablePending) return;
    this.writablePending = true;
    setImmediate(() => {
      this.writablePending = false;
      if (!this.closed) this.handlers?.onWritable(this.writable);
    });
  }
}

/** For Board.openSerial: opens the device when the firmware opens its UART. */
export function boardSerial(options: BoardSerialOptions): (handlers: SerialHandlers) => SerialPortBoardSerial {
  return (handlers) => new SerialPortBoardSerial(options, handlers);
}

/** The OS's reason in words a user acts on. */
function openFailure(error: Error & { code?: string }): string {
  const text = error.message;
  if (/ENOENT|No such file/i.test(text)) return "no such device (is the adapter plugged in? `ls /dev/tty*` lists the ports)";
  if (/EACCES|Permission denied/i.test(text)) return "permission denied (on Linux, add yourself to the dialout group: sudo usermod -aG dialout $USER, then log in again)";
  if (/EBUSY|Resource busy|Cannot lock/i.test(text)) return "busy: another program has it open";
  return text.replace(/^Error:\s*/, "");
}
