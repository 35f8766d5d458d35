/*
 * The console of `onenet-led run` at a real terminal: the CLI runs under `script` (util-linux), which
 * gives it a pseudo-terminal as a user's shell would, and the test types into it, Ctrl-C included (the
 * byte 0x03, as the keyboard sends it). Then the back-off explanation, against a port nobody listens on.
 */
import { spawn } from "node:child_process";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, startCli } from "../helpers/cli.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";

let mosquitto: Mosquitto;

beforeAll(async () => {
  mosquitto = await startMosquitto();
});

afterAll(async () => {
  await mosquitto?.dispose();
});

/** The CLI on a pseudo-terminal: what it prints (escape sequences removed), keys typed, its exit. */
function atTerminal(args: string[]) {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
  let raw = "";
  child.stdout.on("data", (chunk: Buffer) => (raw += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (raw += chunk.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on("exit", (code) => resolve({ code, at: Date.now() })));
  // eslint-disable-next-line no-control-regex
  const text = () => raw.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replace(/\r/g, "");
  return {
    text,
    exited,
    keys: (keys: string) => child.stdin.write(keys),
    async waitFor(pattern: RegExp, ms: number): Promise<void> {
      const deadline = Date.now() + ms;
      while (!pattern.test(text())) {
        if (Date.now() > deadline) throw new Error(`nothing like ${pattern} after ${ms} ms:\n${text()}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    kill: () => child.kill("SIGKILL"),
  };
}

describe("the console at a terminal", () => {
  it("banner first, a prompt, commands in any case; a set while offline fails as OneNET says, a desired value waits; Ctrl-C quits cleanly", { timeout: 60_000 }, async () => {
    const t = atTerminal(["run", "--no-dashboard", "--quiet"]);
    try {
      await t.waitFor(/onenet-led> /, 20_000);
      expect(t.text().split("\n")[0]).toMatch(/^onenet-led simulator: device test1 of product L14FCC38pq, broker embedded/);
      // The device is still booting: OneNET refuses a set to it, and keeps nothing.
      t.keys("ON\r");
      await t.waitFor(/cloud: property\/set led=true failed: device not online \(OneNET delivers a set only to an online device; a desired value \("set desired on\|off"\) is kept/, 5_000);
      // A desired value is what waits for it.
      t.keys("Set  Desired ON\r");
      await t.waitFor(/cloud: desired led=true set \(version 1\): the device applies it when it next comes online, then deletes it/, 5_000);
      await t.waitFor(/LED ON/, 30_000);
      t.keys("StAtUs\r");
      await t.waitFor(/LED on; wifi up, tcp up, mqtt online/, 5_000);
      t.keys("set off\r");
      await t.waitFor(/cloud: property\/set led=false sent \(id \d+\)/, 5_000);
      await t.waitFor(/LED OFF/, 10_000);
      t.keys("Help\r");
      await t.waitFor(/commands: set on\|off \(or on\|off\), set desired on\|off, toggle, get, wifi-drop, tcp-close, reset-module, broker-restart, status, quit/, 5_000);
      t.keys("Wifi-Drop\r");
      await t.waitFor(/fault: wifi-drop/, 5_000);
      const at = Date.now();
      t.keys("\x03");
      const exit = await t.exited;
      expect(exit.code, t.text()).toBe(0);
      expect(exit.at - at).toBeLessThan(2_000);
      expect(t.text()).toMatch(/stopping \(Ctrl-C\)[\s\S]*mqtt\s+stopped[\s\S]*stopped\n?$/);
      expect(t.text()).not.toMatch(/\n\s+at /);
    } finally {
      t.kill();
    }
  });

  it("without a console login on an external broker, the prompt and help say what it cannot do", { timeout: 60_000 }, async () => {
    const t = atTerminal(["run", "--broker", `127.0.0.1:${mosquitto.port}`, "--no-dashboard", "--quiet"]);
    try {
      await t.waitFor(/onenet-led \(device only\)> /, 20_000);
      t.keys("help\r");
      await t.waitFor(/commands: wifi-drop, tcp-close, reset-module, status, quit\n.*--cloud-user and --cloud-password/, 5_000);
      t.keys("toggle\r");
      await t.waitFor(/toggle: not available: the broker is given only the device's login/, 5_000);
      t.keys("quit\r");
      expect((await t.exited).code, t.text()).toBe(0);
    } finally {
      t.kill();
    }
  });
});

describe("the back-off, explained", () => {
  it("one line each time the wait grows: the reason in full the first time, short after", { timeout: 60_000 }, async () => {
    // A port nobody listens on: every CIPSTART fails and the wait grows.
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const p = startCli(["run", "--broker", `127.0.0.1:${port}`, "--no-dashboard", "--quiet", "--duration", "16"]);
    const exit = await p.exited;
    expect(exit.code, p.text).toBe(0);
    const lines = p.stdout.split("\n").filter((line) => line.includes("next try in"));
    expect(lines.length, p.stdout).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toMatch(/mqtt {2}next try in [\d.]+ s: the wait doubles after each failed try, up to 60 s, so a broker that is down is not hammered/);
    expect(lines[1]).toMatch(/next try in [\d.]+ s: the wait doubles after each failed try, up to 60 s$/);
    const waits = lines.map((line) => Number(/next try in ([\d.]+) s/.exec(line)![1]));
    for (let i = 1; i < waits.length; i++) expect(waits[i]).toBeGreaterThan(waits[i - 1]!);
  });
});
