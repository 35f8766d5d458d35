/*
 * The Moddable entry: mc/config -> checked DeviceConfig and board settings -> Board -> LedDevice.
 * A bad config stops here with one clear line naming the key (never its value) instead of a
 * device that retries a hopeless login forever.
 */
import config from "mc/config";
import { LedDevice } from "./app.js";
import { ConfigError, parseConfig } from "./config.js";
import { createModdableBoard } from "./moddable/board.js";
import { parseBoardConfig } from "./moddable/pins.js";

let device: LedDevice | undefined;

try {
  const deviceConfig = parseConfig(config);
  const board = createModdableBoard(parseBoardConfig(config));
  device = new LedDevice(board, deviceConfig);
  device.start();
  board.log("info", "onenet-led started");
} catch (e) {
  if (e instanceof ConfigError) trace("onenet-led: ", e.message, " (fix it in manifest.json or on the mcconfig command line)\n");
  else trace("onenet-led: start failed: ", e instanceof Error ? e.message : String(e), "\n");
}

export default device;
