/*
 * `npm run bench [-- --json] [-- --only suite,...]`: every suite in one process and one run.
 * Figures go into BENCHMARKS.md by hand, with the machine and the date.
 */
import type { BenchRow, BenchSuite } from "./measure.js";

const suiteModules: Record<string, () => Promise<{ suite: BenchSuite }>> = {
  codec: () => import("./codec.js"),
  token: () => import("./token.js"),
  e2e: () => import("./e2e.js"),
  xs: () => import("./xs.js"),
};

function format(row: BenchRow): string {
  if (row.ours_ops !== undefined) {
    const ratio = row.ratio !== undefined ? `  ratio ${row.ratio.toFixed(2)}x` : "";
    const peer = row.peer ? `  ${row.peer} ${Math.round(row.peer_ops ?? 0).toLocaleString("en")} ops/s` : "";
    const alloc = row.ours_bytes_per_op !== undefined ? `  ours ${row.ours_bytes_per_op.toFixed(1)} B/op` : "";
    return `${row.name.padEnd(40)} ours ${Math.round(row.ours_ops).toLocaleString("en")} ops/s${peer}${ratio}${alloc}`;
  }
  const peer = row.peer ? `  (${row.peer}: ${row.peer_value} ${row.unit ?? ""})` : "";
  return `${row.name.padEnd(40)} ${row.value} ${row.unit ?? ""}${peer}${row.note ? `  ${row.note}` : ""}`;
}

async function main(argv: string[]): Promise<number> {
  const json = argv.includes("--json");
  const onlyIndex = argv.indexOf("--only");
  const only = onlyIndex >= 0 ? argv[onlyIndex + 1]?.split(",") : undefined;
  const rows: BenchRow[] = [];
  for (const [name, load] of Object.entries(suiteModules)) {
    if (only && !only.includes(name)) continue;
    const { suite } = await load();
    if (!json) console.log(`\n## ${suite.name}`);
    const suiteRows = await suite.run();
    for (const row of suiteRows) {
      rows.push(row);
      if (!json) console.log(format(row));
    }
  }
  if (json) console.log(JSON.stringify(rows, null, 2));
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
