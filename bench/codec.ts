import type { BenchSuite } from "./measure.js";

// Placeholder until the codec benchmarks land.
export const suite: BenchSuite = { name: "codec", run: async () => [] };
