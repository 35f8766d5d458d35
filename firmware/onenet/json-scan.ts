/*
 * A strict, allocation-free JSON (RFC 8259) scanner over bytes, used by the OneJSON parser.
 *
 * API:
 *   new JsonScanner(maxDepth)
 *     .attach(buf, end)                  the bytes to scan: indices up to `end` (exclusive)
 *     .skipWs(p): number                 first non-whitespace index at or after p
 *     .scanValue(p, depth): number       index just after the value starting at p, or -1 (see .error);
 *                                        sets .kind, .start, .valueEnd (for strings: start/valueEnd
 *                                        enclose the raw content between the quotes, escapes kept)
 *     .scanObject(p, depth, visitor): number   scanValue for an object at p, calling
 *                                        visitor.member(keyOffset, keyLength) as each member's value
 *                                        is scanned (.kind, .start, .valueEnd describe it then)
 *     .scanString(p): number             p at `"`; index after the closing quote, or -1
 *     .error: "malformed" | "too-deep"
 *
 * Strict means: no comments, no trailing commas, no leading zeros, no NaN, no single quotes, no control
 * characters in strings, only the escapes JSON allows, and well-formed UTF-8 (no overlongs, no surrogates).
 * Depth is bounded so a hostile `[[[[...` cannot exhaust the XS stack: the recursion is at most maxDepth deep.
 */

export type JsonValueKind = "true" | "false" | "number" | "string" | "null" | "object" | "array";
export type JsonScanError = "malformed" | "too-deep";

/** Told of each member of an object scanned with scanObject, once its value is scanned. */
export interface MemberVisitor {
  member(keyOffset: number, keyLength: number): void;
}

// Bytes, not strings: on XS reading a string's characters allocates (see ../bytes.ts).
const TRUE = Uint8Array.of(0x74, 0x72, 0x75, 0x65);
const FALSE = Uint8Array.of(0x66, 0x61, 0x6c, 0x73, 0x65);
const NULL = Uint8Array.of(0x6e, 0x75, 0x6c, 0x6c);

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

export class JsonScanner {
  buf: Uint8Array = new Uint8Array(0);
  end = 0;
  kind: JsonValueKind = "null";
  start = 0;
  valueEnd = 0;
  error: JsonScanError = "malformed";

  constructor(readonly maxDepth: number) {}

  attach(buf: Uint8Array, end: number): void {
    this.buf = buf;
    this.end = end;
  }

