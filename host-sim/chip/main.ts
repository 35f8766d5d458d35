/*
 * `npm run chip`: builds the firmware for the Raspberry Pi Pico with Moddable's mcconfig (release
 * from the committed manifest, plus an instrumented and a debug build and three images that must
 * fail visibly: a refused config, a budget too small, the old budget), runs the chip scenarios on
 * the emulated Pico against our ESP8266 emulator and embedded broker, and prints the figures
 * (exact: emulated cycles). The same for the STM32 image in QEMU (./stm32/run.ts; wall-clock
 * figures). Exit 1 if a scenario fails.
 *
 *   npm run chip -- [--chip pico|stm32] [--bootrom PATH] [--no-build] [--quick] [--json FILE]
 *
 * The Pico needs the Moddable SDK and the Pico SDK (README, "The emulated Pico"); the RP2040
 * bootrom from --bootrom or RP2040_BOOTROM. The STM32 needs Moddable, Zephyr and QEMU (README,
 * "STM32 through Zephyr"). Without --chip, every chip this machine is set up for.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type ParsedArgs, parseArgs, UsageError } from "../cli/args.js";
import { bootromPath, loadBootrom } from "./bootrom.js";
import { dashboardFollowsSets } from "./dashboard-check.js";
import { BUDGETED_PLATFORMS, budgetProblems, type ChipMemoryFixture, FIXTURE, requirement, xsnapAppLiveSlots } from "./budget.js";
import { buildChipImage, checkEnvironment, type ChipImage, type Creation, imageSizes, PROJECT_ROOT } from "./build.js";
import { checkZephyrEnvironment } from "./stm32/build.js";
import { findQemu } from "./stm32/qemu.js";
import { runStm32 } from "./stm32/run.js";
import type { XsPeaks } from "./chip-console.js";
import { PICO_HZ } from "./pico-chip.js";
import { BENCH_CONFIG, blinksOf, bootToOnline, type ChipImageUnderTest, cyclesToMs, describePeaks, type Fault, MEASURE_BUDGET, OLD_BUDGET, recovers, setsFollowed, showsCode, TIGHT_BUDGET, withBench } from "./scenarios.js";
import { parseUf2 } from "./uf2.js";

interface Images {
  release: ChipImage;
  active: ChipImage;
  instrument: ChipImage;
  debug: ChipImage;
  badConfig: ChipImage;
  tightBudget: ChipImage;
  oldBudget: ChipImage;
}

const USAGE = `usage: npm run chip -- [options]
  --chip pico|stm32   only this chip (default: every chip whose SDKs are set up here)
  --bootrom PATH      the RP2040 bootrom (default: $RP2040_BOOTROM)
  --no-build          use the images of the previous run (build/chip/images)
  --quick             fewer faults, 20 sets for the memory figures
  --memory-sets N     sets in the memory scenario (default 100)
  --creation JSON     another memory budget for every image but old-budget (experiments)
  --only LIST         only these images and their scenarios: release,active,instrument,debug,badConfig,tightBudget,oldBudget
  --json FILE         where the figures go (default build/chip/figures.json)
  --update-fixture    write the measured peaks to test/fixtures/chip-memory.json (npm test's budget check)`;

const results: { name: string; ok: boolean; detail: string }[] = [];
const figures: Record<string, unknown> = {};

function report(name: string, ok: boolean, detail: string): void {
  results.push({ name, ok, detail });
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ` - ${detail}` : ""}`);
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1], n: s.length } : undefined;
};

async function buildAll(noBuild: boolean, creation: Creation | undefined, only: Set<string> | undefined): Promise<Partial<Images>> {
  const variants: [keyof Images, Parameters<typeof buildChipImage>[0]][] = [
    ["release", { target: "pico", variant: "release", config: BENCH_CONFIG, creation }],
    ["active", { target: "pico", variant: "release-active", config: { ...BENCH_CONFIG, receiveMode: "active" }, creation }],
    ["badConfig", { target: "pico", variant: "bad-config", config: { ...BENCH_CONFIG, password: "1234" }, creation }],
    ["tightBudget", { target: "pico", variant: "tight-budget", config: BENCH_CONFIG, creation: TIGHT_BUDGET }],
    ["oldBudget", { target: "pico", variant: "old-budget", config: BENCH_CONFIG, creation: OLD_BUDGET }],
    ["instrument", { target: "pico", kind: "instrument", variant: "instrument", config: BENCH_CONFIG, creation: creation ?? MEASURE_BUDGET }],
    ["debug", { target: "pico", kind: "debug", variant: "debug", config: BENCH_CONFIG, creation }],
  ];
  const images: Partial<Images> = {};
  for (const [key, options] of variants) {
    if (only && !only.has(key)) continue;
    const dir = join(PROJECT_ROOT, "build/chip/images", options.variant!);
    if (noBuild) {
      const elf = join(dir, "xs_pico.elf");
      images[key] = { uf2: join(dir, "xs_pico.uf2"), elf, log: "", sizes: imageSizes(elf, join(process.env.MODDABLE ?? "", "build/tmp/pico", options.kind ?? "release", "onenet-led")) };
      continue;
    }
    const t0 = Date.now();
    process.stdout.write(`building ${options.variant} (mcconfig -m -p pico${options.kind === "debug" ? " -d" : options.kind === "instrument" ? " -i" : ""})... `);
    images[key] = await buildChipImage(options);
    console.log(`${((Date.now() - t0) / 1000).toFixed(0)} s`);
  }
  return images;
}

function load(image: ChipImage, bootrom: Uint32Array): ChipImageUnderTest {
  return { image: parseUf2(readFileSync(image.uf2)), bootrom };
}

async function bootAndSets(under: ChipImageUnderTest, dialect: "2.x" | "1.7", mode: "passive" | "active", faults: Fault[]): Promise<void> {
  const name = `AT ${dialect}, ${mode} receive`;
  await withBench(under, { dialect, receiveMode: mode }, async (sim) => {
    const online = await bootToOnline(sim);
    report(`${name}: boot to online`, online !== undefined, online !== undefined ? `${(online / 1000).toFixed(2)} s emulated` : "not online in 30 s");
    if (online === undefined) return;
    figures[`bootToOnlineMs ${dialect} ${mode}`] = Math.round(online);
    await sim.runFor(1000);
    const sets = await setsFollowed(sim, 10);
    const s = stats(sets.setToLedCycles);
    report(`${name}: 10 sets, GP25 follows each, every set_reply reaches the cloud`, sets.followed === 10 && sets.answered === 10,
      `${sets.followed}/10 followed, ${sets.answered}/10 answered; set-to-LED ${s ? `${s.min}..${s.max} cycles (median ${s.median}, ${cyclesToMs(s.median).toFixed(2)} ms)` : "n/a"}`);
    figures[`setToLedCycles ${dialect} ${mode}`] = s;
    figures[`replyMs ${dialect} ${mode}`] = stats(sets.replyMs.map(Math.round));
    for (const fault of faults) {
      const r = await recovers(sim, fault);
      report(`${name}: ${fault} recovered, the next set obeyed`, r.ok, `back in ${(r.downMs / 1000).toFixed(1)} s emulated`);
      figures[`recoveryMs ${dialect} ${mode} ${fault}`] = Math.round(r.downMs);
    }
    const u = sim.device.uartStats;
    figures[`uart ${dialect} ${mode}`] = { ...u, baud: sim.device.uartBaud };
    if (u.overruns > 0) report(`${name}: no UART overrun once the firmware runs`, false, `${u.overruns} bytes lost in the RX FIFO`);
  });
}

async function memory(under: ChipImageUnderTest, sets: number): Promise<XsPeaks | undefined> {
  return withBench(under, {}, async (sim) => {
    const phases: Record<string, XsPeaks> = {};
    const snapshot = () => ({ ...sim.device.console.peaks });
    const online = await bootToOnline(sim);
    await sim.runFor(1500); // the next sample covers the connect
    phases.boot = snapshot();
    if (online === undefined) {
      report("memory: instrumented image online", false, "not online");
      return undefined;
    }
    const done = await setsFollowed(sim, sets);
    await sim.runFor(1500);
    phases[`${sets} sets`] = snapshot();
    let recovered = true;
    for (const fault of ["wifi-drop", "tcp-close", "reset-module"] as Fault[]) recovered &&= (await recovers(sim, fault)).ok;
    await sim.runFor(1500);
    phases.faults = snapshot();
    const p = sim.device.console.peaks;
    report(`memory: instrumented image, boot + ${sets} sets + faults`, done.followed === sets && recovered && p.samples > 0, describePeaks(p));
    figures.memoryPhases = phases;
    figures.memorySets = sets;
    return p;
  });
}

/** The measured peaks against every 32-bit platform's budget; with --update-fixture, they become the CI's reference. */
async function budgets(peaks: XsPeaks, sets: number, creation: Creation | undefined, update: boolean): Promise<void> {
  const appLiveSlots = await xsnapAppLiveSlots(10);
  const fixture: ChipMemoryFixture = {
    measured: { date: new Date().toISOString().slice(0, 10), commit: gitCommit(), image: `pico instrumented release, creation ${JSON.stringify(creation ?? MEASURE_BUDGET)}` },
    chip: { chunksReserved: peaks.chunksReserved, slotsReserved: peaks.slotsReserved, stackPeak: peaks.stackPeak, chunksUsed: peaks.chunksUsed, slotsUsed: peaks.slotsUsed, sets },
    xsnap: { appLiveSlots, sets: 10 },
  };
  figures.budgetFixture = fixture;
  const need = requirement(fixture, appLiveSlots);
  const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, "manifest.json"), "utf8")) as { platforms: Record<string, { creation?: Creation }> };
  for (const platform of BUDGETED_PLATFORMS) {
    const given = manifest.platforms[platform]?.creation;
    const problems = given ? budgetProblems(given, need) : ["no creation budget"];
    report(`manifest budget of ${platform} holds the measured peaks with 25 % headroom`, problems.length === 0, problems.join("; ") || `need ${need.heapBytes} B heap + ${need.stackSlots} stack slots`);
  }
  if (update) {
    writeFileSync(FIXTURE, JSON.stringify(fixture, null, 2) + "\n");
    console.log(`wrote ${FIXTURE}: commit it with the budgets it supports`);
  }
}

