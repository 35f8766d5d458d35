/*
 * Transparent (passthrough) mode: after AT+CIPMODE=1 and AT+CIPSEND the module forwards every
 * byte both ways, and only `+++`, alone between two silences, brings it back to commands. This
 * part holds that state, the escape with its guard times, and the search for the module's own
 * lines (`ready`, `WIFI DISCONNECT`, `CLOSED`) in the raw stream, where they cannot be data:
 * in bytes the session could not parse, and in bytes no session takes (during the escape).
 */
import type { Clock } from "../board.js";
import type { AtEngine } from "./engine.js";
import { StreamLines, type Urc } from "./urc.js";

/** Silence around `+++` (the module needs >= 20 ms; bytes may still sit in the FIFO). */
const ESCAPE_GUARD_MS = 50;
/**
 * After `+++` the module wants 1 s before the next command, counted from when it has left
 * passthrough (the after-guard past the last `+`) and with the bytes' time on the wire: 1.1 s.
 */
const ESCAPE_SETTLE_MS = 1100;

export interface TransparentOwner {
  /** The escape is over: the module takes commands again. */
  onEscaped(thenReset: boolean): void;
  /** A module line was found in the raw stream; `rest` bytes from `after` follow it. */
  onStreamLine(urc: Urc, bytes: Uint8Array, after: number, rest: number): void;
}

export class TransparentMode {
  /** The module is (or may be) in transparent mode. */
  on = false;
  /**
   * The session found bytes it could not parse and no module line among them: its close waits
   * for the escape, so a `ready` arriving meanwhile is reported as the module reset it is.
   */
  garbled = false;
  /** The escape was started because AT+RST got no answer: reset after it. */
  private thenReset = false;
  private stage: "none" | "before" | "after" = "none";
  private readonly timer;
  private readonly lines = new StreamLines();

  constructor(
    private readonly engine: AtEngine,
    clock: Clock,
    private readonly owner: TransparentOwner,
  ) {
    this.timer = clock.createTimer(() => this.onTimer());
  }

  get escaping(): boolean {
    return this.stage !== "none";
  }

  /** The prompt of AT+CIPSEND came: from now on every byte is data. */
  entered(): void {
    this.on = true;
    this.engine.setRaw(true, true);
    this.lines.reset();
  }

  /** The module reset: it is in command mode, whatever we thought. */
  forget(): void {
    this.on = false;
    this.garbled = false;
  }

  /** Leaves transparent mode with `+++`; `thenReset`: AT+RST follows. */
  escape(thenReset: boolean): void {
    this.thenReset = thenReset;
    this.stage = "before";
    this.timer.schedule(ESCAPE_GUARD_MS);
  }

  cancel(): void {
    this.stage = "none";
    this.timer.cancel();
  }

  /** Bytes the session could not parse: true when a module line among them was handled. */
  unparsable(bytes: Uint8Array, offset: number, length: number): boolean {
    this.lines.reset();
    const urc = this.lines.scan(bytes, offset, length);
    if (urc === null) {
      this.garbled = true;
      return false;
    }
    this.owner.onStreamLine(urc, bytes, this.lines.end, offset + length - this.lines.end);
    return true;
  }

  /** Raw bytes no session took: the module may speak in them. */
  stray(bytes: Uint8Array, offset: number, length: number): void {
    const urc = this.lines.scan(bytes, offset, length);
    if (urc !== null) this.owner.onStreamLine(urc, bytes, this.lines.end, offset + length - this.lines.end);
  }

  /** Back to raw after a module line that leaves the module in transparent mode. */
  resume(): void {
    this.engine.setRaw(true, false);
    this.lines.reset();
  }

  private onTimer(): void {
    const stage = this.stage;
    this.stage = "none";
    if (stage === "before") {
      this.engine.writeRaw("+++");
      this.stage = "after";
      this.timer.schedule(ESCAPE_SETTLE_MS);
    } else if (stage === "after") {
      this.on = false;
      this.engine.setRaw(false, false);
      const thenReset = this.thenReset;
      this.thenReset = false;
      this.owner.onEscaped(thenReset);
    }
  }
}
