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
 *   await serial.close();
 *   boardSerial({ path, baudRate }) // -> (handlers) => SerialPort, for Board.openSerial
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

  private readonly port: NodeSerialPort;
  private readonly rx: Uint8Array;
  private rxHead = 0;
  private rxCount = 0;
  private inFlight = 0;
  private readonly fifo: number;
  private readablePending = false;
  private writablePending = false;
  private closed = false;

  constructor(options: BoardSerialOptions, private readonly handlers: SerialHandlers) {
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
          reject(new Error(`cannot open serial port ${options.path} at ${options.baudRate} baud: ${error.message}`));
          return;
        }
        this.scheduleWritable();
        resolve();
      });
    });
    this.opened.catch(() => {}); // the owner awaits it; no unhandled rejection if it does not
    this.port.on("data", (chunk: Buffer) => this.receive(chunk));
    this.port.on("error", (error: Error) => this.onError?.(error));
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
    this.port.write(Buffer.from(view.subarray(0, n)), () => {
      this.inFlight -= n;
      if (this.inFlight === 0) this.scheduleWritable();
    });
    return n;
  }

  close(): Promise<void> {
    this.closed = true;
    return new Promise<void>((resolve) => {
      if (!this.port.isOpen) return resolve();
      this.port.close(() => resolve());
    });
  }

  private receive(chunk: Buffer): void {
    const size = this.rx.length;
    let i = 0;
    for (; i < chunk.length && this.rxCount < size; i++) {
      this.rx[(this.rxHead + this.rxCount) % size] = chunk[i];
      this.rxCount++;
    }
    this.stats.overruns += chunk.length - i;
    if (this.readablePending) return;
    this.readablePending = true;
    setImmediate(() => {
      this.readablePending = false;
      if (this.rxCount > 0 && !this.closed) this.handlers.onReadable(this.rxCount);
    });
  }

  private scheduleWritable(): void {
    if (this.writablePending) return;
    this.writablePending = true;
    setImmediate(() => {
      this.writablePending = false;
      if (!this.closed) this.handlers.onWritable(this.writable);
    });
  }
}

/** For Board.openSerial: opens the device when the firmware opens its UART. */
export function boardSerial(options: BoardSerialOptions): (handlers: SerialHandlers) => SerialPortBoardSerial {
  return (handlers) => new SerialPortBoardSerial(options, handlers);
}
