/*
 * The LED application inside XS (bundled by host-sim/xs/device.ts): builds the real LedDevice on
 * the proxy board and, when Node wants to watch, forwards the observer hooks as events. Nothing
 * here runs per packet unless observed: a board passes no observer, and measurements pass none.
 */
import { LedDevice, type LedDeviceObserver } from "../../../firmware/app.js";
import type { Board } from "../../../firmware/board.js";
import type { DeviceConfig } from "../../../firmware/config.js";

/** Separates the fields of a forwarded event (never in a status, code or detail). */
export const SEP = "\u0001";

export function create(board: Board, config: DeviceConfig, emit: ((message: string) => void) | null): LedDevice {
  let observer: LedDeviceObserver = {};
  if (emit) {
    observer = {
      led: (on) => emit(`led${SEP}${on ? "1" : "0"}`),
      link: (status, detail) => emit(`link${SEP}${status}${SEP}${detail}`),
      session: (state) => emit(`session${SEP}${state}`),
      online: () => emit("online"),
      offline: (reason, detail) => emit(`offline${SEP}${reason}${SEP}${detail}`),
      error: (code, detail) => emit(`error${SEP}${code}${SEP}${detail}`),
      app: (event, detail) => emit(`app${SEP}${event}${SEP}${detail}`),
    };
  }
  return new LedDevice(board, config, observer);
}

/** A JSON-able snapshot for Node (tests, benchmarks). */
export function snapshot(device: LedDevice) {
  const stats: Record<string, number> = {};
  const s = device.client.stats as unknown as Record<string, number>;
  for (const key of Object.keys(s)) stats[key] = s[key];
  return {
    on: device.on,
    online: device.client.online,
    state: device.client.state,
    stats,
    driver: device.driver.stats,
  };
}
