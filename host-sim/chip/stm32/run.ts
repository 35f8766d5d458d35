/*
 * `npm run chip -- --chip stm32`: builds the STM32 images through Moddable's Zephyr port (release
 * and active-receive from the committed manifest, an instrumented one for the memory figures, and
 * two that must fail visibly), runs the chip scenarios in QEMU against our ESP8266 emulator and
 * embedded broker, checks the zephyr `creation` budget against the measured peaks, and reports
 * the figures (wall-clock: QEMU runs in real time). The nucleo_f413zh image is built too, for its
 * flash and RAM use.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { ReceiveMode } from "../../../firmware/config.js";
import type { Dialect } from "../../esp8266/emulator.js";
import { budgetProblems, HEADROOM, SLOT_BYTES } from "../budget.js";
import type { Creation } from "../build.js";
import { BENCH_CONFIG, type Fault, MEASURE_BUDGET, OLD_BUDGET, showsCode } from "../scenarios.js";
import { buildZephyrImage, PROJECT_ROOT, type ZephyrBuildOptions, type ZephyrImage, zephyrTarget } from "./build.js";
import { blinksOf, bootToOnline, recovers, setsFollowed, withStm32Bench } from "./scenarios.js";
import { EMULATED_PLATFORM } from "./wiring.js";

export type Report = (name: string, ok: boolean, detail: string) => void;

export interface Stm32RunOptions {
  noBuild: boolean;
  quick: boolean;
  memorySets: number;
  report: Report;
  figures: Record<string, unknown>;
}

const TREE = "onenet-led-olimex-stm32-h405";

interface Images {
  release: ZephyrImage;
  active: ZephyrImage;
  instrument: ZephyrImage;
  badConfig: ZephyrImage;
  oldBudget: ZephyrImage;
  nucleo: ZephyrImage;
}

export function stm32ImagePath(variant: string): string {
  return join(PROJECT_ROOT, "build/chip/images", variant, "zephyr.elf");
}

interface Manifest {
  platforms: Record<string, { creation?: Creation; zephyrConfig?: Record<string, string> }>;
}

function emulatedEntry(): Manifest["platforms"][string] {
  const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, "manifest.json"), "utf8")) as Manifest;
  return manifest.platforms[EMULATED_PLATFORM];
}

/**
 * The instrumented image's budget: XS's smallest first heaps (../scenarios.ts, MEASURE_BUDGET), so
 * what XS reserves is what the firmware needs, in the manifest's static arena (the F405's 128 KB of
 * RAM holds no bigger one beside Zephyr's own).
 */
function measureBudget(): Creation {
  return { ...MEASURE_BUDGET, static: emulatedEntry().creation!.static };
}

