/*
 * Puts the XS device into a Simulation in place of the Node one, before start().
 *
 * Stopgap: host-sim/sim.ts builds `new LedDevice(...)` in its constructor and has no option for
 * another device yet; this swaps it, reusing the simulation's own observer wiring. The Node device
 * stays inert (built, never started); its UART handlers are replaced when the XS driver opens the
 * port. Once sim.ts takes a device factory, this becomes `Simulation.create({ createDevice })`.
 */
import type { LedDeviceObserver } from "../../firmware/app.js";
import type { Board } from "../../firmware/board.js";
import type { Layer, SimEvent, Simulation } from "../sim.js";
import { XsLedDevice, type XsLedDeviceOptions } from "./device.js";

interface SimInternals {
  device: unknown;
  onLinkStatus(status: string, detail: string): void;
  setLayer(layer: Layer, state: string, detail: string): void;
  emit(event: SimEvent): void;
}

export function useXsDevice(sim: Simulation, options: XsLedDeviceOptions = {}): XsLedDevice {
  const internals = sim as unknown as SimInternals;
  const hostBoard = sim.board;
  const board: Board = {
    openSerial: (handlers) => sim.uart.mcu.open(handlers),
    led: hostBoard.led,
    clock: hostBoard.clock,
    log: hostBoard.log,
    random: hostBoard.random,
    moduleReset: hostBoard.moduleReset,
  };
  const t = () => sim.clock.now();
  const observer: LedDeviceObserver = {
    led: (on) => internals.emit({ type: "led", t: t(), on }),
    link: (status, detail) => internals.onLinkStatus(status, detail),
    session: (state) => internals.setLayer("mqtt", state, ""),
    error: (code, detail) => internals.emit({ type: "error", t: t(), code, detail }),
    app: (event, detail) => internals.emit({ type: "app", t: t(), event, detail }),
  };
  const device = new XsLedDevice(board, sim.config, observer, options);
  internals.device = device;
  return device;
}
