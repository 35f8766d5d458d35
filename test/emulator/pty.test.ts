/*
 * A real serial line: a socat pty pair, the ESP8266 emulator on one end (emulatorOnDevice), the
 * board's SerialPort over the npm `serialport` package on the other (SerialPortBoardSerial), in
 * real time. First raw AT commands, then the real AT driver (firmware/at/driver.ts) over the pty
 * to a loopback TCP echo server. socat is required: without it the test fails and says so.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Esp8266Driver } from "../../firmware/at/driver.js";
import type { LinkDownReason, TransportEvents } from "../../firmware/transport.js";
import { RealTimeDriver, VirtualClock } from "../../host-sim/clock.js";
import type { EmulatorDelays } from "../../host-sim/esp8266/emulator.js";
import { NodeNetwork } from "../../host-sim/network.js";
import { SerialPortBoardSerial } from "../../host-sim/serial/board-serial.js";
import type { EmulatorDevice } from "../../host-sim/serial/emulator-device.js";
import { emulatorOnDevice } from "../../host-sim/serial/emulator-device.js";
import type { PtyPair } from "../../host-sim/serial/pty-pair.js";
import { ptyPair, SOCAT_MISSING } from "../../host-sim/serial/pty-pair.js";

const OK = "\r\nOK\r\n";
/** Real time: keep the module's latencies short so the test is quick. */
const FAST: Partial<EmulatorDelays> = { ready: 60, bootNoise: 5, wifiConnected: 40, gotIp: 30, connect: 20, autoReconnect: 50 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(predicate: () => boolean, limitMs = 5000): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > end) return false;
    await sleep(2);
  }
  return true;
}

let echoServer: net.Server;
let echoPort = 0;
const echoed: number[] = [];

beforeAll(async () => {
  echoServer = net.createServer((s) => {
    s.on("data", (d) => {
      echoed.push(...d);
      s.write(d);
    });
    s.on("error", () => {});
  });
  await new Promise<void>((resolve) => echoServer.listen(0, "127.0.0.1", resolve));
  echoPort = (echoServer.address() as net.AddressInfo).port;
});

afterAll(() => {
  echoServer.close();
});

describe("ptyPair", () => {
  it("fails with a clear message when socat is missing", async () => {
    await expect(ptyPair({ socat: "/nonexistent/socat" })).rejects.toThrow(SOCAT_MISSING);
    expect(SOCAT_MISSING).toMatch(/apt-get install -y socat/);
  });
});

