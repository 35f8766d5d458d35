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
