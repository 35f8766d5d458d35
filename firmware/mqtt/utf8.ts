/*
 * UTF-8 by hand: XS has no TextEncoder/TextDecoder, and the encoders must write straight into the
 * packet buffer without an intermediate copy. Nothing here allocates, except utf8ToString (host
 * tools and logs only).
 *
 * Characters are read with `charCodeAt.call(s, i)`, never `s.charCodeAt(i)`: on XS a property read
 * on a primitive string (`s.charCodeAt`, `s[i]`) makes a String wrapper, 2 heap slots of garbage
 * per character, while calling the built-in with the string as `this` makes none (measured in
 * xsnap, test/mqtt/xs-alloc.test.ts). `s.length` still costs one wrapper per call.
 */

/** String.prototype.charCodeAt, called with the string as `this` (no wrapper on XS). */
export const charCodeAt = String.prototype.charCodeAt;

/** Flags returned by scanUtf8 (bitmask). */
export const UTF8_BAD = 1; // not well-formed (overlong, surrogate, > U+10FFFF, truncated)
export const UTF8_NULL = 2; // contains U+0000
export const UTF8_PLUS = 4; // contains "+"
export const UTF8_HASH = 8; // contains "#"

/**
 * UTF-8 length of a JS string, or -1 when it holds a lone surrogate (no UTF-8 encoding exists;
 * MQTT forbids surrogate code points anyway).
 */
export function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = charCodeAt.call(s, i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdfff) {
      if (c >= 0xdc00 || i + 1 >= n) return -1;
      const d = charCodeAt.call(s, i + 1);
      if (d < 0xdc00 || d > 0xdfff) return -1;
      i++; // the pair: 2 UTF-16 units, 4 bytes
      bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/** Writes an all-ASCII `s` (its UTF-8 length equals its length) at `pos`; returns the next position. */
export function writeAscii(buf: Uint8Array, pos: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) buf[pos + i] = charCodeAt.call(s, i);
  return pos + n;
}

/** Writes `s` as UTF-8 at `pos` and returns the next position. `s` must have passed utf8Length. */
export function writeUtf8(buf: Uint8Array, pos: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = charCodeAt.call(s, i);
    if (c < 0x80) buf[pos++] = c;
    else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 63);
    } else if (c >= 0xd800 && c <= 0xdbff) {
      c = 0x10000 + ((c - 0xd800) << 10) + (charCodeAt.call(s, ++i) - 0xdc00);
      buf[pos++] = 0xf0 | (c >> 18);
      buf[pos++] = 0x80 | ((c >> 12) & 63);
      buf[pos++] = 0x80 | ((c >> 6) & 63);
      buf[pos++] = 0x80 | (c & 63);
    } else {
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 63);
      buf[pos++] = 0x80 | (c & 63);
    }
  }
  return pos;
}

/**
 * Writes `s` (`n` = s.length UTF-16 units, which the caller has read already) as UTF-8 at `pos`
 * and returns the next position, or -1 at a lone surrogate (then the bytes written are garbage).
 * `buf` needs room for 3 bytes per unit. Checks and writes in one pass.
 */
export function writeUtf8Checked(buf: Uint8Array, pos: number, s: string, n: number): number {
  for (let i = 0; i < n; i++) {
    let c = charCodeAt.call(s, i);
    if (c < 0x80) buf[pos++] = c;
    else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 63);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      if (c >= 0xdc00 || i + 1 >= n) return -1;
      const d = charCodeAt.call(s, ++i);
      if (d < 0xdc00 || d > 0xdfff) return -1;
      c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      buf[pos++] = 0xf0 | (c >> 18);
      buf[pos++] = 0x80 | ((c >> 12) & 63);
      buf[pos++] = 0x80 | ((c >> 6) & 63);
      buf[pos++] = 0x80 | (c & 63);
    } else {
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 63);
      buf[pos++] = 0x80 | (c & 63);
    }
  }
  return pos;
}

/** Checks `len` bytes at `off` and returns UTF8_* flags (0: well-formed, no NUL, no wildcard). */
export function scanUtf8(buf: Uint8Array, off: number, len: number): number {
  let flags = 0;
  const end = off + len;
  let i = off;
  while (i < end) {
    const b = buf[i];
    if (b < 0x80) {
      // NUL, "#" and "+" are all <= 0x2B: one comparison clears most characters.
      if (b <= 0x2b) {
        if (b === 0) flags |= UTF8_NULL;
        else if (b === 0x2b) flags |= UTF8_PLUS;
        else if (b === 0x23) flags |= UTF8_HASH;
      }
      i++;
      continue;
    }
    let more: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) more = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      more = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      else if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      more = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      else if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return flags | UTF8_BAD;
    if (i + more >= end) return flags | UTF8_BAD; // truncated sequence
    const b1 = buf[i + 1];
    if (b1 < lo || b1 > hi) return flags | UTF8_BAD;
    for (let k = 2; k <= more; k++) {
      const bk = buf[i + k];
      if (bk < 0x80 || bk > 0xbf) return flags | UTF8_BAD;
    }
    i += more + 1;
  }
  return flags;
}

/**
 * Whether a topic filter's wildcards are well placed: "+" alone in its level, "#" alone in the
 * last level. Works on bytes because "/", "+" and "#" are ASCII (never inside a multi-byte sequence).
 */
export function filterIsValid(buf: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  for (let i = off; i < end; i++) {
    const b = buf[i];
    if (b !== 0x2b && b !== 0x23) continue;
    if (i > off && buf[i - 1] !== 0x2f) return false;
    if (b === 0x23) return i === end - 1;
    if (i < end - 1 && buf[i + 1] !== 0x2f) return false;
  }
  return true;
}

/** The same check on a JS string (UTF-16 units for "/", "+", "#" equal their ASCII bytes). */
export function filterStringIsValid(s: string): boolean {
  const end = s.length;
  for (let i = 0; i < end; i++) {
    const c = charCodeAt.call(s, i);
    if (c !== 0x2b && c !== 0x23) continue;
    if (i > 0 && charCodeAt.call(s, i - 1) !== 0x2f) return false;
    if (c === 0x23) return i === end - 1;
    if (i < end - 1 && charCodeAt.call(s, i + 1) !== 0x2f) return false;
  }
  return true;
}

/** Decodes well-formed UTF-8 into a JS string. Allocates: host tools and logs only. */
export function utf8ToString(buf: Uint8Array, off: number, len: number): string {
  let out = "";
  const end = off + len;
  let i = off;
  while (i < end) {
    const b = buf[i++];
    let c: number;
    if (b < 0x80) c = b;
    else if (b < 0xe0) c = ((b & 31) << 6) | (buf[i++] & 63);
    else if (b < 0xf0) c = ((b & 15) << 12) | ((buf[i++] & 63) << 6) | (buf[i++] & 63);
    else c = ((b & 7) << 18) | ((buf[i++] & 63) << 12) | ((buf[i++] & 63) << 6) | (buf[i++] & 63);
    out += String.fromCodePoint(c > 0x10ffff ? 0xfffd : c);
  }
  return out;
}
