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
 * setKey hashes the two pads once and keeps the hash's state after each, so every message costs two
 * compressions less (a token: 3 instead of 5); the key can then be rebuilt into tokens before every
 * connect without decoding it again. The pads themselves are wiped: only the two states stay.
 */
import type { Hash } from "./hash.js";

export class Hmac {
  readonly digestSize: number;
  private readonly ipad: Uint8Array;
  private readonly opad: Uint8Array;
  private readonly inner: Uint8Array;
  private readonly innerState: Int32Array;
  private readonly outerState: Int32Array;

  constructor(private readonly hash: Hash) {
    this.digestSize = hash.digestSize;
    this.ipad = new Uint8Array(hash.blockSize);
    this.opad = new Uint8Array(hash.blockSize);
    this.inner = new Uint8Array(hash.digestSize);
    this.innerState = new Int32Array(hash.stateWords);
    this.outerState = new Int32Array(hash.stateWords);
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
    const hash = this.hash;
    hash.reset();
    hash.update(opad, 0, blockSize);
    hash.saveState(this.outerState);
    hash.reset();
    hash.update(ipad, 0, blockSize);
    hash.saveState(this.innerState);
    ipad.fill(0);
    opad.fill(0);
    this.reset();
  }

  reset(): void {
    this.hash.restoreState(this.innerState, this.ipad.length);
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
    hash.restoreState(this.outerState, this.opad.length);
    hash.update(this.inner, 0, this.inner.length);
    const n = hash.finish(out, outOffset);
    this.reset();
    return n;
  }

  /** Wipes the key's traces; the MAC is then keyed with the empty key. */
  clearKey(): void {
    this.setKey(this.inner, 0, 0);
    this.inner.fill(0);
  }
}
