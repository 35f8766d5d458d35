/*
 * The AT driver inside Moddable's XS engine (xsnap), on the XS board proxy, against the ESP8266
 * emulator on the virtual UART: the same link and the same bytes as on Node, in both dialects and
 * all three receive modes.
 */
import type { Duplex } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Board } from "../../firmware/board.js";
import { VirtualClock } from "../../host-sim/clock.js";
import { Esp8266Emulator } from "../../host-sim/esp8266/emulator.js";
import { MemoryNetwork, pump, pumpUntil } from "../../host-sim/network.js";
import { VirtualUart } from "../../host-sim/uart.js";
import { XsBoardHost } from "../../host-sim/xs/board-host.js";
import { bundleForXs, type XsBundle } from "../../host-sim/xs/bundle.js";
import { XsWorker } from "../../host-sim/xs/worker.js";
import { trickyPayload } from "./harness.js";

interface Summary {
  opens: number;
  closes: string[];
  received: number;
  linkUp: boolean;
  sendSpace: number;
  dialect: string | null;
  stats: { uartBytesRead: number; payloadBytesReceived: number };
}

describe("Esp8266Driver on XS", () => {
  let bundle: XsBundle;
  beforeAll(() => {
    bundle = bundleForXs({ modules: { lab: "test/at/xs/lab.ts" }, allowedRoots: ["firmware", "host-sim/xs", "test/at/xs"] });
  });
  const workers: XsWorker[] = [];
  afterAll(() => {
    for (const w of workers) w.close();
  });

  for (const dialect of ["1.7", "2.x"] as const) {
    for (const mode of ["active", "passive", "transparent"] as const) {
      it(`${dialect} ${mode}: opens, moves bytes exactly both ways, recovers from a module reset`, async () => {
        const clock = new VirtualClock();
        const uart = new VirtualUart(clock, { chunkSize: 16, rxBufferSize: 8192 });
        const network = new MemoryNetwork();
        const atPeer: number[] = [];
        const servers: Duplex[] = [];
        network.listen("mqtts.heclouds.com", 1883, (s) => {
          servers.push(s);
          s.on("data", (c: Buffer) => atPeer.push(...c));
          s.on("error", () => {});
        });
        const esp = new Esp8266Emulator({ clock, uart, dialect, network, accessPoints: [{ ssid: "lab", password: "password1" }] });
        esp.powerOn();
        const board: Board = {
          openSerial: (h) => uart.mcu.open(h),
          led: { write() {} },
          clock,
          log: () => {},
          random: () => 0.5,
        };
        const worker = new XsWorker();
        workers.push(worker);
        worker.evaluate(bundle.code);
        const host = new XsBoardHost(worker, board);
        const options = { ssid: "lab", password: "password1", host: "mqtts.heclouds.com", port: 1883, tls: false, receiveMode: mode, txBufferSize: 2048, rxChunkSize: 256 };
        host.evaluate(`xsHarness.state.lab = xsHarness.modules.lab.start(xsHarness.board(), ${JSON.stringify(options)});`);
        const summary = () => host.evaluateJson<Summary>("xsHarness.state.lab.summary()");
        const opened = await pumpUntil(clock, () => summary().opens > 0 || summary().closes.length > 0, 60_000, { stepMs: 20 });
        if (!opened) throw new Error(`no open: ${JSON.stringify(summary())} ${JSON.stringify(esp.state)} t=${clock.now()} errors=${clock.errors.map(String)}`);
        expect(summary()).toMatchObject({ opens: 1, closes: [], linkUp: true, dialect });

        const out = trickyPayload(1500, 3);
        const hex = Buffer.from(out).toString("hex");
        for (let off = 0; off < hex.length; ) {
          const piece = hex.slice(off, off + 1000);
          // evaluate (not evaluateJson) so the timers the driver arms reach the host board.
          host.evaluate(`xsHarness.state.sent = xsHarness.state.lab.sendHex(${JSON.stringify(piece)});`);
          if (host.evaluateJson<boolean>("xsHarness.state.sent")) off += piece.length;
          else await pump(clock, 20);
        }
        expect(await pumpUntil(clock, () => atPeer.length >= out.length, 30_000, { stepMs: 5 })).toBe(true);
        await pump(clock, 50);
        expect(Buffer.from(atPeer)).toEqual(Buffer.from(out));

        const inc = trickyPayload(1500, 4);
        servers[0].write(Buffer.from(inc));
        expect(await pumpUntil(clock, () => summary().received >= inc.length, 30_000, { stepMs: 5 })).toBe(true);
        expect(host.evaluateJson<string>("xsHarness.state.lab.receivedHex(0)")).toBe(Buffer.from(inc).toString("hex"));
        expect(summary().closes).toEqual([]);
        expect(clock.errors).toEqual([]);

        // A module reset mid-session: reported, then a fresh open works (transparent mode cannot
        // see it, so its session closes by itself, as on Node).
        esp.reset();
        await pump(clock, 2000, { stepMs: 10 });
        if (mode === "transparent") host.evaluate("xsHarness.state.lab.driver.close();");
        expect(await pumpUntil(clock, () => summary().closes.length > 0, 60_000, { stepMs: 10 })).toBe(true);
        expect(summary().closes[0]).toBe(mode === "transparent" ? "closed-by-us" : "module-reset");
        for (let i = 0; i < 4 && summary().opens < 2; i++) {
          const closes = summary().closes.length;
          host.evaluate("xsHarness.state.lab.open();");
          await pumpUntil(clock, () => summary().opens >= 2 || summary().closes.length > closes, 120_000, { stepMs: 10 });
        }
        expect(summary().opens).toBe(2);
        const before = summary().received;
        const again = trickyPayload(300, 5);
        servers.at(-1)!.write(Buffer.from(again));
        expect(await pumpUntil(clock, () => summary().received >= before + 300, 30_000, { stepMs: 5 })).toBe(true);
        expect(host.evaluateJson<string>(`xsHarness.state.lab.receivedHex(${before})`)).toBe(Buffer.from(again).toString("hex"));
        expect(clock.errors).toEqual([]);
      });
    }
  }
});

