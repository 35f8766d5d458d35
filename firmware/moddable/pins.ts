/*
 * The board's own settings from mc/config: which UART goes to the ESP8266, which pin drives the
 * LED and (optionally) the module's RST line. Checked like the device config, with the same
 * ConfigError (key + named code) so a wrong pin fails at boot with a clear message.
 *
 * Raw keys ("" or absent = not set):
 *   uartPort       ESP32: 1 or 2 (never 0: the console); Zephyr: a device-tree label ("usart6");
 *                  Pico: not set (the UART is picked from the pins)
 *   uartReceive, uartTransmit   MCU pins wired to the module's TX and RX (crossed)
 *   uartBaud       default 115200 (ESP-AT's default)
 *   uartDevice     lin only: "/dev/ttyUSB0" or a pty
 *   uartExactReads read exactly the waiting count (Pico throws otherwise); default true
 *   uartTxFifo     the port's TX FIFO in bytes: when set, writes are paced by the clock and
 *                  onWritable is not used (Pico: 128; its onWritable frees the port, see adapter.ts)
 *   ledPin, ledPort  LED pin; ledPort is the Zephyr GPIO bank ("gpiob")
 *   ledActiveLow   the LED lights when the pin is low (also read by parseConfig)
 *   rstPin, rstPort  the ESP8266 RST line, if wired
 *   logLevel       "debug" | "info" | "warn" | "error" (default "info")
 */
import type { LogLevel } from "../board.js";
import { ConfigError, readBool, readInt, readText } from "../config.js";

/** A GPIO: a plain number, or a Zephyr bank + pin. */
export interface PinSpec {
  pin: number;
  port?: string;
}

export interface ModdableBoardConfig {
  uart: {
    port?: number | string;
    receive?: number;
    transmit?: number;
    baud: number;
    device?: string;
    exactReads: boolean;
    /** 0: onWritable says when to write; else writes paced against a FIFO of this size. */
    txFifo: number;
  };
  led: PinSpec & { activeLow: boolean };
  reset?: PinSpec;
  logLevel: LogLevel;
}

type Raw = Record<string, unknown>;

function isSet(raw: Raw, key: string): boolean {
  const v = raw[key];
  return v !== undefined && v !== null && v !== "" && v !== -1 && v !== "-1";
}

function label(raw: Raw, key: string): string | undefined {
  if (!isSet(raw, key)) return undefined;
  const s = readText(raw, key, "").trim();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
    if (!ok) throw new ConfigError(key, "bad-format", "must be a device-tree label (letters, digits, \"_\")");
  }
  return s;
}

function optionalPin(raw: Raw, key: string): number | undefined {
  return isSet(raw, key) ? readInt(raw, key, 0, 0, 255) : undefined;
}

export function parseBoardConfig(raw: Record<string, unknown>): ModdableBoardConfig {
  let port: number | string | undefined;
  if (isSet(raw, "uartPort")) {
    const v = raw.uartPort;
    const numeric = typeof v === "number" || (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v)));
    port = numeric ? readInt(raw, "uartPort", 0, 0, 15) : label(raw, "uartPort");
  }
  const device = isSet(raw, "uartDevice") ? readText(raw, "uartDevice", "").trim() : undefined;
  if (device !== undefined && device.charCodeAt(0) !== 47) {
    throw new ConfigError("uartDevice", "bad-format", "must be an absolute path such as /dev/ttyUSB0");
  }
  const receive = optionalPin(raw, "uartReceive");
  const transmit = optionalPin(raw, "uartTransmit");
  if (port === undefined && device === undefined && receive === undefined) {
    throw new ConfigError("uartReceive", "missing", "set uartPort (ESP32, Zephyr), uartReceive/uartTransmit pins, or uartDevice (lin)");
  }
  if (device === undefined && typeof port !== "string" && (receive === undefined || transmit === undefined)) {
    throw new ConfigError(receive === undefined ? "uartReceive" : "uartTransmit", "missing", "both UART pins are needed");
  }
  if (receive !== undefined && receive === transmit) {
    throw new ConfigError("uartTransmit", "bad-format", "receive and transmit must be different pins");
  }
  const baud = readInt(raw, "uartBaud", 115200, 300, 4608000);

  if (!isSet(raw, "ledPin")) throw new ConfigError("ledPin", "missing", "the LED's pin is required");
  const led = { pin: readInt(raw, "ledPin", 0, 0, 255), port: label(raw, "ledPort"), activeLow: readBool(raw, "ledActiveLow", false) };
  const rstPin = optionalPin(raw, "rstPin");
  const reset = rstPin === undefined ? undefined : { pin: rstPin, port: label(raw, "rstPort") };
  if (reset !== undefined && reset.pin === led.pin && reset.port === led.port) {
    throw new ConfigError("rstPin", "bad-format", "the RST pin cannot be the LED pin");
  }

  let logLevel: LogLevel = "info";
  if (isSet(raw, "logLevel")) {
    const s = readText(raw, "logLevel", "").trim().toLowerCase();
    if (s !== "debug" && s !== "info" && s !== "warn" && s !== "error") {
      throw new ConfigError("logLevel", "bad-choice", "must be one of debug, info, warn, error");
    }
    logLevel = s;
  }

  const uart: ModdableBoardConfig["uart"] = {
    baud,
    exactReads: readBool(raw, "uartExactReads", true),
    txFifo: readInt(raw, "uartTxFifo", 0, 0, 65536),
  };
  if (port !== undefined) uart.port = port;
  if (receive !== undefined) uart.receive = receive;
  if (transmit !== undefined) uart.transmit = transmit;
  if (device !== undefined) uart.device = device;
  const out: ModdableBoardConfig = { uart, led, logLevel };
  if (reset !== undefined) out.reset = reset;
  return out;
}
