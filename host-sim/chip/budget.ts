/*
 * Memory budgets (manifest.json "creation") held against what the chip measured, so a budget too
 * small cannot come back silently, in CI too, where no SDK is.
 *
 * `npm run chip` measures, on the emulated Pico, XS's reserved chunks and slots and its deepest
 * stack (instrumented release image, boot + sets + faults), and in the same run the firmware's
 * live slots in xsnap (the Moddable entry, firmware/main.ts, on the same bench). It writes both to
 * test/fixtures/chip-memory.json. `npm test` measures the xsnap figure again for the code as it is
 * and scales the chip's heap by the change: what the chip would need now. Every 32-bit platform's
 * budget must hold that with 25 % headroom:
 *
 *   static >= 1.25 x (chunks + slots the chip reserved) x (xsnap live slots now / then) + stack x 16 B
 *   stack  >= 1.25 x the chip's deepest stack (slots)
 *
 * (XS's static block holds the chunk heap, the slot heap and the stack; a slot is 16 bytes on a
 * 32-bit chip.)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Simulation } from "../sim.js";
import { liveSlots } from "../xs/board-host.js";
import { benchMcConfig, xsDevice } from "../xs/sim-device.js";
import { PROJECT_ROOT, type Creation } from "./build.js";

export const HEADROOM = 1.25;
export const SLOT_BYTES = 16;
export const FIXTURE = join(PROJECT_ROOT, "test/fixtures/chip-memory.json");
/**
 * The platforms whose XS is 32-bit and whose budget follows the Pico's measurement (the STM32
 * entries are also held against their own, in QEMU: npm run chip -- --chip stm32).
 */
export const BUDGETED_PLATFORMS = ["pico", "esp32", "zephyr/nucleo_f413zh", "zephyr/stm32f4_disco", "zephyr/olimex_stm32_h405"] as const;

export interface ChipMemoryFixture {
  /** When and from what the figures were taken. */
  measured: { date: string; commit: string; image: string };
  chip: {
    /** Peaks over the scenario (bytes): chunk heap and slot heap reserved, deepest stack. */
    chunksReserved: number;
    slotsReserved: number;
    stackPeak: number;
    /** In use at the busiest sample (bytes). */
    chunksUsed: number;
    slotsUsed: number;
    sets: number;
  };
  /** The firmware's live slots in xsnap at its peak over the same kind of run, then. */
  xsnap: { appLiveSlots: number; sets: number };
}

export interface Requirement {
  heapBytes: number;
  stackSlots: number;
}

export function readFixture(path = FIXTURE): ChipMemoryFixture {
  return JSON.parse(readFileSync(path, "utf8")) as ChipMemoryFixture;
}

/** What the chip needs now, scaled from its measurement by the firmware's live slots in xsnap. */
export function requirement(fixture: ChipMemoryFixture, appLiveSlotsNow: number): Requirement {
  const growth = appLiveSlotsNow / fixture.xsnap.appLiveSlots;
  return {
    heapBytes: Math.ceil((fixture.chip.chunksReserved + fixture.chip.slotsReserved) * Math.max(1, growth)),
    stackSlots: Math.ceil(fixture.chip.stackPeak / SLOT_BYTES),
  };
}

/** What is wrong with a budget for that requirement (empty: it holds with the headroom). */
export function budgetProblems(creation: Creation, need: Requirement): string[] {
  const problems: string[] = [];
  const stackWanted = Math.ceil(need.stackSlots * HEADROOM);
  if (creation.stack < stackWanted) {
    problems.push(`stack ${creation.stack} slots: the chip went ${need.stackSlots} deep; needs >= ${stackWanted} (25 % headroom)`);
  }
  const heapWanted = Math.ceil(need.heapBytes * HEADROOM);
  const heapGiven = creation.static - creation.stack * SLOT_BYTES;
  if (heapGiven < heapWanted) {
    problems.push(`static ${creation.static} B leaves ${heapGiven} B for chunks and slots after the stack; the chip needs ${need.heapBytes} B, >= ${heapWanted} B with 25 % headroom`);
  }
  return problems;
}

/**
 * The firmware's live slots in xsnap (after a full GC, above the worker with the bundle loaded),
 * at their highest over boot, online and `sets` property/sets: the Moddable entry as on the chip.
 */
export async function xsnapAppLiveSlots(sets = 10): Promise<number> {
  const sim = await Simulation.create({ wallClockStart: 1_763_800_000_000, seed: 4 }, xsDevice({ entry: { config: benchMcConfig({ uartReceive: "5", uartTransmit: "4", ledPin: "25" }), pins: { led: 25 } } }));
  try {
    const worker = sim.device.worker;
    const base = liveSlots(worker);
    let peak = 0;
    const sample = () => {
      peak = Math.max(peak, liveSlots(worker) - base);
    };
    sim.start();
    if (!(await sim.runUntil(() => sim.online, 60_000))) throw new Error("the firmware in xsnap did not come online");
    sample();
    for (let i = 0; i < sets; i++) {
      const id = await sim.setLed(i % 2 === 0);
      if (!(await sim.runUntil(() => sim.replyTo(id) !== undefined, 10_000))) throw new Error(`no set_reply for set ${i + 1} in xsnap`);
      sample();
    }
    return peak;
  } finally {
    await sim.close();
  }
}
