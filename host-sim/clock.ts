/*
 * Virtual time for the host simulator and the tests.
 *
 * Everything on the host side (virtual UART, ESP8266 emulator, host board timers) schedules its
 * work on one VirtualClock, so a test can run days of board time in seconds and get the same
 * result every run. `RealTimeDriver` lets the same clock follow the wall clock for the demo.
 */
import type { BoardTimer, Clock } from "../firmware/board.js";

interface Entry {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class VirtualClock implements Clock {
  private current = 0;
  private seq = 0;
  private heap: Entry[] = [];
  /** Epoch milliseconds at virtual time 0, or -1 when the board has no trustworthy time. */
  wallOffset: number;
  /** Callbacks that threw: collected, not swallowed silently, so tests can assert there were none. */
  readonly errors: unknown[] = [];
  /** Called for every callback that throws (after it is recorded in `errors`). */
  onError: ((error: unknown) => void) | undefined;

  constructor(options: { wallOffset?: number } = {}) {
    this.wallOffset = options.wallOffset ?? -1;
  }

  now(): number {
    return this.current;
  }

  wallTime(): number {
    return this.wallOffset < 0 ? -1 : this.wallOffset + this.current;
  }

  /** Runs `fn` `ms` from now. Returns a handle whose `cancel()` stops it. */
  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const entry: Entry = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(entry);
    return {
      cancel: () => {
        entry.cancelled = true;
      },
    };
  }

  createTimer(callback: () => void): BoardTimer {
    let pending: { cancel(): void } | undefined;
    return {
      schedule: (ms: number) => {
        pending?.cancel();
        pending = this.setTimeout(() => {
          pending = undefined;
          callback();
        }, ms);
      },
      cancel: () => {
        pending?.cancel();
        pending = undefined;
      },
    };
  }

  /** Time of the next pending event, or undefined when nothing is scheduled. */
  nextEventTime(): number | undefined {
    this.dropCancelled();
    return this.heap.length ? this.heap[0].at : undefined;
  }

  /** Runs every event due up to `now + ms` in order, then leaves the clock at `now + ms`. */
  advance(ms: number): void {
    this.runUntil(this.current + ms);
  }

  /** Runs every event due at or before `time` in order, then sets the clock to `time`. */
  runUntil(time: number): void {
    for (;;) {
      this.dropCancelled();
      const head = this.heap[0];
      if (!head || head.at > time) break;
      this.pop();
      this.current = Math.max(this.current, head.at);
      this.invoke(head.fn);
    }
    this.current = Math.max(this.current, time);
  }

  /**
   * Advances until `predicate()` holds (checked after every event) or `limitMs` of virtual time
   * has passed. Returns whether the predicate held.
   */
  runUntilTrue(predicate: () => boolean, limitMs: number): boolean {
    const deadline = this.current + limitMs;
    if (predicate()) return true;
    for (;;) {
      this.dropCancelled();
      const head = this.heap[0];
      if (!head || head.at > deadline) {
        this.current = deadline;
        return predicate();
      }
      this.pop();
      this.current = Math.max(this.current, head.at);
      this.invoke(head.fn);
      if (predicate()) return true;
    }
  }

  private invoke(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.errors.push(error);
      this.onError?.(error);
    }
  }

  private dropCancelled(): void {
    while (this.heap.length && this.heap[0].cancelled) this.pop();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private pop(): Entry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && this.less(heap[l], heap[m])) m = l;
        if (r < heap.length && this.less(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Drives a VirtualClock from the wall clock (for the interactive simulator): virtual time follows
 * real time, and events scheduled from real I/O (sockets, the console) run promptly.
 */
export class RealTimeDriver {
  private handle: NodeJS.Timeout | undefined;
  private start = 0;
  private base = 0;

  constructor(private readonly clock: VirtualClock, private readonly tickMs = 2) {}

  startDriving(): void {
    this.start = Date.now();
    this.base = this.clock.now();
    this.handle = setInterval(() => this.clock.runUntil(this.base + (Date.now() - this.start)), this.tickMs);
  }

  stop(): void {
    if (this.handle) clearInterval(this.handle);
    this.handle = undefined;
  }
}
