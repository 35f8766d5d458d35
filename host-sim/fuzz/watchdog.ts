/*
 * Hang detection for the CLI: the fuzz loop is synchronous, so a case that never returns cannot be
 * noticed from the same thread. The loop stores the index of the case it is running in shared
 * memory; a worker thread looks every second, and when the index has not moved for `hangMs`, it
 * writes the seed and case to stderr (straight to fd 2: the main thread's stream is stuck) and
 * kills the process with exit code 1.
 */
import { Worker } from "node:worker_threads";

const WORKER = `
const { workerData } = require("node:worker_threads");
const fs = require("node:fs");
const cell = new Int32Array(workerData.shared);
let last = -1, since = Date.now();
setInterval(() => {
  const now = Atomics.load(cell, 0);
  if (now !== last) { last = now; since = Date.now(); return; }
  if (Date.now() - since > workerData.hangMs) {
    fs.writeSync(2, "fuzz: HANG: case " + now + " ran for over " + workerData.hangMs + " ms (unbounded work)\\n" +
      "  replay: npm run fuzz -- --seed " + workerData.seed + " --case " + now + workerData.extra + "\\n");
    process.kill(process.pid, "SIGKILL");
  }
}, 1000);
`;

export class Watchdog {
  private readonly cell: Int32Array;
  private readonly worker: Worker;
  constructor(seed: number, hangMs: number, extra = "") {
    const shared = new SharedArrayBuffer(4);
    this.cell = new Int32Array(shared);
    Atomics.store(this.cell, 0, -1);
    this.worker = new Worker(WORKER, { eval: true, workerData: { shared, hangMs, seed, extra } });
    this.worker.unref();
  }
  beat(index: number): void {
    Atomics.store(this.cell, 0, index);
  }
  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}
