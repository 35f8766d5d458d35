/*
 * Strings as bytes, for code that must not allocate on XS.
 *
 * Measured in xsnap (test/onenet/xs.test.ts): on XS every property access on a primitive string
 * (`text.length`, `text.charCodeAt(i)`) makes a String wrapper object, 2 heap slots each time. So the
 * per-packet paths here never read strings: fixed texts are converted to Uint8Arrays once (module load or
 * construction), and texts that come through an API (identifiers, messages) go through a TextCache,
 * which compares them with `===` (no allocation) and converts each distinct text only once.
 *
 * API:
 *   asciiBytes(text): Uint8Array                  UTF-8 bytes of `text` (allocates: start-up only)
 *   jsonStringBytes(text): Uint8Array             `text` as a quoted, escaped JSON string, UTF-8
 *   equalsBytes(buf, offset, length, bytes): boolean
 *   copyBytes(src, out, offset): number            copies all of src, returns the offset after it (no bounds check)
 *   new TextCache(size, convert).get(text): Uint8Array   the converted bytes of `text`, cached
 */

export function asciiBytes(text: string): Uint8Array {
  const n = utf8Length(text);
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) out[o++] = c;
    else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
        out[o++] = 0xf0 | (c >> 18);
        out[o++] = 0x80 | ((c >> 12) & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
        out[o++] = 0xe0 | (c >> 12);
      }
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    }
  }
  return out;
}

function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const HEX = asciiBytes("0123456789abcdef");

/** `text` as a JSON string literal: quotes, `\"`, `\\`, `\u00XX` for controls, UTF-8 for the rest. */
export function jsonStringBytes(text: string): Uint8Array {
  const raw = asciiBytes(text);
  let n = 2;
  for (let i = 0; i < raw.length; i++) n += raw[i] === 0x22 || raw[i] === 0x5c ? 2 : raw[i] < 0x20 ? 6 : 1;
  const out = new Uint8Array(n);
  let o = 0;
  out[o++] = 0x22;
  for (let i = 0; i < raw.length; i++) o = writeJsonStringByte(raw[i], out, o);
  out[o] = 0x22;
  return out;
}

/** One byte of a JSON string body, escaped as JSON requires; returns the offset after it. No bounds check. */
export function writeJsonStringByte(c: number, out: Uint8Array, o: number): number {
  if (c === 0x22 || c === 0x5c) {
    out[o] = 0x5c;
    out[o + 1] = c;
    return o + 2;
  }
  if (c < 0x20) {
    out[o] = 0x5c;
    out[o + 1] = 0x75;
    out[o + 2] = 0x30;
    out[o + 3] = 0x30;
    out[o + 4] = HEX[c >> 4];
    out[o + 5] = HEX[c & 15];
    return o + 6;
  }
  out[o] = c;
  return o + 1;
}

/** Bytes a JSON string body needs for byte `c` (see writeJsonStringByte). */
export function jsonStringByteLength(c: number): number {
  return c === 0x22 || c === 0x5c ? 2 : c < 0x20 ? 6 : 1;
}

export function equalsBytes(buf: Uint8Array, offset: number, length: number, bytes: Uint8Array): boolean {
  if (length !== bytes.length) return false;
  for (let i = 0; i < length; i++) if (buf[offset + i] !== bytes[i]) return false;
  return true;
}

export function copyBytes(src: Uint8Array, out: Uint8Array, offset: number): number {
  const n = src.length;
  for (let i = 0; i < n; i++) out[offset + i] = src[i];
  return offset + n;
}

/**
 * A small cache from texts to their converted bytes. Lookups compare with `===` and allocate nothing;
 * a miss converts once and replaces the oldest entry. Sized for the handful of identifiers and messages
 * a device uses; with more distinct texts than `size` it still works, but allocates on every miss.
 */
export class TextCache {
  private readonly keys: (string | null)[];
  private readonly values: Uint8Array[];
  private next = 0;

  constructor(
    size: number,
    private readonly convert: (text: string) => Uint8Array,
  ) {
    this.keys = new Array<string | null>(size).fill(null);
    this.values = new Array<Uint8Array>(size).fill(new Uint8Array(0));
  }

  get(text: string): Uint8Array {
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] === text) return this.values[i];
    const bytes = this.convert(text);
    keys[this.next] = text;
    this.values[this.next] = bytes;
    this.next = (this.next + 1) % keys.length;
    return bytes;
  }
}
