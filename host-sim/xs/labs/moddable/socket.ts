/*
 * Stand-in for Moddable's `socket` module, for running Moddable's own MQTT client in xsnap
 * (bench only): no network; the lab hands it bytes as if they had arrived, and counts writes.
 * `read(ArrayBuffer)` returns a fresh ArrayBuffer, as the native one does.
 */
export class Socket {
  static last: Socket | undefined;
  callback: ((state: number, value?: unknown) => unknown) | undefined;
  pending: ArrayBuffer = new ArrayBuffer(0);
  written = 0;

  constructor(_dictionary: unknown) {
    Socket.last = this;
  }

  read(_type: unknown): ArrayBuffer {
    return this.pending.slice(0);
  }

  write(buffer: ArrayBuffer): void {
    this.written += buffer.byteLength;
  }

  close(): void {}
}
