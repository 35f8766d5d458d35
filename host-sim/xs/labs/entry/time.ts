// Stand-in for Moddable's `time`: ticks are the proxy board's monotonic (virtual) milliseconds.
import { wiredBoard } from "./wiring.js";

const Time = {
  get ticks(): number {
    return wiredBoard().clock.now();
  },
};

export default Time;
