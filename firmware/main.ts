/*
 * The Moddable entry: mc/config -> board settings -> Board (the LED first) -> checked DeviceConfig
 * -> LedDevice. Whatever stops the start shows on the LED as a blink code and on the console as
 * one line naming the cause (the key, never its value), repeated every cycle: a board without a
 * console is never just dark (./fatal.ts has the codes). XS aborts (memory full, an exception
 * nobody caught) go through the abort hook installed first (./moddable/abort.ts).
 */
import config from "mc/config";
import Time from "time";
import Timer from "timer";
import { LedDevice } from "./app.js";
import type { Board } from "./board.js";
import { ConfigError, parseConfig } from "./config.js";
import { type FatalCause, FatalBlinker, fatalLine } from "./fatal.js";
import { type AbortLed, installAbortHook } from "./moddable/abort.js";
import { createModdableBoard } from "./moddable/board.js";
import { parseBoardConfig } from "./moddable/pins.js";

const print = (line: string) => trace(line + "\n");
const abortLed: AbortLed = { led: undefined, activeLow: false };
installAbortHook({ ticks: () => Time.ticks, print: (line: string) => trace(line) }, abortLed);

let device: LedDevice | undefined;
let board: Board | undefined;

try {
  const boardConfig = parseBoardConfig(config);
  board = createModdableBoard(boardConfig);
  abortLed.led = board.led;
  abortLed.activeLow = boardConfig.led.activeLow;
  device = new LedDevice(board, parseConfig(config));
  device.start();
  board.log("info", "onenet-led started");
} catch (e) {
  device = undefined;
  const cause: FatalCause = e instanceof ConfigError ? "config-refused" : "start-failed";
  const detail =
    e instanceof ConfigError ? `${e.message} (fix it in manifest.json or on the mcconfig command line)` : e instanceof Error ? e.message : String(e);
  if (board !== undefined) {
    new FatalBlinker(board.led, board.clock, print, abortLed.activeLow).start(cause, detail);
  } else {
    // No LED to blink (the board settings themselves were refused): the console line, repeated.
    const line = fatalLine(cause, detail).replace(/ \(the LED blinks.*\)$/, " (no LED: the board settings were refused)");
    print(line);
    Timer.repeat(() => print(line), 5000);
  }
}

export default device;