function gitCommit(): string {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: PROJECT_ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

type Chip = "pico" | "stm32";

/** What stops each chip's run on this machine (empty: ready). */
function readiness(chip: Chip, args: ParsedArgs): string[] {
  if (chip === "stm32") return [...checkZephyrEnvironment(), ...(findQemu() ? [] : ["qemu-system-arm not found (apt-get install qemu-system-arm)"])];
  const problems = checkEnvironment("pico");
  try {
    bootromPath(args.get("bootrom"));
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  return problems;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["bootrom", "json", "memory-sets", "creation", "only", "chip"], flags: ["no-build", "quick", "update-fixture"] });
  if (args.has("help")) {
    console.log(USAGE);
    return 0;
  }
  const asked = args.get("chip");
  if (asked !== undefined && asked !== "pico" && asked !== "stm32") throw new UsageError(`--chip must be pico or stm32, got ${JSON.stringify(asked)}`);
  const chips: Chip[] = [];
  for (const chip of asked ? [asked as Chip] : (["pico", "stm32"] as Chip[])) {
    const problems = asked ? [] : readiness(chip, args);
    if (problems.length === 0) chips.push(chip);
    else console.log(`not running ${chip}: ${problems.join("; ")}`);
  }
  if (chips.length === 0) throw new UsageError("no chip can run here: set up an SDK (README, \"The emulated Pico\" / \"STM32 through Zephyr\")");
  if (chips.includes("pico")) await runPico(args);
  if (chips.includes("stm32")) {
    if (args.get("creation") !== undefined || args.get("only") !== undefined || args.has("update-fixture")) {
      throw new UsageError("--creation, --only and --update-fixture are for the Pico (--chip pico)");
    }
    const stm32: Record<string, unknown> = {};
    const memorySets = Number(args.get("memory-sets") ?? (args.has("quick") ? 20 : 100));
    await runStm32({ noBuild: args.has("no-build"), quick: args.has("quick"), memorySets, report, figures: stm32 });
    figures.stm32 = stm32;
  }

  const failed = results.filter((r) => !r.ok);
  console.log(`\n${results.length - failed.length}/${results.length} chip scenarios passed (${chips.map((c) => (c === "pico" ? `emulated RP2040 at ${PICO_HZ / 1e6} MHz` : "STM32F405 in QEMU, real time")).join("; ")})`);
  const out = args.get("json") ?? join(PROJECT_ROOT, "build/chip/figures.json");
  mkdirSync(join(out, ".."), { recursive: true });
  writeFileSync(out, JSON.stringify({ results, figures }, null, 2));
  console.log(`figures: ${out}`);
  return failed.length ? 1 : 0;
}

