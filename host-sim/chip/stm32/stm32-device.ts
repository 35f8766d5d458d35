/*
 * The STM32 image in QEMU as the bench's device: the real firmware, built through Moddable's
 * Zephyr port, on the other side of the bench's board.
 *
 *   const wiring = stm32Wiring();   // from manifest.json, as the image was built
 *   const sim = await Simulation.create({ mode: "real", ledActiveLow: wiring.led.activeLow, baud: wiring.baud },
 *     stm32Device({ elf, usarts: wiring.usarts, led: wiring.led }));
 *
 * Wiring, as on a real bench:
 * - the modem USART (USART6) <-> the board's serial port, i.e. the VirtualUart's MCU end, which
 *   times every byte at the configured baud towards the ESP8266 emulator. QEMU transmits at CPU
 *   speed, so bytes wait here until `writable` has room (a real USART would hold the CPU instead);
 * - the LED pin's level (from QEMU's log of GPIO writes) -> board.led, and observer.led;
 * - the console USART (USART2) -> ./chip-console.ts: its lines become the board's log, an
 *   instrumented image's samples its XS peaks.
 * The link and the MQTT session are read from outside (../outside.ts), as for every chip. QEMU
 * runs in wall time, so the bench runs in real mode.
 */
import type { LedDeviceObserver } from "../../../firmware/app.js";
import type { Board, SerialPort } from "../../../firmware/board.js";
import type { DeviceConfig } from "../../../firmware/config.js";
import type { BenchParts, DeviceFactory, SimDevice } from "../../sim.js";
import { ChipConsole, type ConsoleEvent, levelOf } from "../chip-console.js";
import type { WatchedPacket } from "../mqtt-watch.js";
import { watchFromOutside, type OutsideView } from "../outside.js";
import { QemuStm32 } from "./qemu.js";

export interface Stm32DeviceOptions {
  /** The Zephyr ELF (build/chip/<name>/zephyr.elf). */
  elf: string;
  /** The LED as the image's manifest wires it: GPIO port letter and pin ("c", 12). */
  led: { port: string; pin: number };
  /** USART numbers (default: console 2, modem 6, as the olimex_stm32_h405 target wires them). */
  usarts?: { console: number; modem: number };
  qemu?: string;
  /** Every console event (lines, instrument samples), with the bench's time. */
  onConsole?: (event: ConsoleEvent, timeMs: number) => void;
  /** Every MQTT packet seen on the module's link. */
  onPacket?: (packet: WatchedPacket, timeMs: number) => void;
}

export class Stm32Device implements SimDevice {
  readonly chip: QemuStm32;
  readonly console: ChipConsole;
  /** LED pin edges: board time (ms) and level. */
  readonly ledEdges: { time: number; level: 0 | 1 }[] = [];
  /** Why QEMU stopped on its own, if it did. */
  failure: string | undefined;
  /** Resolves once QEMU runs with its USARTs connected (rejects if it cannot start). */
  started: Promise<void> | undefined;
  /** Bytes the chip sent that wait for room in the UART towards the module. */
  private readonly toModule: Uint8Array[] = [];
  private toModuleOffset = 0;
  private port: SerialPort | undefined;
  private readonly rx = new Uint8Array(256);
  private readonly outside: OutsideView;

  constructor(
    private readonly board: Board,
    private readonly config: DeviceConfig,
    private readonly observer: LedDeviceObserver,
    bench: BenchParts,
    options: Stm32DeviceOptions,
  ) {
    if (!/^[a-k]$/.test(options.led.port) || options.led.pin < 0 || options.led.pin > 15) {
      throw new RangeError(`LED ${options.led.port}${options.led.pin}: a GPIO port a..k and a pin 0..15`);
    }
    this.chip = new QemuStm32({ elf: options.elf, usarts: options.usarts ?? { console: 2, modem: 6 }, qemu: options.qemu });
    // A release or instrumented image: nothing to answer on the console.
    this.console = new ChipConsole(
      () => {},
      (event) => {
        options.onConsole?.(event, board.clock.now());
        if (event.kind === "line") {
          const { level, message } = levelOf(event.text);
          board.log(level, message);
        }
      },
    );
    this.outside = watchFromOutside(bench, observer, options.onPacket ? (p) => options.onPacket!(p, board.clock.now()) : undefined);
    this.chip.onConsoleData = (bytes) => this.console.feed(bytes);
    this.chip.onModemData = (bytes) => {
      this.toModule.push(Uint8Array.from(bytes));
      this.flushToModule();
    };
    this.chip.onGpio = (port, odr) => {
      if (port === options.led.port) this.ledPin(((odr >> options.led.pin) & 1) as 0 | 1);
    };
    this.chip.onExit = (reason) => {
      this.failure = reason;
      board.log("error", `chip: ${reason}`);
    };
  }

  /** The MQTT session as seen on the module's link. */
  get client(): SimDevice["client"] {
    return this.outside.watch;
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
  }

  close(): void {
    this.outside.detach();
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
    const last = this.ledEdges.at(-1);
    if (last?.level === level) return;
    this.ledEdges.push({ time: this.board.clock.now(), level });
    this.board.led.write(level);
    this.observer.led?.(this.config.led.activeLow ? level === 0 : level === 1);
  }
}

export function stm32Device(options: Stm32DeviceOptions): DeviceFactory<Stm32Device> {
  return (board, config, observer, bench) => new Stm32Device(board, config, observer, bench, options);
}
