/*
 * Stand-in for Moddable's `timer` over the proxy board's clock (virtual time in Node):
 * set/repeat/schedule/clear with Moddable's meaning (schedule(t) unschedules; schedule(t, ms,
 * repeat) fires after ms, then every repeat; the callback gets the timer).
 */
import type { BoardTimer } from "../../../../firmware/board.js";
import { wiredBoard } from "./wiring.js";

interface ModdableTimer {
  timer: BoardTimer;
  repeat: number;
}

function make(callback: (t: ModdableTimer) => void): ModdableTimer {
  const t: ModdableTimer = {
    repeat: 0,
    timer: wiredBoard().clock.createTimer(() => {
      if (t.repeat > 0) t.timer.schedule(t.repeat);
      callback(t);
    }),
  };
  return t;
}

const Timer = {
  set(callback: (t: ModdableTimer) => void, ms = 0, repeat = 0): ModdableTimer {
    const t = make(callback);
    Timer.schedule(t, ms, repeat);
    return t;
  },
  repeat(callback: (t: ModdableTimer) => void, interval: number): ModdableTimer {
    const t = make(callback);
    Timer.schedule(t, interval, interval);
    return t;
  },
  schedule(t: ModdableTimer, ms?: number, repeat = 0): void {
    if (ms === undefined) {
      t.repeat = 0;
      t.timer.cancel();
      return;
    }
    t.repeat = repeat;
    t.timer.schedule(ms);
  },
  clear(t: ModdableTimer | undefined): void {
    if (!t) return;
    t.repeat = 0;
    t.timer.cancel();
  },
};

export default Timer;
