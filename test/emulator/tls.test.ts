/*
 * The emulator's TLS verification (AT+CIPSSLCCONF and the flashed CA) against real loopback TLS
 * servers whose certificates are made at test time (./certs.ts): the right CA connects, another
 * CA (or none flashed) is refused with the module's answer, no verification takes anything, and
 * the name check that 2.x makes and 1.7 does not.
 */
import net from "node:net";
import tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NodeNetwork } from "../../host-sim/network.js";
import { makePki, type KeyPair, type Pki } from "./certs.js";
import { rig, takeClockErrors } from "./rig.js";

afterEach(() => {
  expect(takeClockErrors()).toEqual([]);
});

const OK = "\r\nOK\r\n";
const ERROR = "\r\nERROR\r\n";
const FINAL = /\r\n(OK|ERROR|FAIL)\r\n/;

let pki: Pki;
const servers: tls.Server[] = [];
let goodPort = 0;
let wrongNamePort = 0;
/** The SNI of each connection the servers accepted. */
const sniSeen: (string | false | null)[] = [];

async function echoServer(pair: KeyPair): Promise<number> {
  const server = tls.createServer({ key: pair.key, cert: pair.cert }, (s) => {
    sniSeen.push(s.servername);
    s.on("data", (d) => s.write(d));
    s.on("error", () => {});
  });
  server.on("tlsClientError", () => {});
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

beforeAll(async () => {
  pki = makePki();
  goodPort = await echoServer(pki.server);
  wrongNamePort = await echoServer(pki.wrongName);
});

afterAll(() => {
  for (const s of servers) s.close();
  pki.cleanup();
});

describe.each(["1.7", "2.x"] as const)("TLS verification, dialect %s", (dialect) => {
  const is17 = dialect === "1.7";
  const refused = is17 ? `${ERROR}CLOSED\r\n` : ERROR;
  const network = () =>
    new NodeNetwork({ dns: { "mqtts.heclouds.com": "127.0.0.1" }, strictDns: true, ports: { 8883: goodPort, 8884: wrongNamePort } });
  const make = (caPem?: string) => {
    const r = rig({ dialect, network: network(), caPem });
    r.ready();
    r.cmd("AT+CIPSSLSIZE=4096");
    r.take();
    return r;
  };
  const start = (port = 8883) => `AT+CIPSTART="SSL","mqtts.heclouds.com",${port}`;

  it("AT+CIPSSLCCONF: set and query in the family's own form", () => {
    const r = rig({ dialect });
    r.boot();
    r.cmd("ATE0");
    expect(r.cmd("AT+CIPSSLCCONF=2")).toBe(OK);
    expect(r.esp.state.sslConf).toBe(2);
    expect(r.cmd("AT+CIPSSLCCONF?")).toBe(is17 ? `+CIPSSLCCONF:2\r\n${OK}` : `+CIPSSLCCONF:0,2,0,0\r\n${OK}`);
    expect(r.cmd("AT+CIPSSLCCONF=4")).toBe(ERROR);
    expect(r.cmd('AT+CIPSSLCCONF="2"')).toBe(ERROR);
    // 2.x takes the optional pki and CA indexes; 1.7 has one argument only.
    expect(r.cmd("AT+CIPSSLCCONF=3,0,0")).toBe(is17 ? ERROR : OK);
    expect(r.cmd("AT+CIPSSLCCONF=0")).toBe(OK);
    expect(r.esp.state.sslConf).toBe(0);
  });

  it("a build without AT+CIPSSLCCONF answers ERROR", () => {
    const r = rig({ dialect, sslClientConf: false });
    r.boot();
    r.cmd("ATE0");
    expect(r.cmd("AT+CIPSSLCCONF=2")).toBe(ERROR);
    expect(r.cmd("AT+CIPSSLCCONF=0")).toBe(ERROR);
  });

  it("verification with the CA that signed the server: the link opens and carries data", async () => {
    const r = make(pki.ca.cert);
    expect(r.cmd("AT+CIPSSLCCONF=2")).toBe(OK);
    expect(await r.cmdUntil(start(), FINAL)).toBe(`CONNECT\r\n${OK}`);
    await r.cmdIo("AT+CIPSEND=4", 20);
    r.write("ping");
    await r.waitFor(/\+IPD,4:ping/);
    expect(r.take()).toContain("+IPD,4:ping");
    expect(r.events.some((e) => e.type === "link" && e.state === "open")).toBe(true);
  });

  it("verification with another CA flashed: the handshake fails, answered as a refused link", async () => {
    const r = make(pki.otherCa.cert);
    expect(r.cmd("AT+CIPSSLCCONF=2")).toBe(OK);
    expect(await r.cmdUntil(start(), FINAL)).toBe(refused);
    const failed = r.events.find((e) => e.type === "link" && e.state === "failed");
    expect(failed && failed.type === "link" ? failed.detail : "").toMatch(/^tls-failed/);
    expect(r.esp.state.links).toEqual([]);
    // Turned off, the same module takes the same server.
    expect(r.cmd("AT+CIPSSLCCONF=0")).toBe(OK);
    expect(await r.cmdUntil(start(), FINAL)).toBe(`CONNECT\r\n${OK}`);
  });

  it("verification with no CA flashed trusts nothing", async () => {
    const r = make(undefined);
    expect(r.cmd("AT+CIPSSLCCONF=2")).toBe(OK);
    expect(await r.cmdUntil(start(), FINAL)).toBe(refused);
  });

  it(`a certificate from the right CA for another name: ${is17 ? "1.7 checks the chain only and connects" : "2.x checks the name and refuses"}`, async () => {
    const r = make(pki.ca.cert);
    expect(r.cmd("AT+CIPSSLCCONF=2")).toBe(OK);
    expect(await r.cmdUntil(start(8884), FINAL)).toBe(is17 ? `CONNECT\r\n${OK}` : refused);
  });

  it(`AT+CIPSSLCSNI / AT+CIPSSLCCN: ${is17 ? "1.7 has neither" : "2.x sends the SNI and checks the certificate against that name"}`, async () => {
    const r = make(pki.ca.cert);
    expect(r.cmd('AT+CIPSSLCSNI="other.example"')).toBe(is17 ? ERROR : OK);
    expect(r.cmd('AT+CIPSSLCCN="other.example"')).toBe(is17 ? ERROR : OK);
    if (is17) return;
    expect(r.cmd("AT+CIPSSLCCN?")).toBe(`+CIPSSLCCN:0,"other.example"\r\n${OK}`);
    expect(r.cmd('AT+CIPSSLCCN=""')).toBe(ERROR);
    expect(r.cmd("AT+CIPSSLCCONF=2")).toBe(OK);
    const seen = sniSeen.length;
    // The certificate for other.example, reached under the name mqtts.heclouds.com: taken, as the
    // name checked is the one set.
    expect(await r.cmdUntil(start(8884), FINAL)).toBe(`CONNECT\r\n${OK}`);
    expect(sniSeen.slice(seen)).toEqual(["other.example"]);
    expect(await r.cmdIo("AT+CIPCLOSE")).toBe(`CLOSED\r\n${OK}`);
    // The right certificate now fails: it does not carry the name set.
    expect(await r.cmdUntil(start(), FINAL)).toBe(refused);
    // A reset forgets both names.
    r.cmd("AT+RST", 1000);
    expect(r.esp.state).toMatchObject({ sslSni: "", sslCn: "" });
  });

  it(`the mode ${is17 ? "is kept in flash across a reset" : "survives a reset with SYSSTORE=1 only"}`, () => {
    const r = rig({ dialect });
    r.boot();
    if (!is17) r.cmd("AT+SYSSTORE=0");
    r.cmd("AT+CIPSSLCCONF=2");
    r.cmd("AT+RST", 1000);
    expect(r.esp.state.sslConf).toBe(is17 ? 2 : 0);
    if (!is17) {
      r.cmd("AT+CIPSSLCCONF=2");
      r.cmd("AT+RST", 1000);
      expect(r.esp.state.sslConf).toBe(2);
    }
  });
});
