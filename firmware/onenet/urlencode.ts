/*
 * The URL encoding of token values (`res` and `sign`), into a caller buffer.
 *
 * API:
 *   urlEncodedLength(src, offset, length): number
 *   urlEncode(src, srcOffset, srcLength, out, outOffset): number          bytes written
 *   urlEncodedStringLength(text): number
 *   urlEncodeString(text: string, out, outOffset): number                 `text` as UTF-8, then encoded
 * Errors: UrlEncodeError with `.code` "no-room" (the caller sizes buffers with urlEncodedLength).
 *
 * OneNET's documentation lists `+ / = % space & ? #` as the characters to escape; its server decodes
 * values with a standard URL decoder, so escaping every byte outside RFC 3986's unreserved set
 * (A-Z a-z 0-9 - _ . ~) gives the same token for every real res and sign (whose characters are
 * letters, digits, `/ + =`), and stays correct for anything else. Hex digits are upper case, as in
 * OneNET's examples (`%2F`, `%2B`, `%3D`).
 */

import { utf8Bytes } from "../bytes.js";

export class UrlEncodeError extends Error {
  override name = "UrlEncodeError";
  readonly code = "no-room";
  constructor() {
    super("urlencode: no-room");
  }
}

// Bytes, not a string: on XS reading a string's characters allocates (see ../bytes.ts).
const HEX = Uint8Array.of(0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46);

function unreserved(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e
  );
}

export function urlEncodedLength(src: Uint8Array, offset: number, length: number): number {
  let n = 0;
  for (let i = offset; i < offset + length; i++) n += unreserved(src[i]) ? 1 : 3;
  return n;
}

export function urlEncode(src: Uint8Array, srcOffset: number, srcLength: number, out: Uint8Array, outOffset: number): number {
  if (srcOffset < 0 || srcLength < 0 || srcOffset + srcLength > src.length) throw new RangeError("urlencode source out of range");
  if (outOffset < 0 || outOffset + urlEncodedLength(src, srcOffset, srcLength) > out.length) throw new UrlEncodeError();
  let o = outOffset;
  for (let i = srcOffset; i < srcOffset + srcLength; i++) o = putEncoded(src[i], out, o);
  return o - outOffset;
}

function putEncoded(c: number, out: Uint8Array, o: number): number {
  if (unreserved(c)) {
    out[o] = c;
    return o + 1;
  }
  out[o] = 0x25;
  out[o + 1] = HEX[c >> 4];
  out[o + 2] = HEX[c & 15];
  return o + 3;
}

/** Length of `text` URL-encoded as UTF-8 (allocates: start-up and host tools only). */
export function urlEncodedStringLength(text: string): number {
  const bytes = utf8Bytes(text);
  return urlEncodedLength(bytes, 0, bytes.length);
}

/** `text` as UTF-8, URL-encoded into `out` (allocates: start-up and host tools only). */
export function urlEncodeString(text: string, out: Uint8Array, outOffset: number): number {
  const bytes = utf8Bytes(text);
  return urlEncode(bytes, 0, bytes.length, out, outOffset);
}
