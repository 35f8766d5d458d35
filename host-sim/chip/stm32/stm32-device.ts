/*
 * The STM32 image in QEMU as the bench's device: the real firmware, built through Moddable's
 * Zephyr port, on the other side of the bench's board.
 *
 *   const sim = await Simulation.create({ mode: "real", ...}, stm32Device({ elf, led: { port: "c", pin: 12 } }));
 *
 * Wiring, as on a real bench:
 * - the modem USART (USART6) <-> the board's serial port, i.e. the VirtualUart's MCU end, which
 *   times every byte at the configured baud towards the ESP8266 emulator. QEMU transmits at CPU
 *   speed, so bytes wait here until `writable` has room (a real USART would hold the CPU instead);
 * - the LED pin's level (from QEMU's log of GPIO writes) -> board.led, and observer.led;
 * - the console USART (USART2) -> the board's log, line by line ("info: online" -> level info).
 *
 * Whether the session is online is read from the console lines the firmware prints ("info: online",
 * "warn: offline: ..."); QEMU runs in wall time, so the bench runs in real mode.
 */
import type { LedDeviceObserver } from "../../../firmware/app.js";
import type { Board, LogLevel, SerialPort } from "../../../firmware/board.js";
import type { DeviceConfig } from "../../../firmware/config.js";
import type { DeviceFactory, SimDevice } from "../../sim.js";
import { QemuStm32 } from "./qemu.js";

export interface Stm32DeviceOptions {
  /** The Zephyr ELF (build/chip/<name>/zephyr.elf). */
  elf: string;
  /** The LED as the image's manifest wires it: GPIO port letter and pin ("c", 12). */
  led: { port: string; pin: number };
  /** USART numbers (default: console 2, modem 6, as the olimex_stm32_h405 target wires them). */
  usarts?: { console: number; modem: number };
  qemu?: string;
  /** Every console line, as printed (tests and the CLI keep them). */
  onConsoleLine?: (line: string, time: number) => void;
}

const LEVELS = new Set<LogLevel>(["debug", "info", "warn", "error"]);

/** A console line as the board's log sees it: "info: online" -> ["info", "online"]. */
export function consoleLogLine(line: string): [LogLevel, string] {
  const colon = line.indexOf(": ");
  const level = colon > 0 ? (line.slice(0, colon) as LogLevel) : undefined;
  if (level !== undefined && LEVELS.has(level)) return [level, line.slice(colon + 2)];
  // Zephyr's banner, XS's own messages, the firmware's fatal lines.
  return [/^(fatal|XS abort|# )/.test(line) ? "error" : "info", line];
}

export class Stm32Device implements SimDevice {
  readonly chip: QemuStm32;
  readonly client = { online: false, stats: { connects: 0, connacks: 0 } };
  /** Why QEMU stopped on its own, if it did. */
  failure: string | undefined;
  /** Resolves once QEMU runs with its USARTs connected (rejects if it cannot start). */
  started: Promise<void> | undefined;
  private port: SerialPort | undefined;
  private readonly toModule: Uint8Array[] = [];
  private toModuleOffset = 0;
  private readonly rx = new Uint8Array(256);
  private ledLevel: 0 | 1 | undefined;

  constructor(
    private readonly board: Board,
    private readonly config: DeviceConfig,
    private readonly observer: LedDeviceObserver,
    private readonly options: Stm32DeviceOptions,
  ) {
    if (!/^[a-k]$/.test(options.led.port) || options.led.pin < 0 || options.led.pin > 15) {
      throw new RangeError(`LED ${options.led.port}${options.led.pin}: a GPIO port a..k and a pin 0..15`);
    }
    this.chip = new QemuStm32({ elf: options.elf, usarts: options.usarts ?? { console: 2, modem: 6 }, qemu: options.qemu });
    this.chip.onConsoleLine = (line) => this.consoleLine(line);
    this.chip.onModemData = (bytes) => {
      this.toModule.push(bytes);
      this.flushToModule();
    };
    this.chip.onGpio = (port, odr) => {
      if (port === this.options.led.port) this.ledPin((((odr >> this.options.led.pin) & 1) as 0 | 1));
    };
    this.chip.onExit = (reason) => {
      this.failure = reason;
      this.setOnline(false);
      this.board.log("error", `chip: ${reason}`);
    };
  }

  start(): void {
    if (this.started) return;
    this.port = this.board.openSerial({
      onReadable: (count) => this.fromModule(count),
      onWritable: () => this.flushToModule(),
    });
    this.started = this.chip.start();
    this.started.catch((error: unknown) => {
      this.failure = error instanceof Error ? error.message : String(error);
      this.board.log("error", `chip: ${this.failure}`);
    });
  }

  stop(): void {
    void this.chip.stop();
    this.setOnline(false);
  }

  close(): void {
    void this.chip.stop();
  }

  /** Stops QEMU and waits until it has exited. */
  async shutdown(): Promise<void> {
    await this.started?.catch(() => {});
    await this.chip.stop();
  }

  private fromModule(count: number): void {
    const port = this.port;
    if (!port) return;
    let left = count;
    while (left > 0) {
      const n = port.read(this.rx.subarray(0, Math.min(left, this.rx.length)));
      if (n <= 0) break;
      this.chip.writeModem(this.rx.subarray(0, n));
      left -= n;
    }
  }

  private flushToModule(): void {
    const port = this.port;
    if (!port) return;
    while (this.toModule.length > 0) {
      const room = port.writable;
      if (room <= 0) return;
      const head = this.toModule[0];
      const chunk = head.subarray(this.toModuleOffset, this.toModuleOffset + room);
      const n = port.write(chunk);
      this.toModuleOffset += n;
      if (this.toModuleOffset >= head.length) {
        this.toModule.shift();
        this.toModuleOffset = 0;
      }
      if (n < chunk.length) return;
    }
  }

  private ledPin(level: 0 | 1): void {
    if (level === this.ledLevel) return;
    this.ledLevel = level;
    this.board.led.write(level);
    this.observer.led?.(this.config.led.activeLow ? level === 0 : level === 1);
  }

  private consoleLine(line: string): void {
    this.options.onConsoleLine?.(line, this.board.clock.now());
    if (!line) return;
    const [level, message] = consoleLogLine(line);
    this.board.log(level, message);
    if (level === "info" && message === "online") {
      this.client.stats.connacks++;
      this.setOnline(true);
    } else if (level === "warn" && message.startsWith("offline: ")) this.setOnline(false);
  }

  private setOnline(online: boolean): void {
    if (this.client.online === online) return;
    this.client.online = online;
    if (online) this.observer.online?.();
  }
}

export function stm32Device(options: Stm32DeviceOptions): DeviceFactory<Stm32Device> {
  return (board, config, observer) => new Stm32Device(board, config, observer, options);
}
