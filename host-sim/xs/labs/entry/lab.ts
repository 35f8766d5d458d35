/*
 * Runs the firmware's Moddable entry (firmware/main.ts: mc/config -> board -> LedDevice) inside XS,
 * with Moddable's modules replaced by the stand-ins next to this file, all wired to the proxy
 * board. So the very code that boots on a device (config parsing, the ECMA-419 board adapter, its
 * timers) runs in the real engine against the emulated ESP8266 in Node.
 */
import type { LedDevice } from "../../../../firmware/app.js";
import type { Board } from "../../../../firmware/board.js";
import config from "./mc-config.js";
import { wiring } from "./wiring.js";

export interface EntryPins {
  led: number;
  reset?: number;
}

export const state: { device: LedDevice | undefined; error: string } = { device: undefined, error: "" };

/**
 * Wires the stand-ins, fills mc/config, and evaluates the entry (a lazily bundled module, so it
 * runs now, not when the bundle loads). Date.now and Math.random follow the board (virtual wall
 * clock, seeded jitter) so runs replay; trace goes to the board's log.
 */
export function boot(board: Board, raw: Record<string, unknown>, pins: EntryPins): Promise<void> {
  wiring.board = board;
  wiring.pins.set(pins.led, board.led);
  if (pins.reset !== undefined && board.moduleReset) wiring.pins.set(pins.reset, board.moduleReset);
  for (const key of Object.keys(raw)) config[key] = raw[key];
  Date.now = () => board.clock.wallTime();
  Math.random = () => board.random();
  (globalThis as unknown as { trace: (...parts: unknown[]) => void }).trace = (...parts: unknown[]) => {
    let line = "";
    for (let i = 0; i < parts.length; i++) line += String(parts[i]);
    board.log("info", line.endsWith("\n") ? line.slice(0, -1) : line);
  };
  return import("onenet-led-main").then(
    (entry) => {
      state.device = entry.default;
      if (!state.device) state.error = "the entry did not start a device";
    },
    (error: unknown) => {
      state.error = String(error);
    },
  );
}

export { snapshot } from "../device.js";

/** Starts (or reads) the receive-path depth probe (wiring.ts): JSON of the deepest chain seen. */
export function receiveDepth(on: boolean): string {
  const depth = wiring.depth;
  depth.on = on;
  return JSON.stringify({ deepest: depth.deepest, frames: depth.frames });
}
