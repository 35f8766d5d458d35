/*
 * Measurement helpers shared by the benchmark suites. Throughput is noisy on shared machines, so
 * suites always measure our code and its peer in the same process and run, interleaved, and
 * report the ratio.
 */

/** Operations per second of `fn`, best of `rounds` rounds of at least `minMs` each. */
export function opsPerSecond(fn: () => void, { minMs = 300, rounds = 5, warmup = 20_000 } = {}): number {
  for (let i = 0; i < warmup; i++) fn();
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    do {
      for (let i = 0; i < 1000; i++) fn();
      ops += 1000;
      elapsed = Number(process.hrtime.bigint() - start) / 1e6;
    } while (elapsed < minMs);
    best = Math.max(best, (ops * 1000) / elapsed);
  }
  return best;
}

/**
 * Bytes of JS heap retained or churned per call of `fn`, after warm-up: the heap is measured
 * after a full GC before and after `count` calls with no GC in between, so any per-call
 * allocation shows up (needs `node --expose-gc`). 0 means nothing was allocated per call.
 */
export function bytesPerOp(fn: () => void, count = 100_000): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc to measure allocation");
  for (let i = 0; i < 20_000; i++) fn();
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) fn();
  const after = process.memoryUsage().heapUsed;
  return Math.max(0, (after - before) / count);
}

/** One line of `npm run bench -- --json`. Suites that compare with a peer fill the peer fields. */
export interface BenchRow {
  suite: string;
  name: string;
  /** Throughput rows. */
  ours_ops?: number;
  peer?: string;
  peer_ops?: number;
  ratio?: number;
  ours_bytes_per_op?: number;
  /** Figure rows (virtual time, byte counts, XS metering...). */
  value?: number;
  unit?: string;
  peer_value?: number;
  note?: string;
}

export interface BenchSuite {
  name: string;
  run(): Promise<BenchRow[]>;
}
