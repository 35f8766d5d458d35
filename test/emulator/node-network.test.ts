/*
 * The emulator against real loopback sockets (NodeNetwork): a TCP echo server, a TLS echo server
 * with a certificate for mqtts.heclouds.com from a CA made at test time (./certs.ts), the DNS map, the
 * port map, refused ports and names that do not resolve.
 */
import net from "node:net";
import tls from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NodeNetwork, netErrorCode } from "../../host-sim/network.js";
import { makePki, type Pki } from "./certs.js";
import { rig, takeClockErrors } from "./rig.js";

afterEach(() => {
  expect(takeClockErrors()).toEqual([]);
});

const OK = "\r\nOK\r\n";
const ERROR = "\r\nERROR\r\n";
/** A final result: the end of a command's answer. */
const FINAL = /\r\n(OK|ERROR|FAIL)\r\n/;

let pki: Pki;
let tcpServer: net.Server;
let tlsServer: tls.Server;
let tcpPort = 0;
let tlsPort = 0;
let closedPort = 0;
const tcpReceived: number[] = [];

beforeAll(async () => {
  tcpServer = net.createServer((s) => {
    s.on("data", (d) => {
      tcpReceived.push(...d);
      s.write(d);
    });
    s.on("error", () => {});
  });
  pki = makePki();
  tlsServer = tls.createServer({ key: pki.server.key, cert: pki.server.cert }, (s) => {
    s.on("data", (d) => s.write(d));
    s.on("error", () => {});
  });
  await new Promise<void>((resolve) => tcpServer.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => tlsServer.listen(0, "127.0.0.1", resolve));
  tcpPort = (tcpServer.address() as net.AddressInfo).port;
  tlsPort = (tlsServer.address() as net.AddressInfo).port;
  // A port that was just free: nothing listens there.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});

afterAll(() => {
  tcpServer.close();
  tlsServer.close();
  pki.cleanup();
});

describe.each(["1.7", "2.x"] as const)("NodeNetwork, dialect %s", (dialect) => {
  const is17 = dialect === "1.7";
  const tail = is17 ? "" : "\r\n";
  const make = () => {
    const network = new NodeNetwork({
      dns: { "mqtts.heclouds.com": "127.0.0.1", "echo.test": "127.0.0.1" },
      strictDns: true,
      ports: { 8883: tlsPort, 7: tcpPort },
      tls: { ca: pki.ca.cert },
    });
    const r = rig({ dialect, network });
    r.ready();
    return r;
  };

  it("TCP through the DNS and port maps to a loopback echo server", async () => {
    const r = make();
    const before = tcpReceived.length;
    expect(await r.cmdUntil('AT+CIPSTART="TCP","echo.test",7', FINAL)).toBe(`CONNECT\r\n${OK}`);
    expect(await r.cmdIo("AT+CIPSTATUS")).toMatch(/^STATUS:3\r\n\+CIPSTATUS:0,"TCP","127\.0\.0\.1",7,\d+,0\r\n\r\nOK\r\n$/);
    r.take();
    r.write("AT+CIPSEND=6\r\n");
    await r.pump(20);
    r.take();
    r.write("\r\nOK\r\n");
    await r.waitFor(/\+IPD,6:\r\nOK\r\n/);
    expect(r.take()).toBe(`\r\nRecv 6 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,6:\r\nOK\r\n${tail}`);
    expect(tcpReceived.slice(before)).toEqual([13, 10, 79, 75, 13, 10]);
    expect(await r.cmdIo("AT+CIPCLOSE")).toBe(`CLOSED\r\n${OK}`);
  });

  it("SSL to mqtts.heclouds.com (mapped to 127.0.0.1); no AT+CIPSSLCCONF, so any certificate is taken", async () => {
    const r = make();
    if (is17) expect(await r.cmdIo("AT+CIPSSLSIZE=4096")).toBe(OK);
    expect(await r.cmdUntil('AT+CIPSTART="SSL","mqtts.heclouds.com",8883', FINAL)).toBe(`CONNECT\r\n${OK}`);
    await r.cmdIo("AT+CIPSEND=4", 20);
    r.write("ping");
    await r.waitFor(/\+IPD,4:ping/);
    expect(r.take()).toBe(`\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,4:ping${tail}`);
  });

  it("refused port and unknown name", async () => {
    const network = new NodeNetwork({ dns: { "echo.test": "127.0.0.1" }, strictDns: true, ports: { 7: closedPort } });
    const r = rig({ dialect, network });
    r.ready();
    expect(await r.cmdUntil('AT+CIPSTART="TCP","echo.test",7', FINAL)).toBe(is17 ? `${ERROR}CLOSED\r\n` : ERROR);
    expect(await r.cmdUntil('AT+CIPSTART="TCP","nowhere.test",7', FINAL)).toBe(is17 ? `DNS Fail\r\n${ERROR}` : ERROR);
  });

  it("a server that closes is reported as CLOSED", async () => {
    const server = net.createServer((s) => setTimeout(() => s.end(), 5));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    const r = rig({ dialect, network: new NodeNetwork() });
    r.ready();
    r.write(`AT+CIPSTART="TCP","127.0.0.1",${port}\r\n`);
    await r.waitFor(/CLOSED\r\n/);
    expect(r.take()).toBe(`CONNECT\r\n${OK}CLOSED\r\n`);
    server.close();
  });
});

describe("NodeNetwork errors", () => {
  it("names its errors with a code", async () => {
    const network = new NodeNetwork({ tls: { rejectUnauthorized: true } });
    const outcome = (host: string, port: number, tlsOn: boolean) =>
      new Promise<string | undefined>((resolve) => {
        network.connect({ host, port, tls: tlsOn }, { onConnect() {}, onData() {}, onClose: (e) => resolve(e) });
      });
    expect(netErrorCode(await outcome("127.0.0.1", closedPort, false))).toBe("refused");
    // The test certificate is not trusted without its CA.
    expect(netErrorCode(await outcome("127.0.0.1", tlsPort, true))).toBe("tls-failed");
    expect(netErrorCode(undefined)).toBeUndefined();
    expect(netErrorCode("dns-failed: x")).toBe("dns-failed");
  });
});