async function buildAll(noBuild: boolean): Promise<Images> {
  const emulated = zephyrTarget("stm32")!;
  const variants: [keyof Images, ZephyrBuildOptions & { variant: string }][] = [
    ["release", { target: emulated, name: TREE, variant: "stm32-release", config: BENCH_CONFIG }],
    ["active", { target: emulated, name: TREE, variant: "stm32-active", config: { ...BENCH_CONFIG, receiveMode: "active" } }],
    ["badConfig", { target: emulated, name: TREE, variant: "stm32-bad-config", config: { ...BENCH_CONFIG, password: "1234" } }],
    ["oldBudget", { target: emulated, name: TREE, variant: "stm32-old-budget", config: BENCH_CONFIG, creation: OLD_BUDGET }],
    ["instrument", { target: emulated, name: TREE, kind: "instrument", variant: "stm32-instrument", config: BENCH_CONFIG, creation: measureBudget() }],
    // The real board, from the same manifest: does it compile, link and fit?
    ["nucleo", { target: zephyrTarget("zephyr/nucleo_f413zh")!, variant: "nucleo-f413zh", config: BENCH_CONFIG }],
  ];
  const images = {} as Images;
  for (const [key, options] of variants) {
    if (noBuild) {
      images[key] = { elf: stm32ImagePath(options.variant), bin: "", log: "", sizes: undefined as never, shims: [] };
      continue;
    }
    const t0 = Date.now();
    process.stdout.write(`building ${options.variant} (mcconfig -m -p ${options.target.platform}${options.kind === "instrument" ? " -i" : ""})... `);
    images[key] = await buildZephyrImage(options);
    console.log(`${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  return images;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? { min: Math.round(s[0]), median: Math.round(s[Math.floor(s.length / 2)]), max: Math.round(s[s.length - 1]), n: s.length } : undefined;
};

async function bootAndSets(o: Stm32RunOptions, elf: string, dialect: Dialect, mode: ReceiveMode, faults: Fault[]): Promise<void> {
  const name = `stm32, AT ${dialect}, ${mode} receive`;
  await withStm32Bench(elf, { dialect, receiveMode: mode }, async (sim) => {
    const online = await bootToOnline(sim);
    o.report(`${name}: boot to online`, online !== undefined, online !== undefined ? `${(online / 1000).toFixed(2)} s (wall)` : `not online in 30 s${sim.device.failure ? `: ${sim.device.failure}` : ""}`);
    if (online === undefined) return;
    o.figures[`bootToOnlineMs ${dialect} ${mode}`] = Math.round(online);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const sets = await setsFollowed(sim, 10);
    const s = stats(sets.setToLedMs);
    o.report(`${name}: 10 sets, the LED pin follows each, every set_reply reaches the cloud`, sets.followed === 10 && sets.answered === 10,
      `${sets.followed}/10 followed, ${sets.answered}/10 answered; set-to-LED ${s ? `${s.min}..${s.max} ms (median ${s.median})` : "n/a"}`);
    o.figures[`setToLedMs ${dialect} ${mode}`] = s;
    o.figures[`replyMs ${dialect} ${mode}`] = stats(sets.replyMs);
    for (const fault of faults) {
      const r = await recovers(sim, fault);
      o.report(`${name}: ${fault} recovered, the next set obeyed`, r.ok, `back in ${(r.downMs / 1000).toFixed(1)} s (wall)`);
      o.figures[`recoveryMs ${dialect} ${mode} ${fault}`] = Math.round(r.downMs);
    }
    if (sim.uart.stats.overruns > 0) o.report(`${name}: no UART overrun`, false, `${sim.uart.stats.overruns} bytes lost`);
  });
}

/** The instrumented image through boot, sets and faults; XS's peaks and Zephyr's heap against the manifest's budget. */
async function memory(o: Stm32RunOptions, elf: string): Promise<void> {
  let minFree = Infinity;
  await withStm32Bench(elf, {
    onConsole: (event) => {
      if (event.kind === "samples" && event.values["System bytes free"] !== undefined) minFree = Math.min(minFree, event.values["System bytes free"]);
    },
  }, async (sim) => {
    const online = await bootToOnline(sim);
    if (online === undefined) {
      o.report("stm32 memory: instrumented image online", false, sim.device.failure ?? "not online");
      return;
    }
    const sets = await setsFollowed(sim, o.memorySets);
    let recovered = true;
    for (const fault of ["wifi-drop", "tcp-close", "reset-module"] as Fault[]) recovered &&= (await recovers(sim, fault)).ok;
    await new Promise((resolve) => setTimeout(resolve, 1500)); // one more sample
    const p = sim.device.console.peaks;
    const entry = emulatedEntry();
    const creation = entry.creation!;
    const pool = Number(entry.zephyrConfig?.CONFIG_HEAP_MEM_POOL_SIZE ?? 0);
    const need = { heapBytes: p.chunksReserved + p.slotsReserved, stackSlots: p.stackPeak / SLOT_BYTES };
    const poolUsed = pool - minFree;
    const poolWanted = Math.ceil(poolUsed * HEADROOM);
    const problems = budgetProblems(creation, need);
    if (pool < poolWanted) problems.push(`CONFIG_HEAP_MEM_POOL_SIZE ${pool} B: Zephyr's heap went to ${poolUsed} B; needs >= ${poolWanted} B (25 % headroom)`);
    const heapGiven = creation.static - creation.stack * SLOT_BYTES;
    const pct = (given: number, used: number) => `${((given / used - 1) * 100).toFixed(0)} %`;
    o.figures.memory = {
      sets: o.memorySets,
      samples: p.samples,
      measuredWith: measureBudget(),
      chunks: { used: p.chunksUsed, reserved: p.chunksReserved },
      slots: { used: p.slotsUsed, reserved: p.slotsReserved },
      stack: { peakSlots: need.stackSlots, slots: creation.stack },
      static: creation.static,
      heapHeadroom: Number((heapGiven / need.heapBytes - 1).toFixed(3)),
      stackHeadroom: Number((creation.stack / need.stackSlots - 1).toFixed(3)),
      zephyrHeap: { pool, peakUsed: poolUsed, headroom: Number((pool / poolUsed - 1).toFixed(3)) },
    };
    o.report(`stm32 memory: instrumented image, boot + ${o.memorySets} sets + wifi-drop, tcp-close, reset-module`, sets.followed === o.memorySets && recovered && p.samples > 0,
      `chunks ${p.chunksUsed} used / ${p.chunksReserved} reserved B, slots ${p.slotsUsed / SLOT_BYTES} / ${p.slotsReserved / SLOT_BYTES}, stack ${need.stackSlots} slots, Zephyr heap ${poolUsed} of ${pool} B at its peak`);
    o.report(`stm32 budget (manifest ${EMULATED_PLATFORM}) holds the peaks with 25 % headroom`, problems.length === 0,
      problems.join("; ") ||
        `static ${creation.static} B: ${heapGiven} B after the stack for ${need.heapBytes} B of chunks + slots (${pct(heapGiven, need.heapBytes)}); ` +
          `stack ${creation.stack} slots for ${need.stackSlots} (${pct(creation.stack, need.stackSlots)}); CONFIG_HEAP_MEM_POOL_SIZE ${pool} B for ${poolUsed} B (${pct(pool, poolUsed)})`);
  });
}

