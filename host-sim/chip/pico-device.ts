/*
 * A Raspberry Pi Pico running a Moddable image, as a device on the simulated bench: the bench's
 * UART (VirtualUart, ESP8266 emulator behind it) is wired to the chip's UART1 (GP4 TX, GP5 RX),
 * GP25 drives the bench's virtual LED, and the USB CDC console is read by ./chip-console.ts.
 * Emulated time is the chip's cycle count: the bench clock runs the chip in lock-step
 * (VirtualClock.attach), so a run repeats to the cycle.
 *
 *   const sim = await Simulation.create(options, picoDevice({ image, bootrom }));
 *   sim.start(); await sim.runUntil(() => sim.online, 30_000);
 *   sim.device.chip.cycles; sim.device.console.peaks; sim.device.ledEdges
 *
 * The UART bytes arrive one at a time, paced by the VirtualUart at the configured baud; what the
 * chip's 32-byte RX FIFO cannot take is lost and counted (an overrun, as on the real chip).
 * rp2040js sends what the chip writes at once (its TX FIFO is not modelled), so we queue it and
 * the VirtualUart puts it on the wire at the baud rate.
 */
import { GPIOPinState } from "rp2040js";
import type { LedDeviceObserver } from "../../firmware/app.js";
import type { SerialPort } from "../../firmware/board.js";
import type { HostBoard } from "../board.js";
import type { CoProcessor, VirtualClock } from "../clock.js";
import type { VirtualUart } from "../uart.js";
import type { BenchParts, DeviceFactory, SimDevice } from "../sim.js";
import { ChipConsole, type ConsoleEvent, levelOf } from "./chip-console.js";
import type { WatchedPacket } from "./mqtt-watch.js";
import { watchFromOutside, type OutsideView } from "./outside.js";
import { PicoChip } from "./pico-chip.js";
import type { Uf2Image } from "./uf2.js";
import { UsbConsole } from "./usb-console.js";

/** What a chip on a bench is wired to. */
export interface PicoWiring {
  /** The host board whose UART (a VirtualUart's MCU end), LED and log the chip takes over. */
  board: HostBoard;
  clock: VirtualClock;
  uart: VirtualUart;
  ledActiveLow?: boolean;
  /** Gets the LED, link and session events the bench shows. */
  observer?: LedDeviceObserver;
  /** The module and its network, to watch the session from outside (absent: no session). */
  outside?: Pick<BenchParts, "emulator" | "network">;
}

const NO_SESSION: SimDevice["client"] = Object.freeze({ online: false, stats: Object.freeze({ connects: 0, connacks: 0 }) });

/** rp2040js's peripheral table key of the watchdog (0x40058000 >> 12). */
const WATCHDOG_PAGE = 0x40058;
/** UARTFR's "receive FIFO full" bit (PL011). */
const UARTFR_RXFF = 1 << 6;

export interface PicoDeviceOptions {
  image: Uf2Image;
  /** Raspberry Pi's bootrom; every Pico SDK (Moddable) image needs it. */
  bootrom?: Uint32Array;
  /** The UART wired to the ESP8266 (Moddable picks it from the pins: GP4/GP5 are UART1). */
  uart?: 0 | 1;
  /** The LED's GPIO (25 on the Pico). */
  ledPin?: number;
  /** Every console event (lines, xsbug logins, breaks, samples) with the chip's time. */
  onConsole?: (event: ConsoleEvent, timeMs: number) => void;
  /** Every MQTT packet seen on the module's link. */
  onPacket?: (packet: WatchedPacket, timeMs: number) => void;
  /** rp2040js's own warnings (registers it does not model). */
  onChipLog?: (level: "warn" | "error", component: string, message: string) => void;
}

export class PicoDevice implements SimDevice, CoProcessor {
  /** The chip as it runs now (a new one after each restart: power-on state, same image). */
  chip: PicoChip;
  readonly console: ChipConsole;
  /** LED pin edges: board time (ms), chip cycle (of the chip that made it) and level. */
  readonly ledEdges: { time: number; cycle: number; level: 0 | 1 }[] = [];
  /** The UART baud the firmware set (from the chip's divisors), once it has. */
  uartBaud: number | undefined;
  readonly uartStats = { toChip: 0, fromChip: 0, overruns: 0, lostWhileOff: 0 };
  /** Restarts by the chip's watchdog (Moddable's c_exit after an XS abort is one). */
  restarts = 0;
  /** Called with the chip cycle of every byte the module sends, as the chip's UART receives it. */
  onRxByte: ((byte: number, cycle: number) => void) | undefined;
  readonly realTimeStepMs = 20;
  private readonly clock: VirtualClock;
  private readonly board: HostBoard;
  private readonly activeLow: boolean;
  private readonly observer: LedDeviceObserver;
  private readonly outside: OutsideView | undefined;
  private readonly port: SerialPort;
  private readonly txQueue: number[] = [];
  private readonly rxBuffer = new Uint8Array(64);
  private powered = false;
  /** Board time at which the present chip started. */
  private origin = 0;
  private usb!: UsbConsole;
  private rxUart!: PicoChip["mcu"]["uart"][number];

