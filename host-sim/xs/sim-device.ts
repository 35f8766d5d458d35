/*
 * The firmware inside XS as the Simulation's device:
 *
 *   const sim = await Simulation.create(options, xsDevice({ ...XsLedDeviceOptions }));
 *   sim.device   // the XsLedDevice: the real app, session and AT driver in an xsnap worker
 *
 * `observe: false` runs the firmware with no observer, as on a board (for measurements): the bench
 * then sees the LED and the cloud, not the firmware's own link events.
 */
import { DEFAULT_WIFI, type DeviceFactory, SEED_DEVICE } from "../sim.js";
import { XsLedDevice, type XsLedDeviceOptions } from "./device.js";

export function xsDevice(options: XsLedDeviceOptions = {}): DeviceFactory<XsLedDevice> {
  return (board, config, observer) => new XsLedDevice(board, config, observer, options);
}

/**
 * The bench's identity as mc/config gives it (strings, as mcconfig's overrides arrive), for the
 * Moddable entry in XS (`xsDevice({ entry: { config, pins } })`): the WiFi and OneNET device the
 * emulator and the embedded broker admit, plus the board keys given.
 */
export function benchMcConfig(board: Record<string, string>): Record<string, unknown> {
  return {
    ssid: DEFAULT_WIFI.ssid,
    password: DEFAULT_WIFI.password,
    product: SEED_DEVICE.productId,
    device: SEED_DEVICE.deviceName,
    key: SEED_DEVICE.key,
    host: "mqtts.heclouds.com",
    port: "1883",
    ...board,
  };
}
