/*
 * How the bench wires the emulated STM32, read from manifest.json's platform entry (the image
 * was built from the same settings): which USART goes to the ESP8266, at what baud, and which
 * GPIO pin is the LED. The console is USART2, as the olimex_stm32_h405 board's device tree has it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseBoardConfig } from "../../../firmware/moddable/pins.js";
import { PROJECT_ROOT } from "./build.js";

export const EMULATED_PLATFORM = "zephyr/olimex_stm32_h405";
export const CONSOLE_USART = 2;

export interface Stm32Wiring {
  usarts: { console: number; modem: number };
  baud: number;
  /** GPIO port letter ("c") and pin. */
  led: { port: string; pin: number; activeLow: boolean };
}

interface Manifest {
  config: Record<string, unknown>;
  platforms: Record<string, { config?: Record<string, unknown> }>;
}

export function stm32Wiring(platform = EMULATED_PLATFORM, manifestPath = join(PROJECT_ROOT, "manifest.json")): Stm32Wiring {
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
  const entry = manifest.platforms[platform];
  if (!entry) throw new Error(`manifest.json has no "${platform}" entry`);
  const board = parseBoardConfig({ ...manifest.config, ...entry.config });
  const usart = typeof board.uart.port === "string" ? /^u?s?art(\d)$/.exec(board.uart.port) : null;
  if (!usart) throw new Error(`${platform}: uartPort ${JSON.stringify(board.uart.port)} is not a USART of the STM32F405 ("usart6")`);
  const port = /^gpio([a-k])$/.exec(board.led.port ?? "");
  if (!port) throw new Error(`${platform}: ledPort ${JSON.stringify(board.led.port)} is not a GPIO port ("gpioc")`);
  const modem = Number(usart[1]);
  if (modem === CONSOLE_USART) throw new Error(`${platform}: USART${modem} is the console`);
  return {
    usarts: { console: CONSOLE_USART, modem },
    baud: board.uart.baud,
    led: { port: port[1], pin: board.led.pin, activeLow: board.led.activeLow },
  };
}
