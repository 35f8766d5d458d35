import type { BenchSuite } from "./measure.js";

// Placeholder until the token benchmarks land.
export const suite: BenchSuite = { name: "token", run: async () => [] };
