/*
 * Topic helpers for host tools: compare a topic sitting in a decoder's buffer with a known one
 * without allocating, match it against a filter, and turn UTF-8 fields into strings. (The chip
 * matches its own thing topics as bytes: firmware/onenet/thing.ts.)
 *
 * Public API:
 *   topicEquals(buf, offset, length, other: string | Uint8Array, otherOffset?, otherLength?): boolean
 *     (a string compares by its UTF-8 encoding, computed on the fly; bytes default to all of `other`)
 *   topicEqualsBytes(buf, offset, length, other: Uint8Array, otherOffset, otherLength): boolean
 *   topicMatches(buf, offset, length, filter: string): boolean   MQTT wildcard match (+, #)
 *   topicToString(buf, offset, length): string
 *   utf8ToString(buf, offset, length): string                    any well-formed UTF-8 field
 */
import { charCodeAt } from "../../firmware/bytes.js";

/** String.prototype.indexOf, called with the string as `this` (no String wrapper on XS). */
const indexOf = String.prototype.indexOf;

/** Whether the bytes equal `other`: a string's UTF-8 encoding (compared as it goes), or bytes. */
export function topicEquals(
  buf: Uint8Array,
  offset: number,
  length: number,
  other: string | Uint8Array,
  otherOffset = 0,
  otherLength = other.length,
): boolean {
  if (typeof other !== "string") return topicEqualsBytes(buf, offset, length, other, otherOffset, otherLength);
  return matchString(buf, offset, offset + length, other, 0, other.length) === offset + length;
}

export function topicEqualsBytes(
  buf: Uint8Array,
  offset: number,
  length: number,
  other: Uint8Array,
  otherOffset: number,
  otherLength: number,
): boolean {
  if (length !== otherLength) return false;
  for (let i = 0; i < length; i++) if (buf[offset + i] !== other[otherOffset + i]) return false;
  return true;
}

/**
 * Compares the UTF-8 bytes buf[pos..end) with the string s[from..to) as a prefix: returns the byte
 * position after the whole of s[from..to) when the bytes start with it, else -1.
 */
function matchString(buf: Uint8Array, pos: number, end: number, s: string, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    let c = charCodeAt.call(s, i);
    if (c < 0x80) {
      if (pos >= end || buf[pos] !== c) return -1;
      pos++;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < to) c = 0x10000 + ((c - 0xd800) << 10) + (charCodeAt.call(s, ++i) - 0xdc00);
    if (c < 0x800) {
      if (pos + 2 > end || buf[pos] !== (0xc0 | (c >> 6)) || buf[pos + 1] !== (0x80 | (c & 63))) return -1;
      pos += 2;
    } else if (c < 0x10000) {
      if (pos + 3 > end || buf[pos] !== (0xe0 | (c >> 12)) || buf[pos + 1] !== (0x80 | ((c >> 6) & 63)) || buf[pos + 2] !== (0x80 | (c & 63)))
        return -1;
      pos += 3;
    } else {
      if (
        pos + 4 > end ||
        buf[pos] !== (0xf0 | (c >> 18)) ||
        buf[pos + 1] !== (0x80 | ((c >> 12) & 63)) ||
        buf[pos + 2] !== (0x80 | ((c >> 6) & 63)) ||
        buf[pos + 3] !== (0x80 | (c & 63))
      )
        return -1;
      pos += 4;
    }
  }
  return pos;
}

/**
 * Whether a topic name (bytes) matches a topic filter (string) with MQTT wildcards: "+" one level,
 * "#" this level and every one below (also the parent: "a/#" matches "a"). Topics starting with
 * "$" do not match a filter starting with a wildcard (MQTT-4.7.2-1).
 */
export function topicMatches(buf: Uint8Array, offset: number, length: number, filter: string): boolean {
  const end = offset + length;
  let pos = offset;
  const n = filter.length;
  if (length > 0 && buf[offset] === 0x24 && n > 0) {
    const c = charCodeAt.call(filter, 0);
    if (c === 0x2b || c === 0x23) return false;
  }
  let i = 0;
  while (i <= n) {
    // one filter level: filter[i..j)
    let j = indexOf.call(filter, "/", i);
    if (j < 0) j = n;
    const single = j - i === 1 ? charCodeAt.call(filter, i) : 0;
    if (single === 0x23) return true; // "#": the rest, including nothing
    let levelEnd = pos;
    while (levelEnd < end && buf[levelEnd] !== 0x2f) levelEnd++;
    if (single !== 0x2b && matchString(buf, pos, levelEnd, filter, i, j) !== levelEnd) return false;
    const topicDone = levelEnd >= end;
    const filterDone = j >= n;
    if (filterDone || topicDone) {
      if (filterDone && topicDone) return true;
      // "a/#" matches "a": the filter's next level must be a lone "#"
      return topicDone && !filterDone && j + 2 === n && charCodeAt.call(filter, j + 1) === 0x23;
    }
    pos = levelEnd + 1;
    i = j + 1;
  }
  return false;
}

/** Decodes a topic (or any UTF-8 field) into a string. */
export function topicToString(buf: Uint8Array, offset: number, length: number): string {
  return utf8ToString(buf, offset, length);
}

/** Decodes well-formed UTF-8 into a JS string. */
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
