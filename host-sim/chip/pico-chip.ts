/*
 * A Raspberry Pi Pico: rp2040js's RP2040 with Raspberry Pi's bootrom and a UF2 image in its flash,
 * run instruction by instruction under our control, so emulated time is the cycle count (125 MHz:
 * 8 ns a cycle) and every figure taken from it repeats exactly.
 *
 *   const chip = new PicoChip({ bootrom, image });
 *   chip.runTo(ms)        // executes until emulated time `ms`, or sooner when stop() is called
 *   chip.cycles, chip.timeMs, chip.halted
 *   chip.mcu              // rp2040js: uart[], gpio[], usbCtrl (see pico-device.ts for the wiring)
 *
 * Boot starts at the image's boot2 stage (flash 0x10000000) the way rp2040js's own demo does: the
 * bootrom's reset path (core identification, USB boot checks) does not get that far in rp2040js,
 * but its functions (flash, memcpy, float tables) are all there for the program to call. boot2
 * sets up XIP and jumps to the vector table at 0x10000100, as on the real chip.
 */
import { type RP2040, Simulator } from "rp2040js";
import type { Uf2Image } from "./uf2.js";

export const PICO_HZ = 125_000_000;
export const FLASH_BASE = 0x10000000;
const CYCLES_PER_MS = PICO_HZ / 1000;
const NANOS_PER_CYCLE = 1e9 / PICO_HZ;

/** rp2040js logs every unimplemented register access to the console: far too chatty for us. */
export interface ChipLogger {
  debug(component: string, message: string): void;
  info(component: string, message: string): void;
  warn(component: string, message: string): void;
  error(component: string, message: string): void;
}

export interface PicoChipOptions {
  /** Raspberry Pi's bootrom (./bootrom.ts). Absent: an empty ROM, for programs that never call it. */
  bootrom?: Uint32Array;
  /** The program in flash. Without one the chip runs the bootrom alone (USB boot mode). */
  image?: Uf2Image;
  /** rp2040js's warnings and errors (unknown registers...); default: dropped. */
  onLog?: (level: "warn" | "error", component: string, message: string) => void;
}

export class PicoChip {
  readonly mcu: RP2040;
  /** Set when the core stopped for good: a BKPT (the SDK's panic and hard-fault handlers end in one). */
  halted: { code: number; pc: number } | undefined;
  private readonly simulator: Simulator;
  private executed = 0;
  private stopRequested = false;
  private sampler: { every: number; next: number; fn: (pc: number, cycle: number) => void } | undefined;

  constructor(options: PicoChipOptions) {
    this.simulator = new Simulator();
    this.mcu = this.simulator.rp2040;
    const onLog = options.onLog;
    this.mcu.logger = {
      debug() {},
      info() {},
      warn: (component: string, message: string) => onLog?.("warn", component, message),
      error: (component: string, message: string) => onLog?.("error", component, message),
    };
    this.mcu.onBreak = (code: number) => {
      this.halted = { code, pc: this.mcu.core.PC };
      this.stopRequested = true;
    };
    if (options.bootrom) this.mcu.loadBootrom(options.bootrom);
    if (options.image) {
      for (const block of options.image.blocks) {
        const offset = block.address - FLASH_BASE;
        if (offset < 0 || offset + block.data.length > this.mcu.flash.length) continue;
        this.mcu.flash.set(block.data, offset);
      }
    }
    this.mcu.core.PC = FLASH_BASE;
  }

  /** Cycles executed since power-on (a waiting core counts the cycles it sleeps). */
  get cycles(): number {
    return this.executed;
  }

  get timeMs(): number {
    return this.executed / CYCLES_PER_MS;
  }

  /** Calls `fn` with the program counter every `every` cycles (a sampling profiler), or stops with undefined. */
  sample(every: number | undefined, fn?: (pc: number, cycle: number) => void): void {
    this.sampler = every && fn ? { every, next: this.executed + every, fn } : undefined;
  }

  /** Ends the current runTo after the instruction under way (an output handler calls it). */
  stop(): void {
    this.stopRequested = true;
  }

  /**
   * Runs the core until emulated time `ms` (rounded up to a whole cycle) or until stop(); returns
   * the time reached. A halted core only lets time pass.
   */
  runTo(ms: number): number {
    const target = Math.ceil(ms * CYCLES_PER_MS);
    const { core } = this.mcu;
    const clock = this.simulator.clock;
    this.stopRequested = false;
    while (this.executed < target && !this.stopRequested) {
      if (this.halted) {
        clock.tick((target - this.executed) * NANOS_PER_CYCLE);
        this.executed = target;
        break;
      }
      if (core.waiting) {
        // WFI/WFE: sleep to the next alarm of the chip's own timers, or to the target.
        const toAlarm = Math.ceil(clock.nanosToNextAlarm / NANOS_PER_CYCLE);
        const step = toAlarm > 0 ? Math.min(toAlarm, target - this.executed) : target - this.executed;
        clock.tick(step * NANOS_PER_CYCLE);
        this.executed += step;
        continue;
      }
      const cycles = core.executeInstruction();
      clock.tick(cycles * NANOS_PER_CYCLE);
      this.executed += cycles;
      const sampler = this.sampler;
      if (sampler && this.executed >= sampler.next) {
        sampler.next += sampler.every;
        sampler.fn(core.PC, this.executed);
      }
    }
    return this.timeMs;
  }
}
