/*
 * The AT driver's transmit queue: one fixed ring of bytes the session handed over, and the one
 * output job that writes a span of it to the UART (the data of an AT+CIPSEND, or in transparent
 * mode the stream itself). A pure data structure: it knows nothing of commands or the module.
 *
 *   push(bytes, offset, length): boolean   queues a copy; false (nothing queued) when it does not fit
 *   used / free / head                      queued bytes, room, where the oldest queued byte is
 *   consume(n)                              the oldest n bytes are gone (sent, or given up)
 *   keepOnly(n) / clear()                   forget the queue, keeping the first n bytes (a chunk under way)
 *   beginOutput(n) / outputSpan() / wrote(w)   the output job: n bytes from head, in contiguous spans
 */
export class TxRing {
  readonly bytes: Uint8Array;
  /** Index of the oldest queued byte. */
  head = 0;
  /** Bytes queued from head on. */
  used = 0;
  /** The output job: next byte to write, and how many are left to write. */
  cursor = 0;
  pending = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
  }

  get free(): number {
    return this.bytes.length - this.used;
  }

  push(src: Uint8Array, offset: number, length: number): boolean {
    if (length > this.bytes.length - this.used) return false;
    const ring = this.bytes;
    const size = ring.length;
    const tail = (this.head + this.used) % size;
    const first = Math.min(length, size - tail);
    for (let i = 0; i < first; i++) ring[tail + i] = src[offset + i];
    for (let i = first; i < length; i++) ring[i - first] = src[offset + i];
    this.used += length;
    return true;
  }

  consume(n: number): void {
    this.head = (this.head + n) % this.bytes.length;
    this.used = this.used > n ? this.used - n : 0;
  }

  /** Forgets the queue but its first `n` bytes (a chunk the module is taking expects exactly n). */
  keepOnly(n: number): void {
    if (n > 0) {
      this.used = n;
      return;
    }
    this.used = 0;
    this.head = 0;
  }

  clear(): void {
    this.used = 0;
    this.head = 0;
    this.pending = 0;
  }

  /** Starts writing `n` bytes from head. */
  beginOutput(n: number): void {
    this.cursor = this.head;
    this.pending = n;
  }

  /** The next contiguous run to write (0 when the job is done). */
  outputSpan(): number {
    const toEnd = this.bytes.length - this.cursor;
    return this.pending < toEnd ? this.pending : toEnd;
  }

  /** `w` bytes of the job were written. */
  wrote(w: number): void {
    this.cursor = (this.cursor + w) % this.bytes.length;
    this.pending -= w;
  }
}
