/*
 * The ESP8266 emulator on a real serial device (one end of a socat pty pair, or a USB-UART
 * adapter wired to a board that runs the firmware), in real time.
 *
 * Public API:
 *
 *   const dev = await emulatorOnDevice("/dev/pts/7", { dialect: "2.x", baudRate: 115200,
 *     network?: NetworkBackend (default new NodeNetwork()), clock?: VirtualClock (default: a new
 *     one driven by RealTimeDriver), delays?, accessPoints?, onEvent?, powerOn?: true });
 *   dev.emulator  // Esp8266Emulator: faults, stats, events as usual
 *   dev.clock
 *   await dev.close();
 */
import { SerialPort as NodeSerialPort } from "serialport";
import { RealTimeDriver, VirtualClock } from "../clock.js";
import type { EmulatorOptions, ModulePort } from "../esp8266/emulator.js";
import { Esp8266Emulator } from "../esp8266/emulator.js";
import type { NetworkBackend } from "../network.js";
import { NodeNetwork } from "../network.js";

export interface EmulatorDeviceOptions extends Omit<EmulatorOptions, "clock" | "uart" | "network"> {
  baudRate?: number;
  network?: NetworkBackend;
  /** A clock the caller drives; without one, a new clock follows the wall clock. */
  clock?: VirtualClock;
  /** Power the module on once the device is open (default true). */
  powerOn?: boolean;
}

export interface EmulatorDevice {
  emulator: Esp8266Emulator;
  clock: VirtualClock;
  close(): Promise<void>;
}

export async function emulatorOnDevice(path: string, options: EmulatorDeviceOptions): Promise<EmulatorDevice> {
  const baudRate = options.baudRate ?? 115200;
  const port = new NodeSerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    port.open((error) =>
      error ? reject(new Error(`cannot open ${path} for the ESP8266 emulator: ${error.message}`)) : resolve(),
    ),
  );
  port.on("error", () => {});
  const modulePort: ModulePort = {
    write: (bytes) => {
      port.write(Buffer.from(bytes));
    },
    onData: undefined,
    discard: () => port.flush(),
    setBaud: (baud) => port.update({ baudRate: baud }),
  };
  port.on("data", (chunk: Buffer) => modulePort.onData?.(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)));
  const clock = options.clock ?? new VirtualClock();
  const driver = options.clock ? undefined : new RealTimeDriver(clock, 1);
  driver?.startDriving();
  const emulator = new Esp8266Emulator({
    ...options,
    clock,
    uart: modulePort,
    network: options.network ?? new NodeNetwork(),
  });
  if (options.powerOn ?? true) emulator.powerOn();
  return {
    emulator,
    clock,
    close: () =>
      new Promise<void>((resolve) => {
        driver?.stop();
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  };
}
