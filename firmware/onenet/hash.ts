/*
 * The streaming hash interface shared by SHA-1, SHA-256 and MD5, and the block buffering they share.
 *
 * Why streaming with caller offsets: on XS every temporary Uint8Array or string costs heap, so a key or
 * a message is hashed where it already lies (`update(bytes, offset, length)`). All state is allocated once in the
 * constructor; `reset()` makes an instance reusable for ever.
 *
 * API (all three hashes):
 *   reset(): void                                    start a new message
 *   update(bytes, offset = 0, length = rest): void   feed bytes (RangeError when the range is outside `bytes`)
 *   updateByte(b): void                              feed one byte
 *   updateString(text): void                         feed `text` as UTF-8 (../bytes.ts utf8Bytes: allocates, host tools only)
 *   finish(out, outOffset = 0): number               write the digest, return its size, and reset
 *   blockSize (64), digestSize (20 / 32 / 16)
 *   saveState(into: Int32Array) / restoreState(from: Int32Array, totalBytes)   the chaining state at a block
 *                                                    boundary (stateWords words), so HMAC can start from its
 *                                                    pads' state instead of hashing them for every message
 */
import { utf8Bytes } from "../bytes.js";

export interface Hash {
  readonly blockSize: number;
  readonly digestSize: number;
  reset(): void;
  update(bytes: Uint8Array, offset?: number, length?: number): void;
  updateByte(byte: number): void;
  updateString(text: string): void;
  finish(out: Uint8Array, outOffset?: number): number;
  readonly stateWords: number;
  saveState(into: Int32Array): void;
  restoreState(from: Int32Array, totalBytes: number): void;
}

/** Merkle–Damgård with 64-byte blocks and a 64-bit length: everything but the compression function. */
export abstract class BlockHash implements Hash {
  readonly blockSize = 64;
  abstract readonly digestSize: number;
  /** The chaining variables (5, 8 or 4 words). */
  protected abstract readonly h: Int32Array;
  protected readonly block = new Uint8Array(64);
  private used = 0;
  /** Bytes hashed so far; a double is exact up to 2^53 bytes, far beyond anything a board hashes. */
  private total = 0;

  protected abstract init(): void;
  protected abstract compress(bytes: Uint8Array, offset: number): void;
  protected abstract writeDigest(out: Uint8Array, offset: number): void;
  /** MD5 stores the message length little-endian, the SHA family big-endian. */
  protected abstract readonly littleEndianLength: boolean;

  get stateWords(): number {
    return this.h.length;
  }

  saveState(into: Int32Array): void {
    // Only whole blocks are in the chaining state; a partial block would be lost.
    if (this.used !== 0) throw new RangeError("hash state saved off a block boundary");
    into.set(this.h);
  }

  restoreState(from: Int32Array, totalBytes: number): void {
    if (totalBytes % 64 !== 0) throw new RangeError("hash state restored off a block boundary");
    for (let i = 0; i < this.h.length; i++) this.h[i] = from[i];
    this.used = 0;
    this.total = totalBytes;
  }

  reset(): void {
    this.used = 0;
    this.total = 0;
    this.init();
  }

  update(bytes: Uint8Array, offset = 0, length = bytes.length - offset): void {
    // A range outside the array would read `undefined` (hashed as 0) and give a wrong digest silently.
    if (offset < 0 || length < 0 || offset + length > bytes.length) throw new RangeError("hash update out of range");
    this.total += length;
    const block = this.block;
    let used = this.used;
    const end = offset + length;
    if (used > 0) {
      while (used < 64 && offset < end) block[used++] = bytes[offset++];
      if (used < 64) {
        this.used = used;
        return;
      }
      this.compress(block, 0);
      used = 0;
    }
    // Whole blocks are compressed where they lie: no copy.
    while (end - offset >= 64) {
      this.compress(bytes, offset);
      offset += 64;
    }
    while (offset < end) block[used++] = bytes[offset++];
    this.used = used;
  }

  updateByte(byte: number): void {
    this.total++;
    this.block[this.used++] = byte;
    if (this.used === 64) {
      this.compress(this.block, 0);
      this.used = 0;
    }
  }

  /** Allocates (the text's bytes): host tools and tests; the token streams bytes. */
  updateString(text: string): void {
    const bytes = utf8Bytes(text);
    this.update(bytes, 0, bytes.length);
  }


  finish(out: Uint8Array, outOffset = 0): number {
    if (outOffset < 0 || outOffset + this.digestSize > out.length) throw new RangeError("hash output out of range");
    const block = this.block;
    const total = this.total;
    let used = this.used;
    block[used++] = 0x80;
    if (used > 56) {
      block.fill(0, used);
      this.compress(block, 0);
      used = 0;
    }
    block.fill(0, used, 56);
    // Length in bits as a 64-bit integer; `>>> 0` keeps the low 32 bits of the double.
    const lo = (total * 8) >>> 0;
    const hi = Math.floor(total / 0x20000000) >>> 0;
    if (this.littleEndianLength) {
      block[56] = lo;
      block[57] = lo >>> 8;
      block[58] = lo >>> 16;
      block[59] = lo >>> 24;
      block[60] = hi;
      block[61] = hi >>> 8;
      block[62] = hi >>> 16;
      block[63] = hi >>> 24;
    } else {
      block[56] = hi >>> 24;
      block[57] = hi >>> 16;
      block[58] = hi >>> 8;
      block[59] = hi;
      block[60] = lo >>> 24;
      block[61] = lo >>> 16;
      block[62] = lo >>> 8;
      block[63] = lo;
    }
    this.compress(block, 0);
    this.writeDigest(out, outOffset);
    this.reset();
    return this.digestSize;
  }
}

/** Writes a 32-bit word big-endian. */
export function putWordBE(out: Uint8Array, offset: number, word: number): void {
  out[offset] = word >>> 24;
  out[offset + 1] = word >>> 16;
  out[offset + 2] = word >>> 8;
  out[offset + 3] = word;
}
