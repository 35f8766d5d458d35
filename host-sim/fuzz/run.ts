/*
 * The fuzz loop, callable from the CLI (main.ts) and the tests: `runFuzz({ cases, seed })` runs the
 * cases round-robin over the targets by weight, each case generated from (seed, index) alone so any
 * one replays (`replayCase`). A violation stops the run and comes back with its seed, index and
 * input; the summary carries cases, bytes and named errors per target, and the time taken.
 */
import { AtDriverTarget } from "./at-driver-target.js";
import { AtParserTarget } from "./at-parser-target.js";
import { FuzzViolation, hex, Tally } from "./check.js";
import { MqttTarget } from "./mqtt-target.js";
import { caseSeed, Rng } from "./rng.js";
import { loadCorpus, type Corpus } from "./sessions.js";

export type TargetName = "mqtt-decoder" | "at-parser" | "at-driver";
export const TARGET_NAMES: readonly TargetName[] = ["mqtt-decoder", "at-parser", "at-driver"];

interface Target {
  readonly name: string;
  readonly tally: Tally;
  input(rng: Rng): { bytes: Uint8Array; steps: string[] };
  run(rng: Rng, input: Uint8Array): void;
}

/**
 * Share of the cases per target, out of 100: half MQTT, half AT (the driver, costlier per case,
 * takes a tenth of the AT half but exercises the state machine behind the parser).
 */
export const DEFAULT_WEIGHTS: Record<TargetName, number> = { "mqtt-decoder": 50, "at-parser": 45, "at-driver": 5 };

/** A single case slower than this means runaway work, whatever the input. */
export const SLOW_CASE_MS = 5_000;

export interface FuzzOptions {
  cases: number;
  seed?: number;
  targets?: readonly TargetName[];
  weights?: Partial<Record<TargetName, number>>;
  corpus?: readonly Corpus[];
  /** Called every `progressEvery` cases (and with the case index about to run: a watchdog's heartbeat). */
  onProgress?: (done: number) => void;
  progressEvery?: number;
}

export interface FuzzFailure {
  seed: number;
  index: number;
  target: string;
  rule: string;
  detail: string;
  steps: string[];
  inputHex: string;
}

export interface FuzzSummary {
  seed: number;
  cases: number;
  ms: number;
  targets: { name: string; cases: number; bytes: number; names: Record<string, number> }[];
  failure?: FuzzFailure;
}

function schedule(targets: readonly TargetName[], weights: Record<TargetName, number>): TargetName[] {
  // 100 slots (or fewer), interleaved so any prefix of the run is mixed.
  const slots: TargetName[] = [];
  const total = targets.reduce((n, t) => n + weights[t], 0);
  const credit = new Map<TargetName, number>(targets.map((t) => [t, 0]));
  for (let i = 0; i < total; i++) {
    let best = targets[0];
    for (const t of targets) {
      credit.set(t, credit.get(t)! + weights[t]);
      if (credit.get(t)! > credit.get(best)!) best = t;
    }
    credit.set(best, credit.get(best)! - total);
    slots.push(best);
  }
  return slots;
}

export class Fuzzer {
  private readonly targets = new Map<TargetName, Target>();
  private readonly slots: TargetName[];

  constructor(options: { targets?: readonly TargetName[]; weights?: Partial<Record<TargetName, number>>; corpus?: readonly Corpus[] } = {}) {
    const corpus = options.corpus ?? loadCorpus();
    const names = options.targets ?? TARGET_NAMES;
    const weights = { ...DEFAULT_WEIGHTS, ...options.weights };
    for (const n of names) {
      this.targets.set(n, n === "mqtt-decoder" ? new MqttTarget(corpus) : n === "at-parser" ? new AtParserTarget(corpus) : new AtDriverTarget(corpus));
    }
    this.slots = schedule(names.filter((n) => weights[n] > 0), weights);
    if (this.slots.length === 0) throw new Error("no fuzz target with a weight above 0");
  }

  targetOf(index: number): TargetName {
    return this.slots[index % this.slots.length];
  }

  /** Runs case `index` of a run seeded `seed`; returns the failure, if any. */
  runCase(seed: number, index: number): FuzzFailure | undefined {
    const name = this.targetOf(index);
    const target = this.targets.get(name)!;
    const rng = new Rng(caseSeed(seed, index));
    const { bytes, steps } = target.input(rng);
    const started = performance.now();
    try {
      target.run(rng, bytes);
    } catch (e) {
      const v = e instanceof FuzzViolation ? e : new FuzzViolation(name, "threw", `harness: ${String(e)}`, bytes);
      return { seed, index, target: v.target, rule: v.rule, detail: v.detail, steps, inputHex: hex(v.input) };
    }
    const ms = performance.now() - started;
    if (ms > SLOW_CASE_MS)
      return { seed, index, target: name, rule: "slow-case", detail: `${ms.toFixed(0)} ms for ${bytes.length} bytes`, steps, inputHex: hex(bytes) };
    return undefined;
  }

  summaryTargets(): FuzzSummary["targets"] {
    return [...this.targets.values()].map((t) => ({
      name: t.name,
      cases: t.tally.cases,
      bytes: t.tally.bytes,
      names: Object.fromEntries([...t.tally.names.entries()].sort((a, b) => b[1] - a[1])),
    }));
  }
}

export function runFuzz(options: FuzzOptions): FuzzSummary {
  const seed = (options.seed ?? 1) >>> 0;
  const fuzzer = new Fuzzer(options);
  const every = options.progressEvery ?? 10_000;
  const started = performance.now();
  let failure: FuzzFailure | undefined;
  let done = 0;
  for (; done < options.cases; done++) {
    if (options.onProgress && done % every === 0) options.onProgress(done);
    failure = fuzzer.runCase(seed, done);
    if (failure) break;
  }
  return { seed, cases: failure ? done + 1 : done, ms: performance.now() - started, targets: fuzzer.summaryTargets(), failure };
}

/** Replays one case (as printed by a failing run). */
export function replayCase(seed: number, index: number, options: { targets?: readonly TargetName[]; weights?: Partial<Record<TargetName, number>> } = {}): FuzzFailure | undefined {
  return new Fuzzer(options).runCase(seed >>> 0, index);
}

export function formatSummary(s: FuzzSummary): string {
  const lines = [`fuzz: ${s.cases} cases, seed ${s.seed}, ${(s.ms / 1000).toFixed(1)} s (${((s.cases / s.ms) * 1000).toFixed(0)} cases/s)`];
  for (const t of s.targets) {
    lines.push(`  ${t.name}: ${t.cases} cases, ${t.bytes} bytes`);
    const names = Object.entries(t.names);
    if (names.length) lines.push("    " + names.map(([k, v]) => `${k} ${v}`).join(", "));
  }
  if (s.failure) {
    const f = s.failure;
    lines.push(`VIOLATION in case ${f.index} (${f.target}): ${f.rule}: ${f.detail}`);
    lines.push(`  mutations: ${f.steps.join(", ")}`);
    lines.push(`  replay: npm run fuzz -- --seed ${f.seed} --case ${f.index}`);
    lines.push(`  input (hex, ${f.inputHex.length / 2} bytes): ${f.inputHex}`);
  }
  return lines.join("\n");
}
