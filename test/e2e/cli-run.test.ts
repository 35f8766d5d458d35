import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const cli = new URL("../../bin/onenet-led.js", import.meta.url).pathname;

function run(args: string[]) {
  return spawnSync(process.execPath, [cli, "run", ...args], { encoding: "utf8", timeout: 120_000 });
}

describe("onenet-led run", () => {
  it("--demo runs the scripted scenario and exits 0, printing each step", () => {
    const result = run(["--demo", "--quiet"]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("demo step 1/8");
    expect(result.stdout).toContain("LED ON");
    expect(result.stdout).toContain("LED OFF");
    expect(result.stdout).toMatch(/demo passed: 8 steps/);
  });

  it("--events - writes JSON lines of led, link, publish events with timestamps", () => {
    const result = run(["--demo", "--dialect", "1.7", "--receive-mode", "active", "--events", "-"]);
    expect(result.status, result.stderr).toBe(0);
    const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(events.length).toBeGreaterThan(10);
    for (const event of events) {
      expect(typeof event.t).toBe("number");
      expect(Number.isNaN(Date.parse(event.time))).toBe(false);
    }
    expect(events.filter((e) => e.type === "led").map((e) => e.on)).toEqual([true, false, true]);
    expect(events.some((e) => e.type === "link" && e.layer === "mqtt" && e.state === "online")).toBe(true);
    expect(events.some((e) => e.type === "publish" && e.kind === "set_reply")).toBe(true);
    // The human log went to stderr, not into the JSON stream.
    expect(result.stderr).toContain("demo passed");
  });

  it("rejects bad options with exit 1 and a message naming the option", () => {
    const result = run(["--keepalive", "5"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("--keepalive");
    expect(result.stderr).not.toMatch(/\n\s+at /);
    const broker = run(["--broker", "nowhere"]);
    expect(broker.status).toBe(1);
    expect(broker.stderr).toContain("--broker");
  });

  it("rejects a bad device key without printing it", () => {
    const result = run(["--demo", "--key", "not*base64"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("key");
    expect(result.stderr).not.toContain("not*base64");
  });
});
