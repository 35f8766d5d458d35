// A transparent Duplex wrapped around one client connection, so the broker side can see the exact bytes
// that crossed the wire both ways (re-serialising parsed packets would hide encoding bugs in the firmware),
// cut into MQTT control packets by a framer that only reads the fixed header.
//
// Public API:
//   class TapStream extends Duplex { constructor(inner: Duplex, onIn: (b: Uint8Array) => void, onOut: (b: Uint8Array) => void) }
//   class MqttFramer { push(chunk: Uint8Array): Uint8Array[]; broken: boolean }
import { Duplex } from "node:stream";

export class TapStream extends Duplex {
  private readonly inner: Duplex;
  private readonly onOut: (bytes: Uint8Array) => void;

  constructor(inner: Duplex, onIn: (bytes: Uint8Array) => void, onOut: (bytes: Uint8Array) => void) {
    super({ allowHalfOpen: false });
    this.inner = inner;
    this.onOut = onOut;
    inner.on("data", (chunk: Buffer | string) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk, "latin1") : chunk;
      onIn(bytes);
      if (!this.push(bytes)) inner.pause();
    });
    inner.on("end", () => this.push(null));
    // The peer's errors end the connection; they are not the broker's errors.
    inner.on("error", () => this.destroy());
    inner.on("close", () => this.destroy());
  }

  override _read(): void {
    if (this.inner.isPaused()) this.inner.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.inner.destroyed || this.inner.writableEnded) {
      cb(new Error("connection closed"));
      return;
    }
    this.onOut(chunk);
    this.inner.write(chunk, (err) => cb(err ?? null));
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.inner.writableEnded) this.inner.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (!this.inner.destroyed) this.inner.destroy();
    cb(err);
  }
}

/** Splits a byte stream into whole MQTT control packets (fixed header + remaining length). */
export class MqttFramer {
  private buf: Buffer = Buffer.alloc(0);
  broken = false;

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.broken) return [];
    this.buf = this.buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.buf, chunk]);
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.buf.length < 2) break;
      let len = 0;
      let mul = 1;
      let i = 1;
      let complete = false;
      for (; i < 5 && i < this.buf.length; i++) {
        const b = this.buf[i]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete) {
        if (i >= 5) this.broken = true; // a 5th length byte: not MQTT, stop framing
        break;
      }
      const total = i + len;
      if (this.buf.length < total) break;
      out.push(new Uint8Array(this.buf.subarray(0, total)));
      this.buf = this.buf.subarray(total);
    }
    return out;
  }
}
