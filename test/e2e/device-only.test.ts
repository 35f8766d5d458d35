/*
 * `onenet-led run --broker` against a broker that admits only the device, as OneNET does: a login gate
 * (test/helpers/device-gate.ts) in front of a real Mosquitto that refuses every login but the device's
 * with CONNACK 5, or with CONNACK 9 (not an MQTT 3.1.1 code; a broker may still send it). The board
 * comes online, the simulator opens no other connection there, and at the end the device's
 * DISCONNECT reaches Mosquitto; a console login the broker refuses is a clear one-line error.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED_DEVICE } from "../../host-sim/sim.js";
import { startCli, type CliProcess } from "../helpers/cli.js";
import { startDeviceGate, type DeviceGate } from "../helpers/device-gate.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";

let mosquitto: Mosquitto;
let gate5: DeviceGate;
let gate9: DeviceGate;
const started: CliProcess[] = [];

beforeAll(async () => {
  mosquitto = await startMosquitto({ extraConfig: ["log_type all"] });
  const upstream = { host: mosquitto.host, port: mosquitto.port };
  gate5 = await startDeviceGate({ upstream, device: SEED_DEVICE, refuseWith: 5 });
  gate9 = await startDeviceGate({ upstream, device: SEED_DEVICE, refuseWith: 9 });
});

afterAll(async () => {
  for (const p of started) p.kill("SIGKILL");
  await gate5?.close();
  await gate9?.close();
  await mosquitto?.dispose();
});

function cli(args: string[]): CliProcess {
  const p = startCli(args);
  started.push(p);
  return p;
}

const disconnects = () => mosquitto.output.split("\n").filter((line) => line.includes(`Received DISCONNECT from ${SEED_DEVICE.deviceName}`)).length;

describe("a broker that admits only the device", () => {
  it("run --broker --duration 20: online with no other login, DISCONNECT at the end, exit 0 within 2 s of the duration", { timeout: 60_000 }, async () => {
    const before = disconnects();
    const p = cli(["run", "--broker", `127.0.0.1:${gate5.port}`, "--duration", "20", "--no-dashboard", "--quiet"]);
    await p.waitFor(/mqtt\s+online/, 40_000);
    // The banner says what the console cannot do, before any line of the board's.
    expect(p.stdout.split("\n")[0]).toMatch(/^onenet-led simulator: device test1/);
    expect(p.stdout).toMatch(/cloud console: none \(set, set desired, toggle and get are off\)/);
    p.type("on");
    await p.waitFor(/on: not available: the broker is given only the device's login/, 5_000);
    const exit = await p.exited;
    expect(exit.code, p.text).toBe(0);
    expect(exit.at - p.firstOutputAt).toBeLessThan(20_000 + 2_000);
    expect(gate5.refused).toEqual([]);
    expect(gate5.admitted).toEqual([SEED_DEVICE.deviceName]);
    expect(disconnects()).toBe(before + 1);
    expect(p.stderr).toBe("");
  });

  it("run --demo --broker: the steps that need a console are skipped and said to be; the rest pass; DISCONNECT; exit 0", { timeout: 90_000 }, async () => {
    const before = disconnects();
    const p = cli(["run", "--demo", "--broker", `127.0.0.1:${gate9.port}`, "--quiet"]);
    const passed = await p.waitFor(/demo passed: .*\n/, 80_000);
    const passedAt = Date.now();
    expect(passed).toMatch(/demo passed: 5 steps .*\(3 skipped: they need a cloud console login/);
    expect(p.stdout).toMatch(/demo step 4\/8 skipped \(no cloud console login on this broker\)/);
    const exit = await p.exited;
    expect(exit.code, p.text).toBe(0);
    expect(exit.at - passedAt).toBeLessThan(2_000);
    expect(gate9.refused).toEqual([]);
    expect(disconnects()).toBe(before + 1);
  });

  for (const [code, meaning] of [
    [5, "CONNACK 5 (not authorized)"],
    [9, "CONNACK 9 (not a return code MQTT 3.1.1 defines (1..5): the broker refuses this login)"],
  ] as const) {
    it(`a console login it refuses with CONNACK ${code}: one clear line, exit 1, no stack trace`, async () => {
      const gate = code === 5 ? gate5 : gate9;
      const p = cli(["run", "--broker", `127.0.0.1:${gate.port}`, "--cloud-user", "console", "--cloud-password", "s3cret-pw", "--no-dashboard"]);
      const exit = await p.exited;
      expect(exit.code).toBe(1);
      expect(p.stderr.trim()).toBe(`onenet-led run: the broker at 127.0.0.1:${gate.port} refused the cloud console's login: ${meaning}`);
      expect(p.stdout).toBe("");
      expect(p.text).not.toContain("s3cret-pw");
      expect(gate.refused.some((id) => id.startsWith("onenet-led-cloud-")), gate.refused.join()).toBe(true);
    });
  }
});
