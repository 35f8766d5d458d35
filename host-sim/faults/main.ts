/*
 * `npm run faults -- --schedules N --seed S [--chaos-minutes M]`: the fault campaign. A failing
 * schedule prints its seed; `--schedules 1 --seed <that seed>` replays it exactly.
 */
import { intOption, parseArgs, UsageError } from "../cli/args.js";
import { runCampaign } from "./campaign.js";

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["schedules", "seed", "chaos-minutes"], flags: ["verbose"] });
  if (args.has("help")) {
    console.log("usage: npm run faults -- [--schedules N (200)] [--seed S (1)] [--chaos-minutes M (10)] [--verbose]");
    return 0;
  }
  if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const count = intOption(args, "schedules", 1, 10_000_000) ?? 200;
  const seed = intOption(args, "seed", 0, 2 ** 31 - 1) ?? 1;
  const chaosMinutes = intOption(args, "chaos-minutes", 1, 24 * 60) ?? 10;
  const verbose = args.has("verbose");
  const summary = await runCampaign(count, seed, {
    chaosMs: chaosMinutes * 60_000,
    onResult(result, index) {
      if (result.failures.length) {
        console.log(`schedule ${index + 1}/${count} seed ${result.seed} (AT ${result.dialect}, ${result.receiveMode}, keepalive ${result.keepaliveS} s) FAILED:`);
        for (const failure of result.failures) console.log(`  - ${failure}`);
        console.log(`  replay: npm run faults -- --schedules 1 --seed ${result.seed} --chaos-minutes ${chaosMinutes}`);
      } else if (verbose || (index + 1) % 50 === 0) {
        console.log(`schedule ${index + 1}/${count} seed ${result.seed} ok (AT ${result.dialect}, ${result.receiveMode}, ${result.sets} sets, faults ${JSON.stringify(result.faults)})`);
      }
    },
  });
  console.log(
    `\n${summary.schedules} schedules, ${summary.failed.length} failed; ${summary.sets} sets (${summary.desired} more set desired: the device was offline), ${summary.connects} connects, ` +
      `${summary.boardHours} h of board time in ${summary.realSeconds} s; heap growth after warm-up ${summary.heapGrowthMb} MB`,
  );
  console.log(`faults injected: ${JSON.stringify(summary.faults)}`);
  console.log(`${summary.schedules - summary.failed.length} passed, ${summary.failed.length} failed`);
  return summary.failed.length ? 1 : 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  console.error(error instanceof UsageError ? `faults: ${error.message}` : error);
  process.exitCode = 1;
}
