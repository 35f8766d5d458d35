/*
 * Every way out of `onenet-led run --broker` is clean, the way a user leaves it: `quit` typed (in
 * capitals), Ctrl-C (SIGINT), SIGTERM, --duration, and a reader that stops reading stdout. Each
 * time the firmware's DISCONNECT reaches a real Mosquitto (logging everything), the device's
 * connection ends as a disconnect (not a dropped socket), and the process exits 0 within 2 s.
 * Each run is a device of its own name, so Mosquitto's log tells them apart.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCli, type CliProcess } from "../helpers/cli.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";

let mosquitto: Mosquitto;
const started: CliProcess[] = [];

beforeAll(async () => {
  mosquitto = await startMosquitto({ extraConfig: ["log_type all"] });
});

afterAll(async () => {
  for (const p of started) p.kill("SIGKILL");
  await mosquitto?.dispose();
});

function board(device: string, extra: string[] = []): CliProcess {
  const p = startCli(["run", "--broker", `127.0.0.1:${mosquitto.port}`, "--device", device, "--no-dashboard", ...extra]);
  started.push(p);
  return p;
}

/** Mosquitto saw the device's DISCONNECT, then closed its side as a disconnect. */
async function disconnectedCleanly(device: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  const log = () => mosquitto.output;
  while (!log().includes(`Client ${device} disconnected.`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  const lines = log().split("\n").filter((line) => new RegExp(`\\b${device}\\b`).test(line));
  expect(lines.join("\n")).toContain(`Received DISCONNECT from ${device}`);
  expect(lines.join("\n")).toContain(`Client ${device} disconnected.`);
  expect(lines.join("\n")).not.toMatch(/closed its connection|exceeded timeout|socket error/);
}

async function leave(p: CliProcess, how: () => void): Promise<number> {
  const at = Date.now();
  how();
  const exit = await p.exited;
  expect(exit.code, p.text).toBe(0);
  return exit.at - at;
}

describe.concurrent("onenet-led run --broker: every way out", () => {
  it("quit (typed as QUIT): DISCONNECT sent, link closed, exit 0 within 2 s", async () => {
    const p = board("exit-quit", ["--quiet"]);
    await p.waitFor(/mqtt\s+online/, 40_000);
    expect(await leave(p, () => p.type("QUIT"))).toBeLessThan(2_000);
    expect(p.stdout).toMatch(/stopping \(quit\)[\s\S]*mqtt\s+stopped[\s\S]*tcp\s+down\s+closed-by-us[\s\S]*stopped\n$/);
    await disconnectedCleanly("exit-quit");
  });

  for (const [signal, name] of [["SIGINT", "Ctrl-C"], ["SIGTERM", "SIGTERM"]] as const) {
    it(`${name} (${signal}): the same`, async () => {
      const device = `exit-${signal.toLowerCase()}`;
      const p = board(device, ["--quiet"]);
      await p.waitFor(/mqtt\s+online/, 40_000);
      expect(await leave(p, () => p.kill(signal))).toBeLessThan(2_000);
      expect(p.stdout).toContain(`stopping (${name})`);
      await disconnectedCleanly(device);
    });
  }

  it("--duration: stops on time, DISCONNECT sent, exit 0 within 2 s of the duration", async () => {
    const p = board("exit-duration", ["--quiet", "--duration", "8"]);
    await p.waitFor(/mqtt\s+online/, 40_000);
    const exit = await p.exited;
    expect(exit.code, p.text).toBe(0);
    // The duration counts from the start of the process, before its first line.
    expect(exit.at - p.firstOutputAt).toBeLessThan(8_000 + 2_000);
    expect(p.stdout).toContain("stopping (--duration 8)");
    await disconnectedCleanly("exit-duration");
  });

  it("a reader that closes stdout: the board shuts down cleanly, no stack trace", async () => {
    const p = board("exit-stdout");
    await p.waitFor(/mqtt\s+online/, 40_000, "stdout");
    // The reader goes away; the next line the board prints meets a closed pipe.
    const at = Date.now();
    p.child.stdout.destroy();
    p.type("status");
    const exit = await p.exited;
    expect(exit.code, p.text).toBe(0);
    expect(exit.at - at).toBeLessThan(2_000);
    expect(p.stderr).toBe("");
    await disconnectedCleanly("exit-stdout");
  });
});
