/*
 * HMAC (RFC 2104) over any Hash of hash.ts, with the pads and the inner digest allocated once.
 *
 * API:
 *   new Hmac(hash)                                  owns `hash` from then on (do not use it elsewhere)
 *   setKey(key, offset = 0, length = rest): void    key as bytes; keys longer than a block are hashed first (RFC 2104)
 *   reset(): void                                   start a new message under the same key (setKey calls it)
 *   update(bytes, offset, length) / updateByte(b) / updateString(text)
 *   finish(out, outOffset = 0): number              write the MAC (digestSize bytes), return its size, ready for the next message
 *   clearKey(): void                                wipe the key material from the pads
 *   digestSize
 *
 * The pads keep the key XORed with 0x36/0x5c for the life of the object, so a token can be rebuilt before
 * every connect without decoding the key again.
 */
import type { Hash } from "./hash.js";

export class Hmac {
  readonly digestSize: number;
  private readonly ipad: Uint8Array;
  private readonly opad: Uint8Array;
  private readonly inner: Uint8Array;

  constructor(private readonly hash: Hash) {
    this.digestSize = hash.digestSize;
    this.ipad = new Uint8Array(hash.blockSize);
    this.opad = new Uint8Array(hash.blockSize);
    this.inner = new Uint8Array(hash.digestSize);
    this.setKey(this.inner, 0, 0);
  }

  setKey(key: Uint8Array, offset = 0, length = key.length - offset): void {
    if (offset < 0 || length < 0 || offset + length > key.length) throw new RangeError("hmac key out of range");
    const ipad = this.ipad;
    const opad = this.opad;
    const blockSize = ipad.length;
    let keyLength = length;
    if (length > blockSize) {
      this.hash.reset();
      this.hash.update(key, offset, length);
      keyLength = this.hash.finish(ipad, 0);
    } else {
      for (let i = 0; i < length; i++) ipad[i] = key[offset + i];
    }
    ipad.fill(0, keyLength);
    for (let i = 0; i < blockSize; i++) {
      const k = ipad[i];
      ipad[i] = k ^ 0x36;
      opad[i] = k ^ 0x5c;
    }
    this.reset();
  }

  reset(): void {
    this.hash.reset();
    this.hash.update(this.ipad, 0, this.ipad.length);
  }

  update(bytes: Uint8Array, offset = 0, length = bytes.length - offset): void {
    this.hash.update(bytes, offset, length);
  }

  updateByte(byte: number): void {
    this.hash.updateByte(byte);
  }

  updateString(text: string): void {
    this.hash.updateString(text);
  }

  finish(out: Uint8Array, outOffset = 0): number {
    if (outOffset < 0 || outOffset + this.digestSize > out.length) throw new RangeError("hmac output out of range");
    const hash = this.hash;
    hash.finish(this.inner, 0);
    hash.update(this.opad, 0, this.opad.length);
    hash.update(this.inner, 0, this.inner.length);
    const n = hash.finish(out, outOffset);
    this.reset();
    return n;
  }

  clearKey(): void {
    this.ipad.fill(0);
    this.opad.fill(0);
    this.inner.fill(0);
    this.hash.reset();
  }
}
