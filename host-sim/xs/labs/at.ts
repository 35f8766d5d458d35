/*
 * The AT labs, run inside XS by bench/xs.ts: a recorded module-to-MCU byte stream fed in UART-sized
 * chunks to the firmware's AtParser (with a sink that only counts, for metering per byte) or to the
 * whole Esp8266Driver (for metering per line).
 */
import { Esp8266Driver } from "../../../firmware/at/driver.js";
import { AtParser, type AtParserSink, type DataKind, type LineKind } from "../../../firmware/at/parser.js";
import type { Board } from "../../../firmware/board.js";
import { fromHex } from "./hex.js";

export class ParserLab implements AtParserSink {
  readonly parser = new AtParser(this);
  readonly stream: Uint8Array;
  lines = 0;
  dataBytes = 0;
  prompts = 0;

  constructor(hex: string, private readonly chunk: number) {
    this.stream = fromHex(hex);
  }

  onLine(_kind: LineKind, _value: number): void {
    this.lines++;
  }
  onPrompt(): void {
    this.prompts++;
  }
  onDataStart(_kind: DataKind, _length: number): void {}
  onData(_bytes: Uint8Array, _offset: number, length: number): void {
    this.dataBytes += length;
  }
  onDataEnd(_kind: DataKind): void {}

  /** Feeds the whole stream `n` times; returns the lines parsed so far. */
  run(n: number): number {
    const s = this.stream;
    for (let k = 0; k < n; k++) {
      this.parser.reset();
      for (let i = 0; i < s.length; i += this.chunk) this.parser.feed(s, i, Math.min(this.chunk, s.length - i));
    }
    return this.lines;
  }
}

/**
 * The whole AT driver's receive path, run inside XS by bench/xs.ts: the recorded stream reaches an
 * Esp8266Driver through its serial port's onReadable in `chunk`-sized reads, so every line goes
 * through the parser and the driver's handling of it. The driver was never opened: what it is
 * measured on is the per-line work (classify, dispatch, the unsolicited-line handlers), not
 * commands (nothing is in flight, so results complete nothing and data is dropped).
 */
export class DriverLab {
  readonly stream: Uint8Array;
  readonly driver: Esp8266Driver;
  private onReadable: (count: number) => void = () => {};
  private pos = 0;
  private end = 0;

  constructor(hex: string, private readonly chunk: number, receiveMode: "active" | "passive") {
    this.stream = fromHex(hex);
    const timer = { schedule(): void {}, cancel(): void {} };
    const board: Pick<Board, "openSerial" | "clock" | "log" | "moduleReset"> = {
      openSerial: (handlers) => {
        this.onReadable = (count) => handlers.onReadable(count);
        return {
          read: (view) => {
            let n = this.end - this.pos;
            if (n > view.length) n = view.length;
            for (let i = 0; i < n; i++) view[i] = this.stream[this.pos + i];
            this.pos += n;
            return n;
          },
          write: (view) => view.length,
          writable: 256,
        };
      },
      clock: { now: () => 0, wallTime: () => -1, createTimer: () => timer },
      log: () => {},
    };
    this.driver = new Esp8266Driver(board, { ssid: "lab", password: "password123", host: "example.org", port: 1883, tls: false, receiveMode });
  }

  /** Feeds the whole stream `n` times. */
  run(n: number): void {
    const s = this.stream;
    for (let k = 0; k < n; k++) {
      this.pos = 0;
      while (this.pos < s.length) {
        this.end = Math.min(s.length, this.pos + this.chunk);
        this.onReadable(this.end - this.pos);
      }
    }
  }
}
