/*
 * TLS end to end: the firmware, through the emulated ESP8266, to the OneNET-compatible broker
 * serving TLS on loopback with a certificate from a CA made at test time (openssl, temp dir).
 *
 * (a) the SSL link carries the whole session (LED set and its reply) on both dialects without
 *     verification, and on both with verification against the CA flashed into the module;
 * (b) another CA flashed and verification on: refused, named (tls-connect-failed), never online,
 *     nothing thrown, no secret in any event or log line;
 * (c) verification on a module whose AT firmware lacks AT+CIPSSLCCONF: tls-verify-unsupported,
 *     and no SSL connection is ever attempted.
 *
 * Real time (board time follows the wall clock), as with the other real-socket tests: a TLS
 * handshake and a broker answer take real milliseconds that virtual steps would run past. The
 * cases run at the same time, one device name each.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OneNetBroker } from "../../host-sim/broker/onenet-broker.js";
import { EmbeddedCloud } from "../../host-sim/cloud.js";
import type { Dialect } from "../../host-sim/esp8266/emulator.js";
import { DEFAULT_WIFI, SEED_DEVICE, Simulation } from "../../host-sim/sim.js";
import { makePki, type Pki } from "../emulator/certs.js";

let pki: Pki;
let broker: OneNetBroker;
let port = 0;
/** CONNACKs the broker sent, per device name. */
const connacks = new Map<string, number>();
const DEVICES = ["tls-a", "tls-b", "tls-c", "tls-d", "tls-e", "tls-f", "tls-g", "tls-h"];
/** A second TLS listener of the same broker, with a certificate for other.example only. */
let otherNamePort = 0;
const bump = (m: Map<string, number>, k: string | undefined) => k && m.set(k, (m.get(k) ?? 0) + 1);

beforeAll(async () => {
  pki = makePki();
  // One device per board: the boards run at the same time and must not take over each other's
  // session or share OneNET's login rate limit.
  broker = new OneNetBroker({ devices: DEVICES.map((deviceName) => ({ productId: SEED_DEVICE.productId, deviceName, key: SEED_DEVICE.key })) });
  port = await broker.listen(0, "127.0.0.1", { key: pki.server.key, cert: pki.server.cert });
  otherNamePort = await broker.listen(0, "127.0.0.1", { key: pki.wrongName.key, cert: pki.wrongName.cert });
  broker.onEvent((e) => {
    if (e.type === "connack") bump(connacks, e.deviceName);
  });
});

afterAll(async () => {
  await broker?.close();
  pki?.cleanup();
});

async function board(
  deviceName: string,
  dialect: Dialect,
  tlsVerify: boolean,
  module: { caPem?: string; sslClientConf?: boolean },
  config: Record<string, unknown> = { port },
): Promise<Simulation> {
  const sim = await Simulation.create({
    mode: "real",
    dialect,
    deviceName,
    broker: { host: "127.0.0.1", port: Number(config["port"]) },
    cloud: new EmbeddedCloud(broker, SEED_DEVICE.productId, deviceName),
    config: { tls: true, tlsVerify, ...config },
    module,
    keepaliveS: 60,
  });
  const states: string[] = [];
  linkStates.set(sim, states);
  sim.emulator.onEvent = (e) => {
    if (e.type === "link") states.push(e.state);
  };
  sim.start();
  return sim;
}

const linkStates = new WeakMap<Simulation, string[]>();

