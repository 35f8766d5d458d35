/*
 * `npm run fuzz -- --cases N [--seed S] [--targets mqtt-decoder,at-parser,at-driver] [--case I]`
 *
 * Feeds the AT parser, the AT driver and the MQTT decoder random and mutated input (run.ts) and
 * prints a summary: cases, bytes and named errors per target, time. On a violation it prints the
 * rule broken, the seed and case to replay and the input in hex, and exits 1. `--case I` replays
 * one case. A watchdog thread turns a hang into exit 1 with the case to replay.
 */
import { intOption, parseArgs, UsageError } from "../cli/args.js";
import { formatSummary, replayCase, runFuzz, TARGET_NAMES, type TargetName } from "./run.js";
import { Watchdog } from "./watchdog.js";

const USAGE = "usage: npm run fuzz -- --cases N [--seed S] [--targets a,b] [--case I] [--hang-ms MS]";

export async function run(argv: string[]): Promise<number> {
  let seed: number;
  let cases: number;
  let index: number | undefined;
  let hangMs: number;
  let targets: TargetName[] | undefined;
  try {
    const args = parseArgs(argv, { values: ["cases", "seed", "targets", "case", "hang-ms"] });
    if (args.has("help")) {
      console.log(USAGE);
      return 0;
    }
    if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`);
    seed = intOption(args, "seed", 0, 0xffffffff) ?? Date.now() % 1_000_000;
    cases = intOption(args, "cases", 1, 1e12) ?? 10_000;
    index = intOption(args, "case", 0, 1e12);
    hangMs = intOption(args, "hang-ms", 1000, 3_600_000) ?? 30_000;
    const t = args.get("targets");
    if (t !== undefined) {
      targets = t.split(",") as TargetName[];
      const bad = targets.find((x) => !TARGET_NAMES.includes(x));
      if (bad) throw new UsageError(`unknown target ${bad} (known: ${TARGET_NAMES.join(", ")})`);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`fuzz: ${e.message}\n${USAGE}`);
    return 2;
  }
  const extra = targets ? ` --targets ${targets.join(",")}` : "";
  if (index !== undefined) {
    const f = replayCase(seed, index, { targets });
    if (!f) {
      console.log(`case ${index} of seed ${seed}: no violation`);
      return 0;
    }
    console.log(`case ${index} (${f.target}): ${f.rule}: ${f.detail}\n  mutations: ${f.steps.join(", ")}\n  input (hex): ${f.inputHex}`);
    return 1;
  }
  const dog = new Watchdog(seed, hangMs, extra);
  let lastReport = Date.now();
  const summary = runFuzz({
    cases,
    seed,
    targets,
    progressEvery: 1,
    onProgress: (done) => {
      dog.beat(done);
      if (done % 10_000 === 0 && Date.now() - lastReport > 30_000) {
        lastReport = Date.now();
        console.error(`fuzz: ${done} cases...`);
      }
    },
  });
  await dog.stop();
  const text = formatSummary(summary);
  console.log(extra && summary.failure ? text.replace(`--case ${summary.failure.index}`, `--case ${summary.failure.index}${extra}`) : text);
  return summary.failure ? 1 : 0;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
