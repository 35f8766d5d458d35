/*
 * The firmware inside XS as the Simulation's device:
 *
 *   const sim = await Simulation.create(options, xsDevice({ ...XsLedDeviceOptions }));
 *   sim.device   // the XsLedDevice: the real app, session and AT driver in an xsnap worker
 *
 * `observe: false` runs the firmware with no observer, as on a board (for measurements): the bench
 * then sees the LED and the cloud, not the firmware's own link events.
 */
import type { DeviceFactory } from "../sim.js";
import { XsLedDevice, type XsLedDeviceOptions } from "./device.js";

export function xsDevice(options: XsLedDeviceOptions = {}): DeviceFactory<XsLedDevice> {
  return (board, config, observer) => new XsLedDevice(board, config, observer, options);
}
