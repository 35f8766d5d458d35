/*
 * SHA-1 (FIPS 180-4), streaming, with all state allocated in the constructor.
 * API: see hash.ts (reset, update(bytes, offset, length), updateByte, updateString, finish(out, outOffset)).
 * OneNET tokens with method=sha1 use it through Hmac; SHA-1's weakness does not matter for HMAC.
 */
import { BlockHash, putWordBE } from "./hash.js";

export class Sha1 extends BlockHash {
  readonly digestSize = 20;
  protected readonly littleEndianLength = false;
  protected readonly h = new Int32Array(5);
  private readonly w = new Int32Array(80);

  constructor() {
    super();
    this.reset();
  }

  protected init(): void {
    const h = this.h;
    h[0] = 0x67452301;
    h[1] = 0xefcdab89;
    h[2] = 0x98badcfe;
    h[3] = 0x10325476;
    h[4] = 0xc3d2e1f0;
  }

  protected compress(m: Uint8Array, o: number): void {
    const w = this.w;
    for (let i = 0; i < 16; i++, o += 4) w[i] = (m[o] << 24) | (m[o + 1] << 16) | (m[o + 2] << 8) | m[o + 3];
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
      w[i] = (x << 1) | (x >>> 31);
    }
    const h = this.h;
    let a = h[0];
    let b = h[1];
    let c = h[2];
    let d = h[3];
    let e = h[4];
    // Four loops instead of a branch per round: about a third less work per block on XS.
    let i = 0;
    for (; i < 20; i++) {
      const t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + 0x5a827999 + w[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    for (; i < 40; i++) {
      const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + 0x6ed9eba1 + w[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    for (; i < 60; i++) {
      const t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e - 0x70e44324 + w[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    for (; i < 80; i++) {
      const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e - 0x359d3e2a + w[i]) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    h[0] = (h[0] + a) | 0;
    h[1] = (h[1] + b) | 0;
    h[2] = (h[2] + c) | 0;
    h[3] = (h[3] + d) | 0;
    h[4] = (h[4] + e) | 0;
  }

  protected writeDigest(out: Uint8Array, offset: number): void {
    for (let i = 0; i < 5; i++) putWordBE(out, offset + 4 * i, this.h[i]);
  }
}