  skipWs(p: number): number {
    const buf = this.buf;
    const end = this.end;
    while (p < end) {
      const c = buf[p];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    return p;
  }

  private fail(error: JsonScanError): number {
    this.error = error;
    return -1;
  }

  scanValue(p: number, depth: number): number {
    if (p >= this.end) return this.fail("malformed");
    const c = this.buf[p];
    if (c === 0x7b || c === 0x5b) return this.scanContainer(p, depth, c === 0x7b);
    if (c === 0x22) {
      const after = this.scanString(p);
      if (after < 0) return -1;
      this.kind = "string";
      this.start = p + 1;
      this.valueEnd = after - 1;
      return after;
    }
    if (c === 0x74) return this.literal(p, TRUE, "true");
    if (c === 0x66) return this.literal(p, FALSE, "false");
    if (c === 0x6e) return this.literal(p, NULL, "null");
    if (c === 0x2d || isDigit(c)) return this.scanNumber(p);
    return this.fail("malformed");
  }

  private literal(p: number, text: Uint8Array, kind: JsonValueKind): number {
    if (p + text.length > this.end) return this.fail("malformed");
    for (let i = 1; i < text.length; i++) if (this.buf[p + i] !== text[i]) return this.fail("malformed");
    this.kind = kind;
    this.start = p;
    this.valueEnd = p + text.length;
    return this.valueEnd;
  }

  private scanNumber(p: number): number {
    const buf = this.buf;
    const end = this.end;
    const begin = p;
    if (buf[p] === 0x2d) p++;
    if (p >= end) return this.fail("malformed");
    if (buf[p] === 0x30) p++;
    else if (isDigit(buf[p])) while (p < end && isDigit(buf[p])) p++;
    else return this.fail("malformed");
    if (p < end && buf[p] === 0x2e) {
      p++;
      if (p >= end || !isDigit(buf[p])) return this.fail("malformed");
      while (p < end && isDigit(buf[p])) p++;
    }
    if (p < end && (buf[p] === 0x65 || buf[p] === 0x45)) {
      p++;
      if (p < end && (buf[p] === 0x2b || buf[p] === 0x2d)) p++;
      if (p >= end || !isDigit(buf[p])) return this.fail("malformed");
      while (p < end && isDigit(buf[p])) p++;
    }
    this.kind = "number";
    this.start = begin;
    this.valueEnd = p;
    return p;
  }

  scanString(p: number): number {
    const buf = this.buf;
    const end = this.end;
    if (p >= end || buf[p] !== 0x22) return this.fail("malformed");
    p++;
    while (p < end) {
      const c = buf[p];
      if (c === 0x22) return p + 1;
      if (c < 0x20) return this.fail("malformed");
      if (c === 0x5c) {
        if (p + 1 >= end) return this.fail("malformed");
        const e = buf[p + 1];
        if (e === 0x75) {
          if (p + 6 > end) return this.fail("malformed");
          for (let i = 2; i < 6; i++) if (!isHex(buf[p + i])) return this.fail("malformed");
          p += 6;
        } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          p += 2;
        } else return this.fail("malformed");
        continue;
      }
      if (c < 0x80) {
        p++;
        continue;
      }
      // UTF-8: the second byte's range excludes overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4).
      let extra: number;
      let lo = 0x80;
      let hi = 0xbf;
      if (c >= 0xc2 && c <= 0xdf) extra = 1;
      else if (c >= 0xe0 && c <= 0xef) {
        extra = 2;
        if (c === 0xe0) lo = 0xa0;
        else if (c === 0xed) hi = 0x9f;
      } else if (c >= 0xf0 && c <= 0xf4) {
        extra = 3;
        if (c === 0xf0) lo = 0x90;
        else if (c === 0xf4) hi = 0x8f;
      } else return this.fail("malformed");
      if (p + extra >= end) return this.fail("malformed");
      const second = buf[p + 1];
      if (second < lo || second > hi) return this.fail("malformed");
      for (let i = 2; i <= extra; i++) if ((buf[p + i] & 0xc0) !== 0x80) return this.fail("malformed");
      p += extra + 1;
    }
    return this.fail("malformed");
  }

  /** scanValue for the object at `p`, telling `visitor` of each member as it goes (one pass). */
  scanObject(p: number, depth: number, visitor: MemberVisitor): number {
    return this.scanContainer(p, depth, true, visitor);
  }

  private scanContainer(p: number, depth: number, isObject: boolean, visitor: MemberVisitor | null = null): number {
    if (depth >= this.maxDepth) return this.fail("too-deep");
    const begin = p;
    const close = isObject ? 0x7d : 0x5d;
    p = this.skipWs(p + 1);
    if (p < this.end && this.buf[p] === close) return this.closed(begin, p + 1, isObject);
    let key = 0;
    let keyLength = 0;
    for (;;) {
      if (isObject) {
        key = p + 1;
        p = this.scanString(p);
        if (p < 0) return -1;
        keyLength = p - 1 - key;
        p = this.skipWs(p);
        if (p >= this.end || this.buf[p] !== 0x3a) return this.fail("malformed");
        p = this.skipWs(p + 1);
      }
      p = this.scanValue(p, depth + 1);
      if (p < 0) return -1;
      if (visitor !== null) visitor.member(key, keyLength);
      p = this.skipWs(p);
      if (p >= this.end) return this.fail("malformed");
      const c = this.buf[p];
      if (c === close) return this.closed(begin, p + 1, isObject);
      if (c !== 0x2c) return this.fail("malformed");
      p = this.skipWs(p + 1);
    }
  }

  private closed(begin: number, after: number, isObject: boolean): number {
    this.kind = isObject ? "object" : "array";
    this.start = begin;
    this.valueEnd = after;
    return after;
  }
}
