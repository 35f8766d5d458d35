/*
 * The AT parser lab, run inside XS by bench/xs.ts: feeds a recorded module-to-MCU byte stream to
 * the firmware's AtParser in UART-sized chunks, with a sink that only counts, for metering per byte.
 */
import { AtParser, type AtParserSink, type DataKind, type LineKind } from "../../../firmware/at/parser.js";
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
