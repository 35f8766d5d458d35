/*
 * OneNET token generation: the firmware's TokenBuilder (pure JS HMAC, as it runs on XS) against Node's
 * native crypto in the same run. The ratio (ours / Node's ops per second) is for knowing the cost on the
 * chip, not for winning: Node's HMAC is OpenSSL. Also the heap bytes one build allocates after warm-up
 * (the firmware path must allocate nothing). Then the same build inside Moddable's XS (xsnap): metering
 * units per token (deterministic: the same code and inputs always cost the same) and heap slots per token.
 */
import { createHmac } from "node:crypto";
import { Hmac } from "../firmware/onenet/hmac.js";
import { Sha1 } from "../firmware/onenet/sha1.js";
import { bundleForXs } from "../host-sim/xs/bundle.js";
import { XsWorker } from "../host-sim/xs/worker.js";
import { TokenBuilder } from "../firmware/onenet/token.js";
import { bytesPerOp, opsPerSecond } from "./measure.js";
import type { BenchRow, BenchSuite } from "./measure.js";

const KEY = "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=";
const PRODUCT = "L14FCC38pq";
const DEVICE = "test1";
const ET = 2017881776;

function nodeToken(method: string, key: Buffer, et: number): string {
  const res = `products/${PRODUCT}/devices/${DEVICE}`;
  const sign = createHmac(method, key).update(`${et}\n${method}\n${res}\n2018-10-31`).digest("base64");
  return `version=2018-10-31&res=${encodeURIComponent(res)}&et=${et}&method=${method}&sign=${encodeURIComponent(sign)}`;
}

/**
 * Many short rounds, alternating ours and the peer, best of each: on a shared machine both then get
 * their share of quiet moments (the codec suite does the same).
 */
function interleaved(ours: () => void, peer: () => void, warmup: number): [number, number] {
  let best = 0;
  let bestPeer = 0;
  for (let r = 0; r < 12; r++) {
    best = Math.max(best, opsPerSecond(ours, { rounds: 1, minMs: 150, warmup: r === 0 ? warmup : 0 }));
    bestPeer = Math.max(bestPeer, opsPerSecond(peer, { rounds: 1, minMs: 150, warmup: r === 0 ? warmup : 0 }));
  }
  return [best, bestPeer];
}

function tokenRow(method: "sha1" | "sha256" | "md5"): BenchRow {
  const builder = new TokenBuilder({ productId: PRODUCT, deviceName: DEVICE, key: KEY, method });
  const out = new Uint8Array(builder.maxLength);
  const key = Buffer.from(KEY, "base64");
  // Both sides must produce the same token, or the comparison means nothing.
  const n = builder.build(out, 0, ET);
  if (Buffer.from(out.subarray(0, n)).toString("latin1") !== nodeToken(method, key, ET)) throw new Error(`token ${method}: ours differs from node:crypto`);
  let et = ET;
  let sink = 0;
  const ours = () => {
    sink ^= builder.build(out, 0, et++);
  };
  const peer = () => {
    sink ^= nodeToken(method, key, et++).length;
  };
  const [oursOps, peerOps] = interleaved(ours, peer, 20_000);
  // Long runs, the lower kept: V8's one-time growth (inline caches, compiled code) is not per call,
  // and a GC of other garbage can land in one run.
  const bytes = Math.min(bytesPerOp(ours, 300_000), bytesPerOp(ours, 300_000));
  if (sink === 0.5) console.log(sink);
  return {
    suite: "token",
    name: `token build (HMAC-${method.toUpperCase()})`,
    ours_ops: oursOps,
    peer: "node:crypto",
    peer_ops: peerOps,
    ratio: oursOps / peerOps,
    ours_bytes_per_op: bytes,
  };
}

function hmacThroughputRow(size: number): BenchRow {
  const mac = new Hmac(new Sha1());
  const key = new Uint8Array(32).fill(7);
  mac.setKey(key);
  const data = new Uint8Array(size).map((_, i) => i);
  const out = new Uint8Array(20);
  const ours = () => {
    mac.update(data, 0, size);
    mac.finish(out, 0);
  };
  const peer = () => {
    createHmac("sha1", key).update(data).digest();
  };
  const [oursOps, peerOps] = interleaved(ours, peer, 2_000);
  return {
    suite: "token",
    name: `HMAC-SHA1 of ${size} bytes`,
    ours_ops: oursOps,
    peer: "node:crypto",
    peer_ops: peerOps,
    ratio: oursOps / peerOps,
    ours_bytes_per_op: Math.min(bytesPerOp(ours, 50_000), bytesPerOp(ours, 50_000)),
  };
}

/** XS metering per token build, and heap slots it leaves behind (after the harness's own baseline). */
function xsRows(): BenchRow[] {
  const worker = new XsWorker({ name: "onenet-bench-token" });
  try {
    worker.evaluate(bundleForXs({ modules: { token: "firmware/onenet/token.ts" } }).code);
    const rows: BenchRow[] = [];
    const run = (body: string, n: number) => {
      worker.evaluate(`globalThis.step = (n) => { for (let i = 0; i < n; i++) { ${body}; } }; step(3);`);
      worker.evaluate("xsHarness.gc()");
      return worker.evaluate(`step(${n})`).meter;
    };
    const empty1 = run("", 1);
    const empty = run("", 101);
    for (const method of ["sha1", "sha256", "md5"]) {
      worker.evaluate(
        `globalThis.B = new xsHarness.modules.token.TokenBuilder({ productId: "${PRODUCT}", deviceName: "${DEVICE}", key: "${KEY}", method: "${method}" });` +
          " globalThis.OUT = new Uint8Array(B.maxLength);",
      );
      const one = run(`B.build(OUT, 0, ${ET} + i)`, 1);
      const many = run(`B.build(OUT, 0, ${ET} + i)`, 101);
      const compute = (many.compute - one.compute - (empty.compute - empty1.compute)) / 100;
      const slots = (many.currentHeapCount - one.currentHeapCount - (empty.currentHeapCount - empty1.currentHeapCount)) / 100;
      rows.push({
        suite: "token",
        name: `token build on XS (HMAC-${method.toUpperCase()})`,
        value: Math.round(compute),
        unit: "XS compute units/token",
        note: `${slots} heap slots/token`,
      });
    }
    return rows;
  } finally {
    worker.close();
  }
}

export const suite: BenchSuite = {
  name: "token",
  run: async () => [tokenRow("sha1"), tokenRow("sha256"), tokenRow("md5"), hmacThroughputRow(1024), ...xsRows()],
};
