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
      // Board time in whole milliseconds: no float noise (537.3472222222216) in a machine format.
      expect(Number.isInteger(event.t), JSON.stringify(event)).toBe(true);
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

  it("--broker errors read like the rest: an unknown host, a port out of range, a port that is not a number", () => {
    const unknown = run(["--broker", "no-such-host.invalid:1883", "--duration", "1"]);
    expect(unknown.status).toBe(1);
    // "cannot look up" where the machine has no DNS server at all (EAI_AGAIN).
    expect(unknown.stderr.trim()).toMatch(/^onenet-led run: --broker no-such-host\.invalid:1883: (unknown host|cannot look up) "no-such-host\.invalid"/);
    const range = run(["--broker", "h:99999"]);
    expect(range.stderr.trim()).toBe("onenet-led run: --broker h:99999: port 99999 is out of range (1..65535) (see onenet-led run --help)");
    const word = run(["--broker", "h:mqtt"]);
    expect(word.stderr.trim()).toBe('onenet-led run: --broker h:mqtt: the port must be a number, got "mqtt" (see onenet-led run --help)');
    for (const r of [unknown, range, word]) {
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).not.toMatch(/\n\s+at |getaddrinfo|ENOTFOUND/);
    }
  });

  it("--demo --quiet | head: the output ends without a stack trace (EPIPE), exit 0", () => {
    const result = spawnSync("bash", ["-c", `set -o pipefail; "${process.execPath}" "${cli}" run --demo --quiet | head -2`], { encoding: "utf8", timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n")).toHaveLength(2);
    expect(result.stderr).toBe("");
  });

  it("rejects a bad device key without printing it", () => {
    const result = run(["--demo", "--key", "not*base64"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("key");
    expect(result.stderr).not.toContain("not*base64");
  });
});
