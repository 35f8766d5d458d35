/*
 * Stand-in for Moddable's `embedded:io/digital`: an output on the LED pin drives the proxy board's
 * LED, on the RST pin its moduleReset; any other pin goes nowhere.
 */
import { stackFrames, wiring } from "./wiring.js";

export default class Digital {
  static readonly Input = 0;
  static readonly Output = 8;
  private level = 0;
  private readonly pin: number;

  constructor(options: { pin: number | { pin: number }; mode: number }) {
    this.pin = typeof options.pin === "number" ? options.pin : options.pin.pin;
  }

  write(level: number): void {
    this.level = level;
    const depth = wiring.depth;
    if (depth.on && depth.base >= 0) {
      const frames = stackFrames();
      // From this write up to the adapter's onReadable: the frames above the stand-in's dispatch.
      const n = frames.length - depth.base;
      if (n > depth.deepest) {
        depth.deepest = n;
        depth.frames = frames.slice(1, n + 1).join("\n");
      }
    }
    wiring.pins.get(this.pin)?.write(level as 0 | 1);
  }

  read(): number {
    return this.level;
  }

  close(): void {}
}
