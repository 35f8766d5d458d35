/*
 * A NetworkBackend that shows what crosses it: every link the module opens, the bytes each way
 * and the close. The emulated chips are watched from outside through it (their MQTT session is
 * read off the wire: ./chip/mqtt-watch.ts), the way a protocol analyser would on a real bench.
 *
 *   const tapped = new TappedNetwork(inner);
 *   const off = tapped.listen({ open(id, target) {}, up(id, bytes) {}, down(id, bytes) {}, close(id, error) {} });
 */
import type { NetEvents, NetLink, NetTarget, NetworkBackend } from "./network.js";

export interface NetTapListener {
  /** The module asked for a link (AT+CIPSTART). */
  open?(id: number, target: NetTarget): void;
  /** The link is up. */
  connected?(id: number): void;
  /** Bytes from the module to the server. */
  up?(id: number, bytes: Uint8Array): void;
  /** Bytes from the server to the module. */
  down?(id: number, bytes: Uint8Array): void;
  /** The link is gone (either side, or it never came up). */
  close?(id: number, error?: string): void;
}

export class TappedNetwork implements NetworkBackend {
  private readonly listeners = new Set<NetTapListener>();
  private nextId = 1;

  constructor(private readonly inner: NetworkBackend) {}

  listen(listener: NetTapListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  connect(target: NetTarget, events: NetEvents): NetLink {
    const id = this.nextId++;
    let closed = false;
    const each = (fn: (l: NetTapListener) => void) => {
      for (const listener of this.listeners) fn(listener);
    };
    const close = (error?: string) => {
      if (closed) return;
      closed = true;
      each((l) => l.close?.(id, error));
    };
    each((l) => l.open?.(id, target));
    const link = this.inner.connect(target, {
      onConnect: () => {
        each((l) => l.connected?.(id));
        events.onConnect();
      },
      onData: (bytes) => {
        each((l) => l.down?.(id, bytes));
        events.onData(bytes);
      },
      onClose: (error) => {
        close(error);
        events.onClose(error);
      },
    });
    const tapped: NetLink = {
      write: (bytes) => {
        each((l) => l.up?.(id, bytes));
        link.write(bytes);
      },
      close: () => {
        close();
        link.close();
      },
      get remoteAddress() {
        return link.remoteAddress;
      },
    };
    if (link.pause) tapped.pause = () => link.pause!();
    if (link.resume) tapped.resume = () => link.resume!();
    return tapped;
  }
}
