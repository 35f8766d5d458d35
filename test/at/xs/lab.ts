/*
 * Runs inside XS (bundled by host-sim/xs/bundle.ts): the real Esp8266Driver on the proxy board,
 * with a session stand-in that records what it gets. Node drives it through `xsHarness.state.lab`.
 * Only firmware/ imports: this proves the driver needs nothing a Moddable device lacks.
 */
import type { Board } from "../../../firmware/board.js";
import { Esp8266Driver, type Esp8266Options } from "../../../firmware/at/driver.js";
import type { LinkDownReason, TransportEvents } from "../../../firmware/transport.js";

export class AtLab implements TransportEvents {
  readonly driver: Esp8266Driver;
  opens = 0;
  closes: LinkDownReason[] = [];
  received: number[] = [];

  private readonly board: Board;

  constructor(board: Board, options: Esp8266Options) {
    this.board = board;
    this.driver = new Esp8266Driver(board, options);
  }

  /**
   * Sends `count` packets of `size` bytes, one every `everyMs`, from a board timer: steady-state
   * traffic with no evaluation from Node per packet (each evaluation costs XS a heap slot itself).
   */
  autoSend(size: number, everyMs: number, count: number): void {
    const packet = new Uint8Array(size);
    let left = count;
    const timer = this.board.clock.createTimer(() => {
      if (this.driver.send(packet, 0, size)) left--;
      if (left > 0) timer.schedule(everyMs);
    });
    timer.schedule(everyMs);
  }

  onOpen(): void {
    this.opens++;
  }
  /** When false, received bytes are only counted (heap measurements). */
  keep = true;
  receivedCount = 0;
  onData(bytes: Uint8Array, offset: number, length: number): void {
    this.receivedCount += length;
    if (this.keep) for (let i = 0; i < length; i++) this.received.push(bytes[offset + i]);
  }
  onClose(reason: LinkDownReason): void {
    this.closes.push(reason);
  }

  open(): void {
    this.driver.open(this);
  }

  /** Queues hex-encoded bytes; returns whether the driver took them. */
  sendHex(hex: string): boolean {
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    return this.driver.send(bytes, 0, bytes.length);
  }

  receivedHex(from: number): string {
    let s = "";
    for (let i = from; i < this.received.length; i++) s += (this.received[i] < 16 ? "0" : "") + this.received[i].toString(16);
    return s;
  }

  summary() {
    return {
      opens: this.opens,
      closes: this.closes,
      received: this.received.length,
      linkUp: this.driver.linkUp,
      sendSpace: this.driver.sendSpace,
      dialect: this.driver.dialect ?? null,
      stats: this.driver.stats,
    };
  }
}

export function start(board: Board, options: Esp8266Options): AtLab {
  const lab = new AtLab(board, options);
  lab.open();
  return lab;
}