async function runPico(args: ParsedArgs): Promise<void> {
  const bootrom = loadBootrom(bootromPath(args.get("bootrom")));
  const creation = args.get("creation") === undefined ? undefined : (JSON.parse(args.get("creation")!) as Creation);
  const only = args.get("only") === undefined ? undefined : new Set(args.get("only")!.split(","));
  const images = await buildAll(args.has("no-build"), creation, only);
  if (images.release) {
    figures.image = images.release.sizes;
    console.log(`release image: ${images.release.sizes.text} B flash (XS archive ${images.release.sizes.archive} B; our bytecode ${images.release.sizes.appBytecode} B in ${images.release.sizes.appModules} modules), ${images.release.sizes.bss} B bss`);
    const release = load(images.release, bootrom);
    await bootAndSets(release, "2.x", "passive", ["wifi-drop", "tcp-close", "reset-module"]);
    await bootAndSets(release, "1.7", "passive", args.has("quick") ? [] : ["wifi-drop", "reset-module"]);
    const dash = await dashboardFollowsSets(images.release.uf2, bootromPath(args.get("bootrom")));
    report("onenet-led run --chip pico: the dashboard shows the board online and the LED following sets pressed on the page", dash.ok, dash.detail);
  }
  if (images.active) {
    const active = load(images.active, bootrom);
    await bootAndSets(active, "2.x", "active", args.has("quick") ? [] : ["tcp-close"]);
    await bootAndSets(active, "1.7", "active", []);
  }

  if (images.debug) await withBench(load(images.debug, bootrom), {}, async (sim) => {
    const online = await bootToOnline(sim, 60_000);
    const sets = online === undefined ? undefined : await setsFollowed(sim, 3);
    const c = sim.device.console;
    report("debug image: the xsbug host answers the login, logs, samples; online and 3 sets", c.debugBuild && online !== undefined && sets?.followed === 3 && c.peaks.samples > 0,
      `${c.peaks.samples} samples, ${c.breaks} breaks resumed; ${describePeaks(c.peaks)}`);
    figures.debugPeaks = { ...c.peaks };
  });

  if (images.instrument) {
    figures.imageInstrument = images.instrument.sizes;
    const sets = Number(args.get("memory-sets") ?? (args.has("quick") ? 20 : 100));
    const peaks = await memory(load(images.instrument, bootrom), sets);
    if (peaks) {
      figures.peaks = peaks;
      await budgets(peaks, sets, creation, args.has("update-fixture"));
    }
  }

  if (images.badConfig) await withBench(load(images.badConfig, bootrom), {}, async (sim) => {
    const seen = await blinksOf(sim, 12_000);
    const ok = showsCode(seen.groups, 2) && /fatal: config-refused: config "password"/.test(seen.line ?? "");
    report("bad config (a 4-byte WiFi password): blink code 2 and a console line", ok, `groups ${JSON.stringify(seen.groups)}; "${seen.line ?? "no line"}"`);
  });
  if (images.tightBudget) await withBench(load(images.tightBudget, bootrom), {}, async (sim) => {
    const seen = await blinksOf(sim, 30_000);
    const ok = showsCode(seen.groups, 4) && /fatal: memory-full/.test(seen.line ?? "") && seen.restarts >= 1;
    report(`a budget too small (static ${TIGHT_BUDGET.static}): memory full blinks code 4, then restarts`, ok,
      `groups ${JSON.stringify(seen.groups)}; ${seen.restarts} restarts; "${seen.line ?? "no line"}"`);
  });
  if (images.oldBudget) await withBench(load(images.oldBudget, bootrom), {}, async (sim) => {
    // Here the arena is exhausted to the last byte: XS's fxAbort copies its message into a new chunk
    // before calling the hook, that copy fails and aborts again, until the stack overflows. No
    // blink code can run; the console names the cause and the board restarts in a loop.
    const seen = await blinksOf(sim, 10_000);
    const said = (re: RegExp) => seen.console.some((l) => re.test(l));
    const ok = !seen.online && seen.restarts >= 10 && said(/^# (Chunk|Slot) allocation: failed/) && said(/XS abort: /);
    report(`the old budget (static ${OLD_BUDGET.static}, stack ${OLD_BUDGET.stack}): memory full before the hook can run; the console says so and the board restarts in a loop`, ok,
      `${seen.restarts} restarts in 10 s, online ${seen.online}; "${seen.console.find((l) => /allocation: failed/.test(l)) ?? "no allocation line"}", "${seen.console.find((l) => /XS abort/.test(l)) ?? "no abort line"}"`);
    figures.oldBudgetRestartsIn10s = seen.restarts;
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`npm run chip: ${error instanceof UsageError ? error.message : error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
