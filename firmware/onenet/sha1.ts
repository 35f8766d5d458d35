/*
 * SHA-1 (FIPS 180-4), streaming, with all state allocated in the constructor.
 * API: see hash.ts (reset, update(bytes, offset, length), updateByte, updateString, finish(out, outOffset)).
 * OneNET tokens with method=sha1 use it through Hmac; SHA-1's weakness does not matter for HMAC.
 */
import { BlockHash, putWordBE } from "./hash.js";

export class Sha1 extends BlockHash {
  readonly digestSize = 20;
  protected readonly littleEndianLength = false;
  private readonly w = new Int32Array(80);
  private h0 = 0;
  private h1 = 0;
  private h2 = 0;
  private h3 = 0;
  private h4 = 0;

  constructor() {
    super();
    this.reset();
  }

  protected init(): void {
    this.h0 = 0x67452301;
    this.h1 = 0xefcdab89 | 0;
    this.h2 = 0x98badcfe | 0;
    this.h3 = 0x10325476;
    this.h4 = 0xc3d2e1f0 | 0;
  }

  protected compress(m: Uint8Array, o: number): void {
    const w = this.w;
    for (let i = 0; i < 16; i++, o += 4) w[i] = (m[o] << 24) | (m[o + 1] << 16) | (m[o + 2] << 8) | m[o + 3];
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = this.h0;
    let b = this.h1;
    let c = this.h2;
    let d = this.h3;
    let e = this.h4;
    for (let i = 0; i < 80; i++) {
      let f: number;
      let k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc | 0;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6 | 0;
      }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    this.h0 = (this.h0 + a) | 0;
    this.h1 = (this.h1 + b) | 0;
    this.h2 = (this.h2 + c) | 0;
    this.h3 = (this.h3 + d) | 0;
    this.h4 = (this.h4 + e) | 0;
  }

  protected writeDigest(out: Uint8Array, offset: number): void {
    putWordBE(out, offset, this.h0);
    putWordBE(out, offset + 4, this.h1);
    putWordBE(out, offset + 8, this.h2);
    putWordBE(out, offset + 12, this.h3);
    putWordBE(out, offset + 16, this.h4);
  }
}
