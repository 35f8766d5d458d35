/*
 * `onenet-led run --serial`: the firmware on the PC drives an ESP8266 on a real serial port. In CI
 * the "module" is the emulator on the far end of a socat pseudo-terminal pair, reaching a real
 * Mosquitto; the CLI's cloud console switches the LED through that broker. A port that does not
 * exist is an error at once; a port that goes away (socat ended: the adapter unplugged) is
 * reported within a second.
 */
import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { emulatorOnDevice, type EmulatorDevice } from "../../host-sim/serial/emulator-device.js";
import { ptyPair, type PtyPair } from "../../host-sim/serial/pty-pair.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";
import { startCli } from "../helpers/cli.js";

const cli = new URL("../../bin/onenet-led.js", import.meta.url).pathname;
let pair: PtyPair | undefined;
let module: EmulatorDevice | undefined;
let mosquitto: Mosquitto | undefined;

afterAll(async () => {
  await module?.close();
  pair?.close();
  await mosquitto?.dispose();
});

describe("onenet-led run --serial", () => {
  it("brings a module on a serial port online and switches the LED from the cloud console", async () => {
    mosquitto = await startMosquitto();
    pair = await ptyPair();
    module = await emulatorOnDevice(pair.a, { dialect: "1.7", accessPoints: [{ ssid: "lab", password: "lab-password" }] });
    const child = spawn(
      process.execPath,
      [cli, "run", "--serial", pair.b, "--baud", "115200", "--broker", `127.0.0.1:${mosquitto.port}`, "--cloud-user", "console", "--ssid", "lab", "--password", "lab-password", "--events", "-", "--duration", "60"],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    const events: { type: string; [key: string]: unknown }[] = [];
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) if (line.trim()) events.push(JSON.parse(line));
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const until = async (predicate: () => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!predicate() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      return predicate();
    };
    try {
      expect(await until(() => events.some((e) => e.type === "link" && e.layer === "mqtt" && e.state === "online"), 40_000), stderr).toBe(true);
      child.stdin.write("on\n");
      expect(await until(() => events.some((e) => e.type === "led" && e.on === true), 15_000), stderr).toBe(true);
      expect(await until(() => events.some((e) => e.type === "publish" && e.kind === "set_reply"), 15_000), stderr).toBe(true);
      child.stdin.write("off\n");
      expect(await until(() => events.some((e) => e.type === "led" && e.on === false), 15_000), stderr).toBe(true);
      child.stdin.write("quit\n");
      expect(await exited).toBe(0);
      // The password went to the module (it joined), never to the output.
      expect(stderr + JSON.stringify(events)).not.toContain("lab-password");
    } finally {
      child.kill();
    }
  });

  it("a port that does not exist: exit 1 at once, naming the port and the reason", async () => {
    const started = Date.now();
    const p = startCli(["run", "--serial", "/dev/onenet-led-no-such-port", "--no-dashboard"]);
    const exit = await p.exited;
    expect(exit.code).toBe(1);
    // Well before the firmware's first AT timeout: nothing was started.
    expect(exit.at - started).toBeLessThan(5_000);
    expect(p.stderr.trim()).toBe("onenet-led run: cannot open serial port /dev/onenet-led-no-such-port: no such device (is the adapter plugged in? `ls /dev/tty*` lists the ports)");
    expect(p.stdout).toBe("");
  });

  it("a port that goes away while running: reported within a second, the link shown down", async () => {
    const unplug = await ptyPair();
    const far = await emulatorOnDevice(unplug.a, { dialect: "2.x", accessPoints: [{ ssid: "lab", password: "lab-password" }] });
    const p = startCli(["run", "--serial", unplug.b, "--ssid", "lab", "--password", "lab-password", "--no-dashboard", "--quiet", "--events", "-"]);
    try {
      await p.waitFor(/"layer":"wifi","state":"up"/, 40_000, "stdout");
      const at = Date.now();
      await far.close();
      await unplug.close();
      await p.waitFor(/"code":"serial-closed"/, 5_000, "stdout");
      const reportedAt = Date.now();
      expect(reportedAt - at).toBeLessThan(1_000);
      await p.waitFor(/"layer":"wifi","state":"down","detail":"serial port closed"/, 1_000, "stdout");
      expect(p.stderr).toContain(`serial: serial port ${unplug.b} closed: the device is gone (adapter unplugged?)`);
      p.type("quit");
      const exit = await p.exited;
      expect(exit.code, p.text).toBe(0);
    } finally {
      p.kill("SIGKILL");
    }
  });
});
