/*
 * One preallocated buffer AT command lines are built in: no strings are concatenated per command
 * (AT+CIPSEND=<n> goes out for every packet). Text is written as UTF-8, so Chinese SSIDs work.
 */
import { charCodeAt } from "../mqtt/utf8.js";

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

  /** Appends `text` as UTF-8; with `escape`, `"`, `,` and `\` get a `\` first (CWJAP quoting). */
  text(text: string, escape = false): this {
    // On XS, `text.length` and `text.charCodeAt(i)` allocate a wrapper each time; the length read
    // once and charCodeAt.call do not (see firmware/mqtt/utf8.ts).
    const length = text.length;
    for (let i = 0; i < length; i++) {
      let c = charCodeAt.call(text, i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < length) {
        const low = charCodeAt.call(text, i + 1);
        if (low >= 0xdc00 && low <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
          i++;
        }
      }
      if (c < 0x80) {
        if (escape && (c === 34 || c === 44 || c === BACKSLASH)) this.byte(BACKSLASH);
        this.byte(c);
      } else if (c < 0x800) {
        this.byte(0xc0 | (c >> 6)).byte(0x80 | (c & 63));
      } else if (c < 0x10000) {
        this.byte(0xe0 | (c >> 12)).byte(0x80 | ((c >> 6) & 63)).byte(0x80 | (c & 63));
      } else {
        this.byte(0xf0 | (c >> 18))
          .byte(0x80 | ((c >> 12) & 63))
          .byte(0x80 | ((c >> 6) & 63))
          .byte(0x80 | (c & 63));
      }
    }
    return this;
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

/** Length of `text` in UTF-8 bytes (the module's limits are in bytes: SSID 32, password 64). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
