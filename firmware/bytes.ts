/*
 * Bytes and UTF-8 for the whole firmware: XS has no TextEncoder/TextDecoder, and the per-packet
 * paths must write straight into fixed buffers. One module, so that every part of the firmware
 * measures, writes and checks text the same way.
 *
 * Lone surrogates have one meaning here: a UTF-16 unit 0xD800..0xDFFF without its partner is not
 * text and has no UTF-8 encoding. utf8Length says -1, writeUtf8Checked refuses, and callers turn
 * that into their own named error (MQTT invalid-utf8, a config error for the SSID). The one
 * exception is utf8Bytes, which converts at start-up texts that are only shown or hashed and
 * writes U+FFFD for a lone surrogate, as TextEncoder does.
 *
 * Characters are read with `charCodeAt.call(s, i)`, never `s.charCodeAt(i)`: on XS a property
 * read on a primitive string (`s.charCodeAt`, `s[i]`) makes a String wrapper, 2 heap slots of
 * garbage per character, while calling the built-in with the string as `this` makes none
 * (test/mqtt/xs-alloc.test.ts). `s.length` still costs one wrapper per call: read it once.
 *
 * API:
 *   charCodeAt                                 String.prototype.charCodeAt, to call with .call(s, i)
 *   utf8Length(s): number                      UTF-8 bytes of `s`, or -1 at a lone surrogate
 *   writeAscii(buf, pos, s) / writeUtf8(buf, pos, s): number   (s checked before); the next position
 *   writeUtf8Checked(buf, pos, s, units): number   check and write in one pass; -1 at a lone surrogate
 *   utf8Bytes(text): Uint8Array                new bytes (allocates: start-up only; U+FFFD, see above)
 *   scanUtf8(buf, off, len): number            UTF8_* flags: well-formed?, NUL, "+", "#"
 *   copyBytes(dst, to, src, from, n): number   no view allocated; returns to + n
 *   equalsBytes(buf, off, len, bytes): boolean
 */

/** String.prototype.charCodeAt, called with the string as `this` (no wrapper on XS). */
export const charCodeAt = String.prototype.charCodeAt;

/** Flags returned by scanUtf8 (bitmask). */
export const UTF8_BAD = 1; // not well-formed (overlong, surrogate, > U+10FFFF, truncated)
export const UTF8_NULL = 2; // contains U+0000
export const UTF8_PLUS = 4; // contains "+"
export const UTF8_HASH = 8; // contains "#"

/** UTF-8 length of a JS string, or -1 when it holds a lone surrogate. */
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
  return writeUtf8Checked(buf, pos, s, s.length);
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

/**
 * `text` as new UTF-8 bytes, for texts converted once (fixed texts at module load, identifiers
 * and messages at first use). A lone surrogate becomes U+FFFD (EF BF BD), as TextEncoder does.
 */
export function utf8Bytes(text: string): Uint8Array {
  const units = text.length;
  const n = utf8Length(text);
  if (n >= 0) {
    const out = new Uint8Array(n);
    writeUtf8Checked(out, 0, text, units);
    return out;
  }
  // Rare: rebuild the text with U+FFFD in place of each lone surrogate, then convert that.
  let clean = "";
  for (let i = 0; i < units; i++) {
    const c = charCodeAt.call(text, i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < units) {
      const d = charCodeAt.call(text, i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        clean += String.fromCharCode(c, d);
        i++;
        continue;
      }
    }
    clean += c >= 0xd800 && c <= 0xdfff ? "\ufffd" : String.fromCharCode(c);
  }
  return utf8Bytes(clean);
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
 * Copies src[from..from+n) to dst[to..to+n); the ranges must not overlap. Returns to + n.
 * `dst.set(src.subarray(...))` would create a view object per call (heap on XS, garbage on V8);
 * unrolled by 8, which roughly halves the cost of the plain loop on V8.
 */
export function copyBytes(dst: Uint8Array, to: number, src: Uint8Array, from: number, n: number): number {
  if (from === 0 && n === src.length) {
    dst.set(src, to); // the whole source: no view needed
    return to + n;
  }
  const end = from + n;
  const end8 = end - 7;
  while (from < end8) {
    dst[to] = src[from];
    dst[to + 1] = src[from + 1];
    dst[to + 2] = src[from + 2];
    dst[to + 3] = src[from + 3];
    dst[to + 4] = src[from + 4];
    dst[to + 5] = src[from + 5];
    dst[to + 6] = src[from + 6];
    dst[to + 7] = src[from + 7];
    to += 8;
    from += 8;
  }
  while (from < end) dst[to++] = src[from++];
  return to;
}

/** Whether buf[offset..offset+length) holds exactly `bytes`. */
export function equalsBytes(buf: Uint8Array, offset: number, length: number, bytes: Uint8Array): boolean {
  if (length !== bytes.length) return false;
  for (let i = 0; i < length; i++) if (buf[offset + i] !== bytes[i]) return false;
  return true;
}