  constructor(
    private readonly options: PicoDeviceOptions,
    wiring: PicoWiring,
  ) {
    this.clock = wiring.clock;
    this.board = wiring.board;
    this.activeLow = wiring.ledActiveLow ?? false;
    this.observer = wiring.observer ?? {};
    // The chip's UART receives a byte at a time, as the wire delivers it.
    wiring.uart.setChunkSize(1, "to-mcu");
    this.port = this.board.openSerial({
      onReadable: () => this.receive(),
      onWritable: () => this.flushTx(),
    });
    this.console = new ChipConsole(
      (bytes) => this.usb.send(bytes),
      (event) => {
        options.onConsole?.(event, this.timeMs);
        if (event.kind === "line") {
          const { level, message } = levelOf(event.text);
          this.board.log(level, message);
        } else if (event.kind === "break") {
          this.board.log("error", `xsbug break: ${event.message} (${event.path}:${event.line})`);
        }
      },
    );
    if (wiring.outside) {
      this.outside = watchFromOutside(wiring.outside, this.observer, options.onPacket ? (p) => options.onPacket!(p, this.clock.now()) : undefined);
    }
    this.chip = this.powerOnChip();
  }

  /** The MQTT session as seen on the module's link (offline without a module to watch). */
  get client(): SimDevice["client"] {
    return this.outside?.watch ?? NO_SESSION;
  }

  /** Board time (ms) the chip has reached. */
  get timeMs(): number {
    return this.origin + this.chip.timeMs;
  }

  start(): void {
    if (this.powered) return;
    this.powered = true;
    this.origin = this.clock.now();
    this.clock.attach(this);
  }

  /** Power off: the chip stops where it is (a chip cannot be asked to say goodbye). */
  stop(): void {
    if (!this.powered) return;
    this.powered = false;
    this.clock.detach();
  }

  close(): void {
    this.stop();
    this.outside?.detach();
  }

  runTo(time: number): number {
    if (!this.powered) return time;
    return this.origin + this.chip.runTo(time - this.origin);
  }

  /** A fresh chip with the image, wired to the bench: UART1, the LED pin, USB, the watchdog. */
  private powerOnChip(): PicoChip {
    const options = this.options;
    const chip = new PicoChip({ bootrom: options.bootrom, image: options.image, onLog: options.onChipLog });
    const mcu = chip.mcu;
    const uart = mcu.uart[options.uart ?? 1];
    uart.onByte = (byte: number) => {
      this.uartStats.fromChip++;
      this.txQueue.push(byte);
      this.at(() => this.flushTx());
    };
    uart.onBaudRateChange = (baud: number) => {
      this.uartBaud = baud;
    };
    this.rxUart = uart;
    mcu.gpio[options.ledPin ?? 25].addListener((state: GPIOPinState) => {
      if (state !== GPIOPinState.High && state !== GPIOPinState.Low) return;
      const level: 0 | 1 = state === GPIOPinState.High ? 1 : 0;
      const cycle = chip.cycles;
      this.at(() => this.ledLevel(level, cycle));
    });
    this.usb = new UsbConsole(mcu.usbCtrl, (bytes) => this.at(() => this.console.feed(bytes)));
    const watchdog = mcu.peripherals[WATCHDOG_PAGE] as unknown as { onWatchdogTrigger?: () => void };
    watchdog.onWatchdogTrigger = () => this.at(() => this.restart());
    return chip;
  }

  /** The watchdog reset the chip (Moddable restarts this way after an XS abort). */
  private restart(): void {
    this.restarts++;
    this.txQueue.length = 0;
    this.console.reset();
    // The pin floats while the new chip boots: the LED goes dark.
    this.ledLevel(this.activeLow ? 1 : 0, this.chip.cycles);
    this.origin = this.clock.now();
    this.chip = this.powerOnChip();
  }

  private ledLevel(level: 0 | 1, cycle: number): void {
    const before = this.board.led.lit;
    if (this.board.led.level !== level) {
      this.ledEdges.push({ time: this.clock.now(), cycle, level });
      if (this.ledEdges.length > 10_000) this.ledEdges.splice(0, 5_000);
    }
    this.board.led.write(level);
    const lit = this.board.led.lit;
    if (before !== lit) this.observer.led?.(lit);
  }

  /** Runs `fn` on the bench clock at the chip's present time, and lets the bench catch up first. */
  private at(fn: () => void): void {
    this.clock.setTimeout(fn, Math.max(0, this.timeMs - this.clock.now()));
    this.chip.stop();
  }

  private flushTx(): void {
    while (this.txQueue.length > 0) {
      const room = this.port.writable;
      if (room <= 0) return;
      const n = Math.min(room, this.txQueue.length);
      const accepted = this.port.write(Uint8Array.from(this.txQueue.slice(0, n)));
      this.txQueue.splice(0, accepted);
      if (accepted < n) return;
    }
  }

  private receive(): void {
    for (;;) {
      const n = this.port.read(this.rxBuffer);
      if (n <= 0) return;
      for (let i = 0; i < n; i++) {
        const byte = this.rxBuffer[i];
        this.uartStats.toChip++;
        this.onRxByte?.(byte, this.chip.cycles);
        if (!this.rxUart.enabled) this.uartStats.lostWhileOff++;
        else if (this.rxUart.flags & UARTFR_RXFF) this.uartStats.overruns++;
        else this.rxUart.feedByte(byte);
      }
    }
  }
}

export function picoDevice(options: PicoDeviceOptions): DeviceFactory<PicoDevice> {
  return (board, config, observer, bench) =>
    new PicoDevice(options, { board, clock: bench.clock, uart: bench.uart, ledActiveLow: config.led.activeLow, observer, outside: bench });
}
