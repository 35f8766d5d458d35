/*
 * The fuzz campaign at the CI budget (100,000 cases over the MQTT decoder, the AT parser and the
 * AT driver), plus checks that the checks themselves bite: the canary sees a stray write, a case
 * replays from its seed and index, and the recorded sessions are what the targets assume.
 */
import { describe, expect, it } from "vitest";
import { canaryIntact, guardedView } from "../../host-sim/fuzz/check.js";
import { chunking, mutate } from "../../host-sim/fuzz/mutate.js";
import { Rng } from "../../host-sim/fuzz/rng.js";
import { formatSummary, Fuzzer, replayCase, runFuzz } from "../../host-sim/fuzz/run.js";
import { loadCorpus } from "../../host-sim/fuzz/sessions.js";

describe("fuzz", () => {
  it("runs 100,000 cases without a violation", () => {
    const summary = runFuzz({ cases: 100_000, seed: 20261122 });
    expect(summary.failure, formatSummary(summary)).toBeUndefined();
    expect(summary.cases).toBe(100_000);
    const byName = Object.fromEntries(summary.targets.map((t) => [t.name, t]));
    // The mix is what the schedule promises, and the cases reached the interesting paths.
    expect(byName["mqtt-decoder"].cases).toBe(50_000);
    expect(byName["at-parser"].cases).toBe(45_000);
    expect(byName["at-driver"].cases).toBe(5_000);
    const mqtt = byName["mqtt-decoder"].names;
    for (const code of ["packet-too-large", "remaining-length-too-long", "remaining-length-not-minimal", "bad-flags", "bad-qos", "invalid-utf8", "topic-has-wildcard", "truncated-packet"])
      expect(mqtt[code], code).toBeGreaterThan(0);
    const at = byName["at-parser"].names;
    for (const name of ["data:ipd", "data:recvdata", "line-overflow", "prompt", "line:ipd-notify"]) expect(at[name], name).toBeGreaterThan(0);
    expect(Object.keys(byName["at-driver"].names).some((n) => n.startsWith("close:"))).toBe(true);
  }, 240_000);

  it("replays a case exactly from its seed and index", () => {
    const a = new Fuzzer();
    const b = new Fuzzer();
    for (let i = 0; i < 60; i++) {
      expect(a.runCase(5, i)).toBeUndefined();
      expect(b.runCase(5, i)).toBeUndefined();
    }
    expect(a.summaryTargets()).toEqual(b.summaryTargets());
    expect(replayCase(5, 3)).toBeUndefined();
  });

  it("the recorded sessions cover both dialects and every receive mode", () => {
    const corpus = loadCorpus();
    expect(corpus.map((c) => c.name).sort()).toEqual(["1.7-active", "1.7-passive", "1.7-transparent", "2.x-active", "2.x-passive", "2.x-transparent"]);
    for (const c of corpus) {
      const text = Buffer.from(c.uart).toString("latin1");
      expect(text).toContain("ready");
      expect(c.mqtt.length).toBeGreaterThanOrEqual(2); // the TCP close and the reconnect
      // No secret crossed into the fixtures (only module -> MCU and broker -> device are stored).
      expect(text).not.toContain("password123");
    }
  });

  it("the canary catches a write next to the buffer", () => {
    const view = guardedView(32);
    view.fill(1);
    expect(canaryIntact(view)).toBe(true);
    new Uint8Array(view.buffer)[view.byteOffset + 32] = 0;
    expect(canaryIntact(view)).toBe(false);
  });

  it("mutations and chunkings are deterministic and cover the input", () => {
    const base = Uint8Array.from([0x30, 0x05, 0x00, 0x01, 0x61, 0x62, 0x63]);
    for (let s = 0; s < 200; s++) {
      const m1 = mutate(new Rng(s), "mqtt", base, [base], [base.length]);
      const m2 = mutate(new Rng(s), "mqtt", base, [base], [base.length]);
      expect(m1).toEqual(m2);
      const chunks = chunking(new Rng(s), 100);
      expect(chunks.reduce((a, b) => a + b, 0)).toBe(100);
      expect(chunks.every((c) => c > 0)).toBe(true);
    }
  });
});

describe("fuzz watchdog", () => {
  it("turns a case that never returns into a report with the case to replay and a killed process", async () => {
    const { spawnSync } = await import("node:child_process");
    const { mkdtempSync, writeFileSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "fuzz-watchdog-"));
    try {
      const file = join(dir, "hang.mjs");
      const url = new URL("../../host-sim/fuzz/watchdog.ts", import.meta.url).href;
      writeFileSync(file, `import { Watchdog } from ${JSON.stringify(url)};\nconst d = new Watchdog(77, 1000);\nd.beat(5);\nfor (;;) {}\n`);
      const root = new URL("../..", import.meta.url).pathname;
      const r = spawnSync(process.execPath, ["--import", "tsx", file], { cwd: root, encoding: "utf8", timeout: 20_000 });
      expect(r.signal).toBe("SIGKILL");
      expect(r.stderr).toContain("HANG: case 5");
      expect(r.stderr).toContain("--seed 77 --case 5");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
