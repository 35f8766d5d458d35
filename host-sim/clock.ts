/*
 * Virtual time for the host simulator and the tests.
 *
 * Everything on the host side (virtual UART, ESP8266 emulator, host board timers) schedules its
 * work on one VirtualClock, so a test can run days of board time in seconds and get the same
 * result every run. `RealTimeDriver` lets the same clock follow the wall clock for the demo.
 */
import type { BoardTimer, Clock } from "../firmware/board.js";

/**
 * A processor simulated in lock-step with the clock (the emulated chip). Before the clock runs an
 * event at time T it runs the processor up to T, so what the processor sees from the host side
 * (UART bytes) arrives at the exact time; what it produces it schedules on the clock at its own
 * time (never earlier than now()), and it returns early (the time it reached) whenever it did, so
 * the clock can run those events before the processor goes on.
 */
export interface CoProcessor {
  /** Runs up to board time `time` (ms), or less when it produced output; returns the time reached. */
  runTo(time: number): number;
}

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
  private processor: CoProcessor | undefined;
  private yieldRequested = false;
  /** How far the processor has run (>= current while one is attached). */
  private processorTime = 0;

  constructor(options: { wallOffset?: number } = {}) {
    this.wallOffset = options.wallOffset ?? -1;
  }

  now(): number {
    return this.current;
  }

  wallTime(): number {
    return this.wallOffset < 0 ? -1 : this.wallOffset + this.current;
  }

  /** Runs `processor` in lock-step with this clock from now on (one at a time). */
  attach(processor: CoProcessor): void {
    if (this.processor) throw new Error("a processor is already attached to this clock");
    this.processor = processor;
    this.processorTime = this.current;
  }

  detach(): void {
    this.processor = undefined;
  }

  /** Where the attached processor is (board time it has run to), or now() without one. */
  get processorNow(): number {
    return this.processor ? this.processorTime : this.current;
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

  /**
   * Asks a yieldable runUntil under way to return after the event it is running: something
   * started real I/O (a socket) whose answer must be let in before board time moves on.
   */
  requestYield(): void {
    this.yieldRequested = true;
  }

  /**
   * Runs every event due at or before `time` in order, then sets the clock to `time`. With
   * `yieldable`, it returns early (the clock left at the last event run) when requestYield() was
   * called; it returns whether it reached `time`.
   */
  runUntil(time: number, options?: { yieldable?: boolean }): boolean {
    const yieldable = options?.yieldable === true;
    this.yieldRequested = false;
    for (;;) {
      if (yieldable && this.yieldRequested) {
        this.yieldRequested = false;
        return false;
      }
      this.dropCancelled();
      const head = this.heap[0];
      if (this.processor && !this.processorCaughtUp(head && head.at <= time ? head.at : time)) continue;
      if (!head || head.at > time) break;
      this.pop();
      this.current = Math.max(this.current, head.at);
      this.invoke(head.fn);
    }
    this.current = Math.max(this.current, time);
    return true;
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
      if (this.processor && !this.processorCaughtUp(head && head.at <= deadline ? head.at : deadline)) {
        if (predicate()) return true;
        continue;
      }
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

  /** Runs the processor to `time`; false when it stopped short (it scheduled output: look again). */
  private processorCaughtUp(time: number): boolean {
    if (this.processorTime >= time) return true;
    this.processorTime = this.processor!.runTo(time);
    return this.processorTime >= time;
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
 * real time, and events scheduled from real I/O (sockets, the console) run promptly. Board time
 * never runs ahead of the wall clock; with `maxStepMs` it advances at most that much per turn of
 * Node's event loop, so a processor slower than real time (the emulated chip) falls behind
 * instead of blocking the event loop, and catches up as fast as it can.
 */
export class RealTimeDriver {
  private handle: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private start = 0;
  private base = 0;
  private running = false;

  constructor(
    private readonly clock: VirtualClock,
    private readonly tickMs = 2,
    private readonly maxStepMs = Infinity,
  ) {}

  startDriving(): void {
    this.start = Date.now();
    this.base = this.clock.now();
    this.running = true;
    this.handle = setTimeout(this.tick, this.tickMs);
  }

  /** How far board time is behind the wall clock (ms). */
  get lagMs(): number {
    return this.running ? Math.max(0, this.base + (Date.now() - this.start) - this.clock.now()) : 0;
  }

  stop(): void {
    this.running = false;
    if (this.handle) {
      clearTimeout(this.handle as NodeJS.Timeout);
      clearImmediate(this.handle as NodeJS.Immediate);
    }
    this.handle = undefined;
  }

  private readonly tick = (): void => {
    if (!this.running) return;
    const wall = this.base + (Date.now() - this.start);
    const target = Math.min(wall, this.clock.now() + this.maxStepMs);
    const reached = this.clock.runUntil(target, { yieldable: true });
    if (!this.running) return;
    this.handle = !reached || target < wall ? setImmediate(this.tick) : setTimeout(this.tick, this.tickMs);
  };
}
