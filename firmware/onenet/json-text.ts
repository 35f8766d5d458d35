/*
 * JSON string text as bytes, for code that must not allocate on XS (OneJSON's builder and parser).
 *
 * On XS every property access on a primitive string (`text.length`, `text.charCodeAt(i)`) makes a
 * String wrapper object, 2 heap slots each time (test/onenet/xs.test.ts). So the per-packet paths
 * never read strings: fixed texts are bytes made once (../bytes.ts utf8Bytes), and texts that come
 * through an API (identifiers, messages) go through a TextCache, which compares them with `===`
 * (no allocation) and converts each distinct text only once.
 *
 * API:
 *   jsonStringBytes(text): Uint8Array             `text` as a quoted, escaped JSON string, UTF-8
 *   writeJsonStringByte(c, out, o): number / jsonStringByteLength(c): number   one byte of a JSON string body
 *   new TextCache(size, convert).get(text): Uint8Array   the converted bytes of `text`, cached
 */
import { utf8Bytes } from "../bytes.js";

const HEX = utf8Bytes("0123456789abcdef");

/** `text` as a JSON string literal: quotes, `\"`, `\\`, `\u00XX` for controls, UTF-8 for the rest. */
export function jsonStringBytes(text: string): Uint8Array {
  const raw = utf8Bytes(text);
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