describe("Esp8266Driver on XS: no heap growth in steady state", () => {
  for (const mode of ["active", "passive", "transparent"] as const) {
    it(`${mode}: 100 packets each way leave the live heap where it was`, async () => {
      const bundle = bundleForXs({ modules: { lab: "test/at/xs/lab.ts" }, allowedRoots: ["firmware", "host-sim/xs", "test/at/xs"] });
      const clock = new VirtualClock();
      const uart = new VirtualUart(clock, { chunkSize: 64, rxBufferSize: 8192 });
      const network = new MemoryNetwork();
      const servers: Duplex[] = [];
      let atPeer = 0;
      network.listen("h", 1883, (s) => {
        servers.push(s);
        s.on("data", (c: Buffer) => (atPeer += c.length));
      });
      const esp = new Esp8266Emulator({ clock, uart, dialect: "2.x", network, accessPoints: [{ ssid: "lab", password: "password1" }] });
      esp.powerOn();
      const board: Board = { openSerial: (h) => uart.mcu.open(h), led: { write() {} }, clock, log: () => {}, random: () => 0.5 };
      const worker = new XsWorker();
      try {
        worker.evaluate(bundle.code);
        const host = new XsBoardHost(worker, board);
        const options = { ssid: "lab", password: "password1", host: "h", port: 1883, tls: false, receiveMode: mode };
        host.evaluate(
          `xsHarness.state.lab = xsHarness.modules.lab.start(xsHarness.board(), ${JSON.stringify(options)}); xsHarness.state.lab.keep = false;`,
        );
        expect(await pumpUntil(clock, () => host.evaluateJson<number>("xsHarness.state.lab.opens") > 0, 60_000, { stepMs: 20 })).toBe(true);
        // Packets from a timer inside XS (a Node-side evaluation per packet would cost XS a heap
        // slot of its own each time).
        host.evaluate("xsHarness.state.lab.autoSend(100, 100, 120);");
        const exchange = async (n: number) => {
          for (let i = 0; i < n; i++) {
            servers[0].write(Buffer.alloc(100, i));
            await pump(clock, 100, { stepMs: 10 });
          }
        };
        await exchange(20); // warm-up: lazily created things exist from here on
        const before = worker.evaluate("xsHarness.gc(); 0").meter.currentHeapCount;
        await exchange(100);
        await pump(clock, 500, { stepMs: 10 });
        const after = worker.evaluate("xsHarness.gc(); 0").meter.currentHeapCount;
        expect(host.evaluateJson<number>("xsHarness.state.lab.receivedCount")).toBe(12_000);
        expect(atPeer).toBe(12_000);
        expect(after - before).toBeLessThan(16);
      } finally {
        worker.close();
      }
    });
  }
});
