/*
 * A link that stalls: while the "black hole" is on, bytes stop flowing both ways but the TCP
 * connection stays up (a NAT or a radio path that stopped passing packets; a broker that stops
 * answering PINGREQ). TCP does not lose what it accepted: the bytes are held and delivered, in
 * order, once the path comes back, unless the connection is gone by then. Only the firmware's
 * keepalive can notice a long stall; that is what this fault checks.
 */
import { Duplex } from "node:stream";

interface Held {
  flush(): void;
  closed: boolean;
}

export class LinkGate {
  private stalled = false;
  private readonly links = new Set<Held>();
  /** Bytes held back while the path was stalled (delivered later, or dropped with the connection). */
  held = 0;

  get blackhole(): boolean {
    return this.stalled;
  }

  set blackhole(on: boolean) {
    this.stalled = on;
    if (!on) for (const link of this.links) link.flush();
  }

  /** Wraps one server-side stream; the broker talks through the returned one. */
  wrap(inner: Duplex): Duplex {
    const gate = this;
    const toBroker: Buffer[] = [];
    const toDevice: Buffer[] = [];
    const held: Held = {
      closed: false,
      flush() {
        if (held.closed) return;
        for (const chunk of toDevice.splice(0)) inner.write(chunk);
        for (const chunk of toBroker.splice(0)) outer.push(chunk);
      },
    };
    const outer: Duplex = new Duplex({
      allowHalfOpen: false,
      read() {
        if (inner.isPaused()) inner.resume();
      },
      write(chunk: Buffer, _encoding, callback) {
        if (inner.destroyed || inner.writableEnded) {
          callback(new Error("connection closed"));
          return;
        }
        if (gate.stalled) {
          gate.held += chunk.length;
          toDevice.push(chunk);
          callback();
          return;
        }
        inner.write(chunk, (error) => callback(error ?? null));
      },
      final(callback) {
        if (!inner.writableEnded) inner.end();
        callback();
      },
      destroy(error, callback) {
        held.closed = true;
        gate.links.delete(held);
        if (!inner.destroyed) inner.destroy();
        callback(error);
      },
    });
    this.links.add(held);
    inner.on("data", (chunk: Buffer) => {
      if (gate.stalled) {
        gate.held += chunk.length;
        toBroker.push(chunk);
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
