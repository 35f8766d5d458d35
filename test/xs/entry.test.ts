/*
 * The firmware's Moddable entry (firmware/main.ts) inside XS: mc/config parsed on the device side,
 * the ECMA-419 board adapter (firmware/moddable/) over stand-ins for `embedded:io/serial`,
 * `embedded:io/digital`, `timer` and `time` wired to the proxy board, against the emulated ESP8266
 * and the embedded broker in virtual time.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_WIFI, Simulation } from "../../host-sim/sim.js";
import type { XsLedDevice } from "../../host-sim/xs/device.js";
import { benchMcConfig, xsDevice } from "../../host-sim/xs/sim-device.js";

let sim: Simulation<XsLedDevice> | undefined;
let xs: XsLedDevice | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  xs = undefined;
});

const PINS = { led: 2, reset: 5 };

function mcConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  // What a manifest's "config" gives (mcconfig overrides arrive as strings).
  return {
    ...benchMcConfig({ receiveMode: "passive", keepalive: "120", uartPort: "1", uartReceive: "16", uartTransmit: "17" }),
    ledPin: String(PINS.led),
    rstPin: String(PINS.reset),
    ...extra,
  };
}

async function bootEntry(extra: Record<string, unknown> = {}): Promise<Simulation<XsLedDevice>> {
  // The entry builds its own config from mc/config: the bench's config and observer stay unused.
  const s = await Simulation.create({ wallClockStart: 1_763_800_000_000, seed: 4 }, xsDevice({ entry: { config: mcConfig(extra), pins: PINS } }));
  sim = s;
  xs = s.device;
  return s;
}

async function setAndWait(s: Simulation<XsLedDevice>, on: boolean): Promise<Record<string, unknown>> {
  const id = await s.setLed(on);
  expect(await s.runUntil(() => s.replyTo(id) !== undefined, 10_000), `set_reply for ${id}`).toBe(true);
  return s.replyTo(id)!.json as Record<string, unknown>;
}

describe("the Moddable entry inside XS", () => {
  it("boots from mc/config through the ECMA-419 adapter, comes online and obeys the cloud", async () => {
    const s = await bootEntry();
    s.start();
    expect(await s.runUntil(() => s.online, 120_000)).toBe(true);
    expect(s.board.logLines.map((l) => l.message)).toContain("info: onenet-led started");
    expect(await setAndWait(s, true)).toMatchObject({ code: 200, msg: "success" });
    expect(s.ledOn).toBe(true);
    expect(await setAndWait(s, false)).toMatchObject({ code: 200 });
    expect(s.ledOn).toBe(false);
    expect(s.clock.errors).toEqual([]);
  });

  it("recovers from a module reset and a TCP close with the adapter's timers", async () => {
    const s = await bootEntry();
    s.start();
    expect(await s.runUntil(() => s.online, 120_000)).toBe(true);
    for (const fault of [() => s.resetModule(), () => s.tcpClose()]) {
      const connacks = xs!.client.stats.connacks;
      fault();
      expect(await s.runUntil(() => s.online && xs!.client.stats.connacks > connacks, 300_000)).toBe(true);
    }
    expect(await setAndWait(s, true)).toMatchObject({ code: 200 });
    expect(s.clock.errors).toEqual([]);
  });

  it("stops at a bad mc/config key with one line naming it, never the secret, and blinks code 2 repeating the line", async () => {
    const s = await bootEntry({ key: "not base64 at all!" });
    expect(() => s.start()).toThrow(/did not start a device/);
    const lines = () => s.board.logLines.map((l) => l.message);
    expect(lines().join("\n")).toMatch(/^fatal: config-refused: config "key": .*\(the LED blinks 2 times, then pauses\)$/m);
    // The entry's blink timers keep running in XS: two pulses, a pause, again; the line each cycle.
    s.clock.advance(2 * 2200 - 1);
    const lit = s.board.led.history.filter((h) => h.level === 1).map((h) => h.time);
    expect(lit).toEqual([0, 500, 2200, 2700].map((t) => t + lit[0]));
    expect(lines().filter((l) => l.startsWith("fatal: config-refused"))).toHaveLength(2);
    expect(lines().join("\n")).not.toContain("not base64 at all!");
    expect(lines().join("\n")).not.toContain(DEFAULT_WIFI.password);
  });
});
