/*
 * One preallocated buffer AT command lines are built in: no strings are concatenated per command
 * (AT+CIPSEND=<n> goes out for every packet). Text is written as UTF-8, so Chinese SSIDs work.
 */
import { utf8Length, writeUtf8, writeUtf8Checked } from "../bytes.js";

const BACKSLASH = 92;

export class CommandBuffer {
  readonly bytes: Uint8Array;
  length = 0;
  /** Set when something did not fit: the command must not be sent. */
  overflow = false;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }

  clear(): this {
    this.length = 0;
    this.overflow = false;
    return this;
  }

  byte(b: number): this {
    if (this.length < this.bytes.length) this.bytes[this.length++] = b;
    else this.overflow = true;
    return this;
  }

  /**
   * Appends `text` as UTF-8; with `escape`, `"`, `,` and `\` get a `\` first (CWJAP quoting). Text
   * that is not valid (a lone surrogate) or does not fit sets `overflow`: the command must not go.
   */
  text(text: string, escape = false): this {
    const start = this.length;
    const units = text.length;
    // Room for 3 bytes per unit: writeUtf8Checked checks and writes in one pass.
    if (start + 3 * units > this.bytes.length) {
      const n = utf8Length(text);
      if (n < 0 || start + n > this.bytes.length) {
        this.overflow = true;
        return this;
      }
      this.length = writeUtf8(this.bytes, start, text);
    } else {
      const end = writeUtf8Checked(this.bytes, start, text, units);
      if (end < 0) {
        this.overflow = true;
        return this;
      }
      this.length = end;
    }
    if (escape) this.escapeFrom(start);
    return this;
  }

  /** Puts a backslash before each `"`, `,` and `\` from `start` on (ASCII: never inside a multi-byte sequence). */
  private escapeFrom(start: number): void {
    const b = this.bytes;
    let extra = 0;
    for (let i = start; i < this.length; i++) if (b[i] === 34 || b[i] === 44 || b[i] === BACKSLASH) extra++;
    if (extra === 0) return;
    if (this.length + extra > b.length) {
      this.overflow = true;
      return;
    }
    // From the end backwards, so every byte moves once.
    let to = this.length + extra;
    for (let i = this.length - 1; i >= start; i--) {
      const c = b[i];
      b[--to] = c;
      if (c === 34 || c === 44 || c === BACKSLASH) b[--to] = BACKSLASH;
    }
    this.length += extra;
  }

  /** Appends a non-negative integer in decimal. */
  decimal(n: number): this {
    if (n <= 0) return this.byte(48);
    let div = 1;
    while (div * 10 <= n) div *= 10;
    for (; div >= 1; div = Math.floor(div / 10)) this.byte(48 + (Math.floor(n / div) % 10));
    return this;
  }

  crlf(): this {
    return this.byte(13).byte(10);
  }
}