export async function runStm32(o: Stm32RunOptions): Promise<void> {
  const images = await buildAll(o.noBuild);
  if (!o.noBuild) {
    o.figures.image = images.release.sizes;
    o.figures.imageInstrument = images.instrument.sizes;
    o.figures.nucleoF413zh = images.nucleo.sizes;
    const r = images.release.sizes;
    const n = images.nucleo.sizes;
    console.log(`stm32 release image: flash ${r.flash.used} B of ${r.flash.size}, RAM ${r.ram.used} B of ${r.ram.size} (XS archive ${r.archive} B; our bytecode ${r.appBytecode} B in ${r.appModules} modules)`);
    o.report("nucleo_f413zh: compiles and links from the same manifest", n.flash.used > 0 && n.flash.used <= n.flash.size && n.ram.used <= n.ram.size,
      `flash ${n.flash.used} B of ${n.flash.size}, RAM ${n.ram.used} B of ${n.ram.size}`);
  }
  await bootAndSets(o, images.release.elf, "2.x", "passive", ["wifi-drop", "tcp-close", "reset-module"]);
  await bootAndSets(o, images.release.elf, "1.7", "passive", o.quick ? [] : ["wifi-drop", "reset-module"]);
  await bootAndSets(o, images.active.elf, "2.x", "active", o.quick ? [] : ["tcp-close"]);
  await bootAndSets(o, images.active.elf, "1.7", "active", []);
  await memory(o, images.instrument.elf);

  await withStm32Bench(images.badConfig.elf, {}, async (sim) => {
    const seen = await blinksOf(sim, 12_000);
    const ok = showsCode(seen.groups, 2) && /fatal: config-refused: config "password"/.test(seen.line ?? "");
    o.report("stm32 bad config (a 4-byte WiFi password): blink code 2 and a console line", ok, `groups ${JSON.stringify(seen.groups)}; "${seen.line ?? "no line"}"`);
  });
  // On Zephyr the old budget fails while XS creates the machine, before any of our code (and its
  // abort hook) runs: no blink code, but XS's "memory full" on the console and a restart each time.
  await withStm32Bench(images.oldBudget.elf, {}, async (sim) => {
    const seen = await blinksOf(sim, 5_000);
    const ok = seen.boots >= 3 && seen.aborts.length >= 2 && seen.aborts.every((a) => a === "memory full") && !sim.online;
    o.report(`stm32 old budget (static ${OLD_BUDGET.static}, stack ${OLD_BUDGET.stack}): XS aborts "memory full" while creating the machine, Zephyr restarts (a boot loop)`, ok,
      `${seen.boots} boots and ${seen.aborts.length} aborts (${[...new Set(seen.aborts)].join(", ") || "none"}) in 5 s; never online`);
    o.figures.oldBudgetBootsIn5s = seen.boots;
  });
}
