/*
 * A link that can turn into a black hole: bytes stop flowing both ways while the TCP connection
 * stays "up" (a NAT that forgot the mapping, a broker that stops answering PINGREQ). Only the
 * firmware's keepalive can notice; that is what this fault checks.
 */
import { Duplex } from "node:stream";

export class LinkGate {
  blackhole = false;
  /** Bytes swallowed while the black hole was on. */
  dropped = 0;

  /** Wraps one server-side stream; the broker talks through the returned one. */
  wrap(inner: Duplex): Duplex {
    const gate = this;
    const outer: Duplex = new Duplex({
      allowHalfOpen: false,
      read() {
        if (inner.isPaused()) inner.resume();
      },
      write(chunk: Buffer, _encoding, callback) {
        if (gate.blackhole) {
          gate.dropped += chunk.length;
          callback();
          return;
        }
        if (inner.destroyed || inner.writableEnded) {
          callback(new Error("connection closed"));
          return;
        }
        inner.write(chunk, (error) => callback(error ?? null));
      },
      final(callback) {
        if (!inner.writableEnded) inner.end();
        callback();
      },
      destroy(error, callback) {
        if (!inner.destroyed) inner.destroy();
        callback(error);
      },
    });
    inner.on("data", (chunk: Buffer) => {
      if (gate.blackhole) {
        gate.dropped += chunk.length;
        return;
      }
      if (!outer.push(chunk)) inner.pause();
    });
    inner.on("end", () => outer.push(null));
    inner.on("error", () => outer.destroy());
    inner.on("close", () => outer.destroy());
    return outer;
  }
}
