/*
 * Reconnect pacing for the MQTT session: exponential back-off with jitter, and a hard cap on how
 * many CONNECTs may go out in a sliding window (OneNET: 3 logins per 5 s, a 5-minute ban after
 * 10). The cap is kept apart from the back-off because the back-off is reset after a stable
 * session, while the cap must hold whatever the reason the link went down.
 */
import { causeClass, type LinkCause } from "../transport.js";

/** Anything that yields numbers in [0, 1) (the board's `random`). */
export interface RandomSource {
  random(): number;
}

/**
 * Exponential back-off with "equal jitter": each delay is half the current step plus a random
 * part of the other half, so many devices that lost the same broker spread out, yet one device
 * never retries sooner than half the step.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly rng: RandomSource,
  ) {}

  /** The delay before the next attempt; each call doubles the step up to `maxMs`. */
  next(): number {
    // Cap the exponent so the power stays a finite integer however long the outage lasts.
    const exponent = this.attempt < 30 ? this.attempt : 30;
    let step = this.initialMs * 2 ** exponent;
    if (step > this.maxMs) step = this.maxMs;
    this.attempt++;
    let r = this.rng.random();
    // A broken random source must not turn the back-off into a tight loop or a stall.
    if (!(r >= 0 && r < 1)) r = 0.5;
    return Math.floor(step / 2 + (r * step) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/**
 * At most `max` events in any window of `windowMs`: a ring of the last `max` event times,
 * allocated once.
 */
export class RateWindow {
  private readonly times: Float64Array;
  private index = 0;
  private count = 0;

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {
    this.times = new Float64Array(max);
  }

  /**
   * The earliest time, not before `time`, at which one more event keeps every closed window of
   * `windowMs` at `max` events or fewer.
   */
  earliest(time: number): number {
    if (this.count < this.max) return time;
    // The slot about to be overwritten holds the oldest of the last `max` events.
    const allowed = this.times[this.index] + this.windowMs + 1;
    return allowed > time ? allowed : time;
  }

  record(time: number): void {
    this.times[this.index] = time;
    this.index = (this.index + 1) % this.max;
    if (this.count < this.max) this.count++;
  }
}

/**
 * How the session waits before it opens a link again, by what went wrong:
 * - "transient": the link dropped, closed, timed out, the module reset: backoff (1 s doubling to 60 s)
 * - "network-refused": the network refused us (wrong WiFi password, no such access point):
 *   networkBackoff (30 s doubling to 4 min); it may change on its own (the AP comes back)
 * - "server-refused": CONNACK 1, 2, 4, 5 or no token: refusedBackoff (2 min doubling to 30 min), as
 *   OneNET bans devices that log in too often
 * - "config": no retry can work with these settings: no timer at all, until retryNow()
 */
export type RetryKind = "transient" | "network-refused" | "server-refused" | "config";

/**
 * The wait a transport cause calls for. `networkProven`: these settings have reached the broker
 * before, so a missing access point is an outage (a router restarting), not a wrong SSID: it is
 * retried like a dropped link. A wrong password stays refused (the network's password changed).
 */
export function retryKindOf(cause: LinkCause | undefined, networkProven = false): RetryKind {
  if (cause === undefined) return "transient";
  if (networkProven && cause === "wifi-ap-not-found") return "transient";
  const c = causeClass(cause);
  return c === "refused" ? "network-refused" : c === "config" ? "config" : "transient";
}


export interface RetryOptions {
  backoff: { initialMs: number; maxMs: number };
  networkBackoff: { initialMs: number; maxMs: number };
  refusedBackoff: { initialMs: number; maxMs: number };
}

export class RetryPolicy {
  private readonly transient: Backoff;
  private readonly network: Backoff;
  private readonly server: Backoff;

  constructor(o: RetryOptions, rng: RandomSource) {
    this.transient = new Backoff(o.backoff.initialMs, o.backoff.maxMs, rng);
    this.network = new Backoff(o.networkBackoff.initialMs, o.networkBackoff.maxMs, rng);
    this.server = new Backoff(o.refusedBackoff.initialMs, o.refusedBackoff.maxMs, rng);
  }

  /** The wait before the next attempt after `kind` (each call doubles that kind's step); Infinity for "config". */
  delay(kind: RetryKind): number {
    switch (kind) {
      case "transient":
        return this.transient.next();
      case "network-refused":
        return this.network.next();
      case "server-refused":
        return this.server.next();
      case "config":
        return Number.POSITIVE_INFINITY;
    }
  }

  /** A session stayed online long enough (or the configuration changed): every back-off starts over. */
  reset(): void {
    this.transient.reset();
    this.network.reset();
    this.server.reset();
  }
}
