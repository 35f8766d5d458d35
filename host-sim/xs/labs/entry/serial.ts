/*
 * Stand-in for Moddable's `embedded:io/serial` as the ESP32 port behaves (see firmware/moddable/
 * adapter.ts): read(n) returns an ArrayBuffer or undefined when nothing waits, read(buffer) fills
 * it and returns the count or undefined, write() throws "output full" past the FIFO's free room.
 * Backed by the proxy board's UART, so the bytes reach the virtual UART in Node.
 */
import type { SerialPort } from "../../../../firmware/board.js";
import { stackFrames, wiredBoard, wiring } from "./wiring.js";

interface SerialOptions {
  format?: string;
  onReadable?: (count: number) => void;
  onWritable?: (count: number) => void;
}

export default class Serial {
  private readonly port: SerialPort;

  constructor(options: SerialOptions) {
    if (options.format !== undefined && options.format !== "buffer") throw new Error("only the buffer format is supported");
    this.port = wiredBoard().openSerial({
      onReadable: (count) => {
        const depth = wiring.depth;
        if (!depth.on) {
          options.onReadable?.call(this, count);
          return;
        }
        depth.base = stackFrames().length;
        try {
          options.onReadable?.call(this, count);
        } finally {
          depth.base = -1;
        }
      },
      onWritable: (count) => options.onWritable?.call(this, count),
    });
  }

  read(arg: number | Uint8Array | ArrayBuffer): ArrayBuffer | number | undefined {
    if (typeof arg === "number") {
      const buffer = new Uint8Array(arg);
      const n = this.port.read(buffer);
      return n === 0 ? undefined : buffer.buffer.slice(0, n);
    }
    const view = arg instanceof ArrayBuffer ? new Uint8Array(arg) : arg;
    const n = this.port.read(view);
    return n === 0 ? undefined : n;
  }

  write(value: Uint8Array | ArrayBuffer): void {
    const view = value instanceof ArrayBuffer ? new Uint8Array(value) : value;
    if (view.length > this.port.writable) throw new Error("output full");
    this.port.write(view);
  }

  close(): void {}
}
