/*
 * The real Moddable modules wired into the adapter (./adapter.ts). These are the only calls on
 * `embedded:io/serial`, `embedded:io/digital`, `timer` and `time`, so tsconfig.moddable.json
 * checks them against Moddable's typings.
 */
import Digital from "embedded:io/digital";
import Serial from "embedded:io/serial";
import Time from "time";
import Timer from "timer";
import type { Board, DigitalOutput } from "../board.js";
import { type ModdableIO, ModdableBoard, type SerialDevice } from "./adapter.js";
import type { ModdableBoardConfig, PinSpec } from "./pins.js";

type SerialOptions = ConstructorParameters<typeof Serial>[0];

function openSerial(
  cfg: ModdableBoardConfig["uart"],
  onReadable: (count: number) => void,
  onWritable: ((count: number) => void) | undefined,
): SerialDevice {
  if (cfg.device !== undefined) {
    // lin (the host build) opens a tty by path and has no port or pins; the typings describe
    // only the MCU ports, hence the cast.
    const host = { device: cfg.device, baud: cfg.baud, format: "buffer", onReadable, onWritable };
    return new Serial(host as unknown as SerialOptions);
  }
  // Zephyr names its UARTs after the device tree ("usart6"); the typings only know numbers.
  const options: SerialOptions = {
    port: cfg.port as number,
    receive: cfg.receive as number,
    transmit: cfg.transmit,
    baud: cfg.baud,
    format: "buffer",
    onReadable,
    onWritable,
  };
  // Keys this port does not use go: ESP32 rejects an explicit undefined pin or port.
  const loose = options as Partial<SerialOptions> & { receive?: number; transmit?: number };
  if (onWritable === undefined) delete loose.onWritable;
  if (cfg.port === undefined) delete loose.port;
  if (cfg.receive === undefined) delete loose.receive;
  if (cfg.transmit === undefined) delete loose.transmit;
  return new Serial(options);
}

function openOutput(p: PinSpec): DigitalOutput {
  // Zephyr takes {port: "gpiob", pin}; the typings only know numbers.
  const pin = (p.port === undefined ? p.pin : { port: p.port, pin: p.pin }) as number;
  return new Digital({ pin, mode: Digital.Output });
}

const io: ModdableIO<Timer> = Object.freeze({
  openSerial,
  openOutput,
  timer: Timer,
  ticks: () => Time.ticks,
  print: (line: string) => trace(line),
});

export function createModdableBoard(config: ModdableBoardConfig): Board {
  return new ModdableBoard(config, io);
}
