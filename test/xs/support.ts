/*
 * Test helpers: a worker with a bundle loaded, and calls into XS with JSON arguments.
 */
import { bundleForXs } from "../../host-sim/xs/bundle.js";
import { XsWorker, type XsMeter } from "../../host-sim/xs/worker.js";

export interface Lab {
  worker: XsWorker;
  /** Calls `xsHarness.modules[<module>].<fn>(...args)` in XS and returns its JSON value. */
  call<T>(path: string, ...args: unknown[]): T;
  /** The metering of the last call. */
  meter(): XsMeter;
  close(): void;
}

export function openLab(modules: Record<string, string>): Lab {
  const bundle = bundleForXs({ modules });
  const worker = new XsWorker();
  try {
    worker.evaluate(bundle.code);
  } catch (error) {
    worker.close();
    throw error;
  }
  return {
    worker,
    call<T>(path: string, ...args: unknown[]): T {
      const list = args.map((a) => JSON.stringify(a)).join(", ");
      return worker.evaluateJson<T>(`xsHarness.modules.${path}(${list})`).value;
    },
    meter: () => worker.lastMeter,
    close: () => worker.close(),
  };
}

export function hex(spaced: string): string {
  return spaced.replace(/\s+/g, "").toLowerCase();
}

/**
 * Heap slots one run of `body` costs in XS, the harness's own cost (an empty body) removed. The runs
 * follow a full GC and none happens inside them, so every slot they take counts, garbage included:
 * 0 means the code allocates nothing at all.
 */
export function slotsPerRun(worker: XsWorker, body: string, runs = 100): number {
  const slotsAfter = (code: string) => {
    worker.evaluate(`globalThis.step = (n) => { for (let i = 0; i < n; i++) { ${code}; } }; step(3);`);
    const heap = (n: number) => {
      worker.evaluate("xsHarness.gc()");
      return worker.evaluate(`step(${n})`).meter.currentHeapCount;
    };
    const one = heap(1);
    return heap(runs + 1) - one;
  };
  return (slotsAfter(body) - slotsAfter("")) / runs;
}