describe.each(["1.7", "2.x"] as const)("over a socat pty pair, dialect %s", (dialect) => {
  let pair: PtyPair | undefined;
  let device: EmulatorDevice | undefined;
  let board: SerialPortBoardSerial | undefined;

  const network = () =>
    new NodeNetwork({ dns: { "mqtts.heclouds.com": "127.0.0.1" }, strictDns: true, ports: { 1883: echoPort } });

  afterAll(async () => {
    await board?.close();
    await device?.close();
    await pair?.close();
  });

  it("answers raw AT commands through the serialport package", async () => {
    pair = await ptyPair();
    device = await emulatorOnDevice(pair.a, { dialect, network: network(), delays: FAST, powerOn: false });
    let rx = "";
    const buf = new Uint8Array(256);
    const port: SerialPortBoardSerial = new SerialPortBoardSerial(
      { path: pair.b, baudRate: 115200 },
      {
        onReadable() {
          for (let n = port.read(buf); n > 0; n = port.read(buf)) rx += String.fromCharCode(...buf.subarray(0, n));
        },
        onWritable() {},
      },
    );
    board = port;
    await port.opened;
    device.emulator.powerOn();
    expect(await until(() => rx.endsWith("\r\nready\r\n"))).toBe(true);
    const cmd = async (line: string, done = /\r\n(OK|ERROR|FAIL)\r\n/) => {
      rx = "";
      const bytes = Uint8Array.from(`${line}\r\n`, (c) => c.charCodeAt(0));
      expect(port.write(bytes)).toBe(bytes.length);
      expect(await until(() => done.test(rx))).toBe(true);
      await sleep(20);
      return rx;
    };
    expect(await cmd("AT")).toBe(`AT\r\n${OK}`);
    expect(await cmd("ATE0")).toBe(`ATE0\r\n${OK}`);
    expect(await cmd("AT+SYSSTORE=0")).toBe(dialect === "1.7" ? "\r\nERROR\r\n" : OK);
    expect(await cmd('AT+CWJAP="onenet-lab","password123"')).toBe(`WIFI CONNECTED\r\nWIFI GOT IP\r\n${OK}`);
    expect(await cmd('AT+CIPSTART="TCP","mqtts.heclouds.com",1883')).toBe(`CONNECT\r\n${OK}`);
    expect(await cmd("AT+CIPSEND=4", />\s?$/)).toBe(dialect === "1.7" ? `${OK}> ` : `${OK}\r\n>`);
    rx = "";
    port.write(Uint8Array.from("ping", (c) => c.charCodeAt(0)));
    expect(await until(() => rx.includes("+IPD,4:ping"))).toBe(true);
    await sleep(20);
    expect(rx).toBe(`\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,4:ping${dialect === "2.x" ? "\r\n" : ""}`);
    expect(await cmd("AT+CIPCLOSE")).toBe(`CLOSED\r\n${OK}`);
    expect(port.stats.overruns).toBe(0);
    await port.close();
    board = undefined;
    await device.close();
    device = undefined;
  });

  it.each(["active", "passive", "transparent"] as const)(
    "carries the real AT driver to a loopback echo server (%s receive)",
    async (receiveMode) => {
      pair ??= await ptyPair();
      device = await emulatorOnDevice(pair.a, { dialect, network: network(), delays: FAST });
      const clock = new VirtualClock();
      const realTime = new RealTimeDriver(clock, 1);
      realTime.startDriving();
      const received: number[] = [];
      const closes: LinkDownReason[] = [];
      let opened = false;
      const events: TransportEvents = {
        onOpen: () => {
          opened = true;
        },
        onData: (bytes, offset, length) => {
          for (let i = 0; i < length; i++) received.push(bytes[offset + i]);
        },
        onClose: (reason) => {
          closes.push(reason);
        },
      };
      let serial: SerialPortBoardSerial | undefined;
      const driver = new Esp8266Driver(
        {
          openSerial: (handlers) => {
            serial = new SerialPortBoardSerial({ path: pair!.b, baudRate: 115200 }, handlers);
            return serial;
          },
          clock,
          log: () => {},
        },
        {
          ssid: "onenet-lab",
          password: "password123",
          host: "mqtts.heclouds.com",
          port: 1883,
          tls: false,
          receiveMode,
        },
      );
      board = undefined;
      try {
        driver.open(events);
        expect(await until(() => opened || closes.length > 0, 20_000)).toBe(true);
        expect(closes).toEqual([]);
        const before = echoed.length;
        const payload = Uint8Array.from({ length: 3000 }, (_, i) => (i * 31 + 7) & 0xff);
        payload.set(Uint8Array.from("\r\nOK\r\nCLOSED\r\n+IPD,5:", (c) => c.charCodeAt(0)), 100);
        let off = 0;
        while (off < payload.length) {
          const n = Math.min(500, payload.length - off);
          if (driver.send(payload, off, n)) off += n;
          else expect(await until(() => driver.sendSpace >= n, 10_000)).toBe(true);
        }
        expect(await until(() => received.length >= payload.length, 20_000)).toBe(true);
        await sleep(50);
        expect(Uint8Array.from(echoed.slice(before))).toEqual(payload);
        expect(Uint8Array.from(received)).toEqual(payload);
        expect(closes).toEqual([]);
        expect(serial!.stats.overruns).toBe(0);
      } finally {
        driver.close();
        await sleep(50);
        realTime.stop();
        await serial?.close();
        await device.close();
        device = undefined;
      }
    },
  );
});
