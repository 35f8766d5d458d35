/*
 * What every fuzz target shares: the violation it throws, the per-target tally, an order-sensitive
 * trace hash (two runs over the same bytes must produce the same trace whatever the chunking), and
 * a guarded buffer (a view inside a larger array filled with a canary, to catch writes out of bounds).
 */

export type Rule =
  | "threw" // an exception escaped (the code under test must report through its sink or error values)
  | "chunking-changed-result" // the same bytes split differently gave different events
  | "out-of-bounds-write" // the canary around a buffer changed
  | "buffer-resized" // a fixed buffer changed length
  | "unbounded-work" // more events or timer callbacks than the input can explain
  | "slow-case" // one case took far longer than any input of its size should
  | "bad-event" // an event that breaks the sink contract (offsets outside the chunk, data outside a block...)
  | "unknown-error-name" // an error reported that is not one of the named values
  | "not-back-in-sync" // after garbage and a resync point, a known-good session decodes differently
  | "no-recovery" // the driver did not bring a link up with a well-behaved module after garbage
  | "lost-or-invented-data"; // the driver delivered bytes that were not sent, or lost some after recovery

export class FuzzViolation extends Error {
  constructor(
    readonly target: string,
    readonly rule: Rule,
    readonly detail: string,
    readonly input: Uint8Array,
  ) {
    super(`${target}: ${rule}: ${detail}`);
    this.name = "FuzzViolation";
  }
}

export class Tally {
  cases = 0;
  bytes = 0;
  /** Named errors (and other named outcomes) seen, by name. */
  readonly names = new Map<string, number>();
  count(name: string, n = 1): void {
    this.names.set(name, (this.names.get(name) ?? 0) + n);
  }
}

/** FNV-1a style running hash of events. */
export class Trace {
  h = 0x811c9dc5;
  events = 0;
  reset(): void {
    this.h = 0x811c9dc5;
    this.events = 0;
  }
  num(x: number): void {
    this.h = Math.imul(this.h ^ (x | 0), 16777619);
  }
  str(s: string): void {
    for (let i = 0; i < s.length; i++) this.num(s.charCodeAt(i));
    this.num(-1);
  }
  bytes(b: Uint8Array, off: number, n: number): void {
    let h = this.h;
    for (let i = off; i < off + n; i++) h = Math.imul(h ^ b[i], 16777619);
    this.h = h;
  }
}

export const GUARD = 64;
export const CANARY = 0xa5;

/** A `size`-byte view in the middle of a canary-filled array. */
export function guardedView(size: number): Uint8Array {
  const whole = new Uint8Array(size + 2 * GUARD).fill(CANARY);
  return whole.subarray(GUARD, GUARD + size);
}

/** Whether the canary bytes around a guardedView are intact. */
export function canaryIntact(view: Uint8Array): boolean {
  const whole = new Uint8Array(view.buffer, view.byteOffset - GUARD, view.length + 2 * GUARD);
  for (let i = 0; i < GUARD; i++) if (whole[i] !== CANARY || whole[whole.length - 1 - i] !== CANARY) return false;
  return true;
}

export function hex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return s;
}