/** Real time: board time follows the wall clock, as real sockets and a real handshake need. */
async function until(predicate: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

function trail(sim: Simulation): string {
  const lines = sim.events.filter((e) => e.type !== "uart").slice(-30).map((e) => JSON.stringify(e));
  return `board time ${sim.clock.now()}\n${lines.join("\n")}\nbroker: ${broker.history.slice(-10).map((e) => JSON.stringify({ ...e, bytes: undefined })).join("\n")}`;
}

function secretsIn(sim: Simulation): string[] {
  const text = JSON.stringify(sim.events.filter((e) => e.type !== "uart"));
  return [DEFAULT_WIFI.password, SEED_DEVICE.key, "sign=", "version=2018-10-31"].filter((s) => text.includes(s));
}

async function ledRoundTrip(sim: Simulation): Promise<void> {
  for (const on of [true, false]) {
    const id = await sim.setLed(on);
    expect(await until(() => sim.ledOn === on && sim.replyTo(id) !== undefined, 10_000)).toBe(true);
    expect(sim.replyTo(id)?.json).toMatchObject({ id, code: 200 });
  }
}

const tcpDownWith = (sim: Simulation, name: string) =>
  sim.events.filter((e) => e.type === "link" && e.layer === "tcp" && e.state === "down" && e.detail.includes(name)).length;

describe.concurrent("TLS to a broker with a CA made at test time", () => {
  const cases: Array<[string, Dialect, boolean]> = [
    ["tls-a", "1.7", false],
    ["tls-b", "2.x", false],
    ["tls-c", "2.x", true],
    ["tls-d", "1.7", true],
  ];
  for (const [device, dialect, verify] of cases) {
    it(`${dialect}, ${verify ? "verified against the flashed CA" : "no verification"}: online over SSL, LED sets work`, async () => {
      const sim = await board(device, dialect, verify, { caPem: pki.ca.cert });
      try {
        expect(await until(() => sim.online, 40_000), trail(sim)).toBe(true);
        expect(connacks.get(device)).toBeGreaterThanOrEqual(1);
        expect(sim.device.driver.dialect).toBe(dialect);
        expect(sim.emulator.state.links).toMatchObject([{ type: "SSL", host: "mqttstls.heclouds.com", port, state: "open" }]);
        expect(sim.emulator.state.sslConf).toBe(verify ? 2 : 0);
        expect(sim.emulator.stats.commands["AT+CIPSSLCCONF"]).toBeGreaterThanOrEqual(1);
        await ledRoundTrip(sim);
        expect(sim.clock.errors).toEqual([]);
        expect(secretsIn(sim)).toEqual([]);
      } finally {
        await sim.close();
      }
    }, 60_000);
  }

  for (const [device, dialect] of [["tls-e", "2.x"], ["tls-f", "1.7"]] as const) {
    it(`${dialect}: verification with a CA that did not sign the server: refused and named, never online, nothing thrown, no secret shown`, async () => {
      const sim = await board(device, dialect, true, { caPem: pki.otherCa.cert });
      try {
        expect(await until(() => tcpDownWith(sim, "tls-connect-failed") >= 2, 40_000), trail(sim)).toBe(true);
        expect(sim.online).toBe(false);
        expect(sim.device.driver.lastError).toBe("tls-connect-failed");
        expect(sim.events.some((e) => e.type === "log" && e.message.includes("tls-connect-failed"))).toBe(true);
        // Every attempt failed in the handshake: the module never opened a link, the broker never
        // answered a CONNECT for this device.
        expect(linkStates.get(sim)!.filter((s) => s === "open")).toEqual([]);
        expect(linkStates.get(sim)!.filter((s) => s === "failed").length).toBeGreaterThanOrEqual(2);
        expect(connacks.get(device)).toBeUndefined();
        expect(sim.events.some((e) => e.type === "link" && e.layer === "mqtt" && e.state === "online")).toBe(false);
        expect(sim.clock.errors).toEqual([]);
        expect(sim.events.filter((e) => e.type === "error" && (e.code === "internal-error" || e.code === "handler-failed"))).toEqual([]);
        expect(secretsIn(sim)).toEqual([]);
      } finally {
        await sim.close();
      }
    }, 60_000);
  }

  it("2.x, broker given as an address, tlsServerName names its certificate: SNI and name check use it", async () => {
    const sim = await board("tls-h", "2.x", true, { caPem: pki.ca.cert }, { host: "127.0.0.1", port: otherNamePort, tlsServerName: "other.example" });
    try {
      expect(await until(() => sim.online, 40_000), trail(sim)).toBe(true);
      expect(sim.emulator.state).toMatchObject({ sslConf: 2, sslSni: "other.example", sslCn: "other.example" });
      expect(sim.emulator.state.links).toMatchObject([{ type: "SSL", host: "127.0.0.1", port: otherNamePort, state: "open" }]);
      await ledRoundTrip(sim);
      expect(secretsIn(sim)).toEqual([]);
    } finally {
      await sim.close();
    }
  }, 60_000);

  it("1.7 build without AT+CIPSSLCCONF and verification on: tls-verify-unsupported, no SSL link ever tried", async () => {
    const sim = await board("tls-g", "1.7", true, { caPem: pki.ca.cert, sslClientConf: false });
    try {
      expect(await until(() => tcpDownWith(sim, "tls-verify-unsupported") >= 2, 40_000), trail(sim)).toBe(true);
      expect(sim.online).toBe(false);
      expect(sim.device.driver.lastError).toBe("tls-verify-unsupported");
      expect(sim.emulator.stats.commands["AT+CIPSTART"] ?? 0).toBe(0);
      expect(linkStates.get(sim)).toEqual([]);
      expect(connacks.get("tls-g")).toBeUndefined();
      expect(sim.clock.errors).toEqual([]);
      expect(secretsIn(sim)).toEqual([]);
    } finally {
      await sim.close();
    }
  }, 60_000);
});
