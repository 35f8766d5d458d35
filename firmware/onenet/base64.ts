/*
 * Base64 (RFC 4648, standard alphabet, with padding) into and out of caller buffers.
 *
 * API:
 *   base64EncodedLength(n): number
 *   base64Encode(src, srcOffset, srcLength, out, outOffset): number      ASCII bytes written
 *   base64DecodedLength(text): number                                   bytes `text` decodes to (no validation)
 *   base64Decode(text: string, out, outOffset = 0): number               bytes written
 * Errors: Base64Error with `.code` "bad-length" | "bad-character" | "bad-padding" | "no-room". The message
 * names the code and never echoes the input (it is usually a secret key).
 *
 * Decoding is strict on purpose: the input is a device key typed or pasted by a user, and a key with a stray
 * space, a URL-safe `-`/`_`, missing padding or non-zero padding bits is a wrong key, better reported at
 * start-up than as CONNACK 4 later. Encoding and decoding run at configuration and token time, where the
 * buffers are pre-sized, so they throw instead of returning codes.
 */

export type Base64ErrorCode = "bad-length" | "bad-character" | "bad-padding" | "no-room";

export class Base64Error extends Error {
  override name = "Base64Error";
  constructor(readonly code: Base64ErrorCode) {
    super(`base64: ${code}`);
  }
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ENCODE = new Uint8Array(64);
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  const c = ALPHABET.charCodeAt(i);
  ENCODE[i] = c;
  DECODE[c] = i;
}
const PAD = 0x3d; // "="

export function base64EncodedLength(n: number): number {
  return Math.ceil(n / 3) * 4;
}

export function base64Encode(src: Uint8Array, srcOffset: number, srcLength: number, out: Uint8Array, outOffset: number): number {
  if (srcOffset < 0 || srcLength < 0 || srcOffset + srcLength > src.length) throw new RangeError("base64 source out of range");
  const n = base64EncodedLength(srcLength);
  if (outOffset < 0 || outOffset + n > out.length) throw new Base64Error("no-room");
  let i = srcOffset;
  let o = outOffset;
  const end = srcOffset + srcLength;
  while (end - i >= 3) {
    const v = (src[i] << 16) | (src[i + 1] << 8) | src[i + 2];
    out[o] = ENCODE[v >> 18];
    out[o + 1] = ENCODE[(v >> 12) & 63];
    out[o + 2] = ENCODE[(v >> 6) & 63];
    out[o + 3] = ENCODE[v & 63];
    i += 3;
    o += 4;
  }
  const rest = end - i;
  if (rest === 1) {
    const v = src[i] << 16;
    out[o] = ENCODE[v >> 18];
    out[o + 1] = ENCODE[(v >> 12) & 63];
    out[o + 2] = PAD;
    out[o + 3] = PAD;
  } else if (rest === 2) {
    const v = (src[i] << 16) | (src[i + 1] << 8);
    out[o] = ENCODE[v >> 18];
    out[o + 1] = ENCODE[(v >> 12) & 63];
    out[o + 2] = ENCODE[(v >> 6) & 63];
    out[o + 3] = PAD;
  }
  return n;
}

export function base64DecodedLength(text: string): number {
  const n = text.length;
  let pad = 0;
  if (n > 0 && text.charCodeAt(n - 1) === PAD) pad++;
  if (n > 1 && text.charCodeAt(n - 2) === PAD) pad++;
  return Math.max(0, (n >> 2) * 3 - pad);
}

function sextet(text: string, i: number): number {
  const c = text.charCodeAt(i);
  const v = c < 128 ? DECODE[c] : -1;
  if (v < 0) throw new Base64Error(c === PAD ? "bad-padding" : "bad-character");
  return v;
}

export function base64Decode(text: string, out: Uint8Array, outOffset = 0): number {
  const n = text.length;
  // A stray character is the likelier mistake in a pasted key than a wrong length: report it first.
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c !== PAD && (c >= 128 || DECODE[c] < 0)) throw new Base64Error("bad-character");
  }
  if (n % 4 !== 0) throw new Base64Error("bad-length");
  const total = base64DecodedLength(text);
  if (outOffset < 0 || outOffset + total > out.length) throw new Base64Error("no-room");
  let o = outOffset;
  for (let i = 0; i < n; i += 4) {
    const last = i + 4 === n;
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c3 = text.charCodeAt(i + 2);
    const c4 = text.charCodeAt(i + 3);
    if (last && c3 === PAD) {
      if (c4 !== PAD) throw new Base64Error("bad-padding");
      // Bits that the padding drops must be zero, or two different texts would decode to one key.
      if (b & 15) throw new Base64Error("bad-padding");
      out[o++] = (a << 2) | (b >> 4);
      break;
    }
    const c = sextet(text, i + 2);
    if (last && c4 === PAD) {
      if (c & 3) throw new Base64Error("bad-padding");
      out[o++] = (a << 2) | (b >> 4);
      out[o++] = ((b & 15) << 4) | (c >> 2);
      break;
    }
    const d = sextet(text, i + 3);
    out[o++] = (a << 2) | (b >> 4);
    out[o++] = ((b & 15) << 4) | (c >> 2);
    out[o++] = ((c & 3) << 6) | d;
  }
  return o - outOffset;
}
