/*
 * Stand-in for Moddable's `embedded:io/digital`: an output on the LED pin drives the proxy board's
 * LED, on the RST pin its moduleReset; any other pin goes nowhere.
 */
import { wiring } from "./wiring.js";

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
    wiring.pins.get(this.pin)?.write(level as 0 | 1);
  }

  read(): number {
    return this.level;
  }

  close(): void {}
}
