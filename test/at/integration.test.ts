/*
 * The real driver against the ESP8266 emulator (host-sim/esp8266) over the virtual UART, in
 * virtual time, with an in-memory TCP peer: both dialects, all three receive modes, UART chunk
 * sizes from 1 byte up, and every failure in the reference's list, each followed by a recovery
 * that moves bytes again. The peer must receive exactly the bytes the driver was asked to send,
 * in order, nothing lost or duplicated (and the other way round).
 */
import type { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import { Esp8266Driver, type Esp8266Options } from "../../firmware/at/driver.js";
import type { LogLevel } from "../../firmware/board.js";
import { VirtualClock } from "../../host-sim/clock.js";
import { Esp8266Emulator, type EmulatorEvent } from "../../host-sim/esp8266/emulator.js";
import { MemoryNetwork, pump, pumpUntil } from "../../host-sim/network.js";
import { VirtualUart, type UartOptions } from "../../host-sim/uart.js";
import { Session, trickyPayload } from "./harness.js";

const HOST = "mqtts.heclouds.com";
const PORT = 1883;
const SSID = 'Lab "AP", 2\\4G';
const PASSWORD = "s3cr3t,\"pass\\word";

type Dialect = "1.7" | "2.x";
type Mode = "active" | "passive" | "transparent";

interface Setup {
  dialect: Dialect;
  mode?: Mode;
  uart?: UartOptions;
  pin?: boolean;
  tls?: boolean;
  options?: Partial<Esp8266Options>;
}

async function setup(s: Setup) {
  const clock = new VirtualClock();
  const uart = new VirtualUart(clock, { rxBufferSize: 8192, ...s.uart });
  const network = new MemoryNetwork();
  const atPeer: number[] = [];
  const servers: Duplex[] = [];
  const port = s.tls ? 8883 : PORT;
  network.listen(HOST, port, (stream) => {
    servers.push(stream);
    stream.on("data", (chunk: Buffer) => {
      for (const b of chunk) atPeer.push(b);
    });
    stream.on("error", () => {});
    stream.on("end", () => stream.end());
  });
  const events: EmulatorEvent[] = [];
  const esp = new Esp8266Emulator({
    clock,
    uart,
    dialect: s.dialect,
    network,
    accessPoints: [{ ssid: SSID, password: PASSWORD }],
    onEvent: (e) => events.push(e),
  });
  esp.powerOn();
  const logs: Array<[LogLevel, string]> = [];
  const traces: string[] = [];
  const statuses: string[] = [];
  const driver = new Esp8266Driver(
    {
      openSerial: (h) => uart.mcu.open(h),
      clock,
      log: (level, message) => logs.push([level, message]),
      moduleReset: s.pin ? esp.resetPin : undefined,
    },
    {
      ssid: SSID,
      password: PASSWORD,
      host: HOST,
      port,
      tls: s.tls ?? false,
      receiveMode: s.mode ?? "active",
      txBufferSize: 4096,
      rxChunkSize: 512,
      trace: (t) => traces.push(t),
      onStatus: (st, d) => statuses.push(`${st} ${d}`),
      ...s.options,
    },
  );
  const session = new Session();
  const until = (predicate: () => boolean, limitMs = 60_000, stepMs = 2) =>
    pumpUntil(clock, predicate, limitMs, { stepMs, realTimeoutMs: 2000 });
  const r = {
    clock,
    uart,
    esp,
    network,
    driver,
    session,
    atPeer,
    servers,
    events,
    logs,
    traces,
    statuses,
    until,
    commands: () => events.filter((e) => e.type === "command").map((e) => (e as { line: string }).line),
    async open(limitMs = 60_000): Promise<void> {
      const opens = session.opens;
      const closes = session.closes.length;
      driver.open(session);
      await until(() => session.opens > opens || session.closes.length > closes, limitMs, 5);
      if (session.opens === opens) {
        throw new Error(`open failed: ${JSON.stringify(session.closes.slice(closes))} after ${r.commands().join(" | ")}`);
      }
    },
    /** Sends `data` through the driver as fast as its TX ring takes it. */
    async sendAll(data: Uint8Array, piece = 700): Promise<void> {
      let off = 0;
      while (off < data.length) {
        const n = Math.min(piece, data.length - off);
        if (driver.send(data, off, n)) off += n;
        else if (!(await until(() => driver.sendSpace >= n || !driver.linkUp, 60_000))) throw new Error("send stalled");
        if (!driver.linkUp) throw new Error("link went down while sending");
      }
    },
    /** The server writes `data` to the link. */
    serverSends(data: Uint8Array): void {
      servers.at(-1)!.write(Buffer.from(data));
    },
    /** Round trip of fresh bytes both ways; asserts exact delivery. */
    async roundTrip(size: number, seed: number): Promise<void> {
      const out = trickyPayload(size, seed);
      const peerBefore = atPeer.length;
      await r.sendAll(out);
      expect(await until(() => atPeer.length >= peerBefore + size)).toBe(true);
      await pump(clock, 50);
      expect(Buffer.from(atPeer.slice(peerBefore))).toEqual(Buffer.from(out));
      const inc = trickyPayload(size, seed + 7);
      const recvBefore = session.received.length;
      r.serverSends(inc);
      expect(await until(() => session.received.length >= recvBefore + size)).toBe(true);
      await pump(clock, 50);
      expect(Buffer.from(session.received.slice(recvBefore))).toEqual(Buffer.from(inc));
    },
    async waitClose(count = 1, limitMs = 120_000): Promise<void> {
      expect(await until(() => session.closes.length >= count, limitMs, 5)).toBe(true);
    },
  };
  return r;
}

const DIALECTS: Dialect[] = ["1.7", "2.x"];
const MODES: Mode[] = ["active", "passive", "transparent"];

describe("driver x emulator: data in both dialects, all receive modes, chunk sizes", () => {
  for (const dialect of DIALECTS) {
    for (const mode of MODES) {
      for (const chunk of [1, 2, 5, 16, 128]) {
        it(`${dialect} ${mode}, UART chunk ${chunk}`, async () => {
          const r = await setup({ dialect, mode, uart: { chunkSize: chunk, txFifoSize: chunk === 1 ? 1 : chunk === 2 ? 16 : 128 } });
          await r.open();
          expect(r.driver.dialect).toBe(dialect);
          expect(r.driver.receiveMode).toBe(mode);
          await r.roundTrip(chunk === 1 ? 600 : 5000, chunk);
          expect(r.session.closes).toEqual([]);
          expect(r.clock.errors).toEqual([]);
          expect(r.driver.stats.droppedBytes).toBe(0);
          expect(r.uart.stats.overruns).toBe(0);
        });
      }
    }
  }

  it("passive mode reads a burst larger than the module's receive buffer without loss", async () => {
    for (const dialect of DIALECTS) {
      const r = await setup({ dialect, mode: "passive", uart: { chunkSize: 16 } });
      await r.open();
      const burst = trickyPayload(12_000, 5);
      r.serverSends(burst);
      expect(await r.until(() => r.session.received.length >= burst.length, 120_000)).toBe(true);
      expect(Buffer.from(r.session.received)).toEqual(Buffer.from(burst));
    }
  });

  it("TLS: SSL links on both dialects (CIPSSLSIZE on 1.7), in every receive mode", async () => {
    for (const dialect of DIALECTS) {
      for (const mode of MODES) {
        const r = await setup({ dialect, mode, tls: true });
        await r.open();
        expect(r.commands().some((c) => c.startsWith("AT+CIPSSLSIZE"))).toBe(dialect === "1.7");
        // 1.7 reads passively over TCP only: TLS falls back to active receive there.
        expect(r.driver.receiveMode).toBe(dialect === "1.7" && mode === "passive" ? "active" : mode);
        await r.roundTrip(1000, 3);
      }
    }
  });

  it("the RST pin resets the module instead of AT+RST", async () => {
    const r = await setup({ dialect: "2.x", pin: true });
    await r.open();
    expect(r.commands().includes("AT+RST")).toBe(false);
    await r.roundTrip(300, 1);
  });
});

describe("driver x emulator: every failure in the reference, and recovery", () => {
  const joinNames = { 1: "wifi-timeout", 2: "wifi-wrong-password", 3: "wifi-ap-not-found", 4: "wifi-connect-failed" } as const;
  for (const dialect of DIALECTS) {
    for (const code of [1, 2, 3, 4] as const) {
      it(`${dialect}: CWJAP failure ${code} is ${joinNames[code]}; the next open joins`, async () => {
        const r = await setup({ dialect });
        r.esp.joinFailure(code);
        r.driver.open(r.session);
        await r.waitClose();
        expect(r.session.closes[0].reason).toBe("wifi-join-failed");
        expect(r.driver.lastError).toBe(joinNames[code]);
        await r.open();
        await r.roundTrip(200, code);
      });
    }

    it(`${dialect}: DNS failure is dns-failed${dialect === "2.x" ? " (2.x: connect-failed, it prints no reason)" : ""}`, async () => {
      const r = await setup({ dialect });
      r.esp.dnsFailure(HOST, true);
      r.driver.open(r.session);
      await r.waitClose();
      expect(r.session.closes[0].reason).toBe("connect-failed");
      expect(r.driver.lastError).toBe(dialect === "1.7" ? "dns-failed" : "connect-failed");
      r.esp.dnsFailure(HOST, false);
      await r.open();
      await r.roundTrip(200, 2);
    });

    it(`${dialect}: refused connection`, async () => {
      const r = await setup({ dialect });
      r.network.unlisten(HOST, PORT);
      r.driver.open(r.session);
      await r.waitClose();
      expect(r.session.closes[0].reason).toBe("connect-failed");
      expect(["connect-refused", "connect-failed"]).toContain(r.driver.lastError);
      if (dialect === "1.7") expect(r.driver.lastError).toBe("connect-refused");
      r.network.listen(HOST, PORT, (stream) => {
        r.servers.push(stream);
        stream.on("data", (chunk: Buffer) => {
          for (const b of chunk) r.atPeer.push(b);
        });
      });
      await r.open();
      await r.roundTrip(200, 3);
    });

    it(`${dialect}: no IP when CIPSTART runs (WiFi lost just then)`, async () => {
      const r = await setup({ dialect });
      let dropped = false;
      r.esp.onEvent = (e) => {
        r.events.push(e);
        if (!dropped && e.type === "command" && e.line.startsWith("AT+CIPSTART")) {
          dropped = true;
          r.esp.wifiDrop();
        }
      };
      r.driver.open(r.session);
      await r.waitClose();
      expect(r.session.closes[0].reason).toBe("connect-failed");
      expect(r.driver.wifiUp).toBe(false);
      r.esp.wifiRestore();
      await r.open();
      await r.roundTrip(200, 4);
    });

    it(`${dialect}: SEND FAIL is send-failed; reopen and resend`, async () => {
      const r = await setup({ dialect });
      await r.open();
      await r.roundTrip(100, 1);
      r.esp.failNextSend();
      r.driver.send(new Uint8Array([1, 2, 3]), 0, 3);
      await r.waitClose();
      expect(r.session.closes[0].reason).toBe("send-failed");
      await r.open();
      await r.roundTrip(300, 5);
    });

    it(`${dialect}: the peer closes the link (closed-by-peer)`, async () => {
      const r = await setup({ dialect });
      await r.open();
      r.esp.closeByPeer();
      await r.waitClose();
      expect(r.session.closes[0].reason).toBe("closed-by-peer");
      await r.open();
      await r.roundTrip(300, 6);
    });

    it(`${dialect}: WiFi drops (wifi-lost), comes back`, async () => {
      const r = await setup({ dialect });
      await r.open();
      r.esp.wifiDrop();
      await r.waitClose();
      expect(r.session.closes[0].reason).toBe("wifi-lost");
      r.esp.wifiRestore();
      await r.open();
      await r.roundTrip(300, 7);
      expect(r.session.closes).toHaveLength(1);
    });

    it(`${dialect}: the module resets mid-stream (module-reset), re-init from the top`, async () => {
      const r = await setup({ dialect, uart: { chunkSize: 8 } });
      await r.open();
      await r.roundTrip(200, 8);
      r.esp.reset();
      await r.waitClose();
      expect(r.session.closes[0].reason).toBe("module-reset");
      await r.open();
      await r.roundTrip(300, 9);
      expect(r.commands().filter((c) => c === "ATE0").length).toBe(2);
    });

    it(`${dialect}: busy p... bursts are retried`, async () => {
      const r = await setup({ dialect });
      r.driver.open(r.session);
      await r.until(() => r.commands().includes("ATE0"), 20_000, 1);
      r.esp.busyBurst(700);
      await r.until(() => r.session.opens > 0 || r.session.closes.length > 0, 60_000, 5);
      expect(r.session.closes).toEqual([]);
      expect(r.driver.stats.busyRetries).toBeGreaterThan(0);
      await r.roundTrip(200, 10);
    });

    it(`${dialect}: a hung module (three timeouts): module-unresponsive, reset by pin, recovered`, async () => {
      const r = await setup({ dialect, pin: true });
      await r.open();
      r.esp.unresponsive(true);
      r.driver.send(new Uint8Array([9, 9]), 0, 2);
      await r.waitClose(1);
      r.driver.open(r.session);
      await r.waitClose(2);
      expect(r.session.closes.map((c) => c.reason)).toEqual(["send-failed", "module-unresponsive"]);
      expect(r.driver.lastError).toBe("module-not-responding");
      // The driver resets it by itself (pin), so the next open succeeds.
      await r.open(120_000);
      await r.roundTrip(300, 11);
    });

    it(`${dialect}: close flushes the last bytes; UNLINK-style closes are fine; reopen goes straight to CIPSTART`, async () => {
      for (const mode of MODES) {
        const r = await setup({ dialect, mode });
        await r.open();
        const last = trickyPayload(150, 12);
        r.driver.send(last, 0, last.length);
        r.driver.close();
        await r.waitClose();
        expect(r.session.closes[0].reason).toBe("closed-by-us");
        expect(await r.until(() => r.atPeer.length >= 150, 20_000)).toBe(true);
        await pump(r.clock, 2000);
        expect(Buffer.from(r.atPeer)).toEqual(Buffer.from(last));
        const before = r.commands().length;
        await r.open();
        const after = r.commands().slice(before);
        expect(after.some((c) => c.startsWith("AT+CWJAP") || c === "AT+RST")).toBe(false);
        expect(after.some((c) => c.startsWith("AT+CIPSTART"))).toBe(true);
        await r.roundTrip(200, 13);
      }
    });
  }
});

describe("driver x emulator: secrets", () => {
  it("the WiFi password appears in no log, trace, status or close detail", async () => {
    const r = await setup({ dialect: "1.7" });
    r.esp.joinFailure(2);
    r.driver.open(r.session);
    await r.waitClose();
    await r.open();
    r.esp.reset();
    await r.waitClose(2);
    const all = JSON.stringify([r.logs, r.traces, r.statuses, r.session.closes]);
    expect(all).not.toContain("s3cr3t");
  });
});

describe("driver x emulator: harder cases", () => {
  for (const dialect of DIALECTS) {
    it(`${dialect}: a server that never answers the SYN: the module's own verdict is read (connect-failed), then recovery`, async () => {
      const r = await setup({ dialect });
      let blackHole = true;
      const inner = r.network;
      (r.esp as unknown as { network: unknown }).network = {
        connect(target: Parameters<MemoryNetwork["connect"]>[0], events: Parameters<MemoryNetwork["connect"]>[1]) {
          if (blackHole) return { write() {}, close() {} };
          return inner.connect(target, events);
        },
      };
      r.driver.open(r.session);
      const t0 = r.clock.now();
      await r.waitClose();
      expect(r.clock.now() - t0).toBeGreaterThan(9000);
      expect(r.session.closes[0].reason).toBe("connect-failed");
      expect(["connect-failed", "connect-refused"]).toContain(r.driver.lastError);
      blackHole = false;
      await r.open();
      await r.roundTrip(300, 21);
    });

    it(`${dialect} passive: the server's last bytes before it closes are delivered before closed-by-peer`, async () => {
      const r = await setup({ dialect, mode: "passive" });
      await r.open();
      const lastWords = new Uint8Array([0x20, 0x02, 0x00, 0x05]); // CONNACK "not authorized"
      r.servers.at(-1)!.end(Buffer.from(lastWords));
      await r.waitClose();
      expect(r.session.closes[0].reason).toBe("closed-by-peer");
      expect(r.session.received).toEqual([...lastWords]);
      await r.open();
      await r.roundTrip(300, 22);
    });

    it(`${dialect} active: the server's last bytes before it closes are delivered before closed-by-peer`, async () => {
      const r = await setup({ dialect, mode: "active" });
      await r.open();
      r.servers.at(-1)!.end(Buffer.from([0x20, 0x02, 0x00, 0x05]));
      await r.waitClose();
      expect(r.session.closes[0].reason).toBe("closed-by-peer");
      expect(r.session.received).toEqual([0x20, 0x02, 0x00, 0x05]);
    });

    it(`${dialect}: a peer close racing a send (CIPSEND on a dead link) is reported once and recovered`, async () => {
      const r = await setup({ dialect });
      await r.open();
      r.esp.closeByPeer();
      r.driver.send(new Uint8Array([1, 2, 3]), 0, 3);
      await r.waitClose();
      await pump(r.clock, 500);
      expect(r.session.closes).toHaveLength(1);
      expect(["closed-by-peer", "send-failed"]).toContain(r.session.closes[0].reason);
      await r.open();
      await r.roundTrip(300, 23);
    });

    it(`${dialect} transparent: the link drops silently (module redials); the session closes and reopens`, async () => {
      const r = await setup({ dialect, mode: "transparent" });
      await r.open();
      await r.roundTrip(200, 24);
      r.esp.closeByPeer();
      await pump(r.clock, 3000);
      // Nothing visible to the driver: the session's keepalive would notice; it closes.
      expect(r.session.closes).toEqual([]);
      r.driver.close();
      await r.waitClose();
      const peerBefore = r.atPeer.length;
      await r.open();
      await r.roundTrip(300, 25);
      expect(r.atPeer.length).toBe(peerBefore + 300);
    });

    it(`${dialect} transparent: an unseen module reset is recovered after the session gives up`, async () => {
      const r = await setup({ dialect, mode: "transparent" });
      await r.open();
      r.esp.reset();
      await pump(r.clock, 3000);
      // The session sees garbage (boot noise, "ready") as data and closes; the driver starts over.
      r.driver.close();
      await r.waitClose();
      for (let attempt = 0; attempt < 5 && r.session.opens < 2; attempt++) {
        r.driver.open(r.session);
        await r.until(() => r.session.opens >= 2 || r.session.closes.length > 1 + attempt, 120_000, 5);
      }
      expect(r.session.opens).toBe(2);
      await r.roundTrip(300, 26);
    });

    it(`${dialect}: bytes corrupted and lost on the UART: no throw, the link fails cleanly and recovers`, async () => {
      const r = await setup({ dialect, uart: { chunkSize: 8 } });
      await r.open();
      r.uart.setFaults({ corruptRate: 0.02, dropRate: 0.01, seed: 7 }, "both");
      for (let i = 0; i < 30 && r.session.closes.length === 0; i++) {
        const out = trickyPayload(200, i);
        r.driver.send(out, 0, out.length);
        r.servers.at(-1)?.write(Buffer.from(out));
        await pump(r.clock, 300, { stepMs: 5 });
      }
      r.uart.setFaults({}, "both");
      expect(r.uart.stats.corrupted + r.uart.stats.dropped).toBeGreaterThan(10);
      await pump(r.clock, 30_000, { stepMs: 10 });
      expect(r.clock.errors).toEqual([]);
      // Recovery: whatever state the faults left, open() eventually gives a working link.
      if (r.session.closes.length > 0 || !r.driver.linkUp) {
        for (let attempt = 0; attempt < 5 && !r.driver.linkUp; attempt++) {
          const closes = r.session.closes.length;
          r.driver.open(r.session);
          await r.until(() => r.driver.linkUp || r.session.closes.length > closes, 120_000, 5);
        }
      }
      expect(r.driver.linkUp).toBe(true);
      const peerBefore = r.atPeer.length;
      const recvBefore = r.session.received.length;
      const out = trickyPayload(500, 99);
      await r.sendAll(out);
      expect(await r.until(() => r.atPeer.length >= peerBefore + 500)).toBe(true);
      await pump(r.clock, 50);
      // The clean tail arrives intact (earlier corrupted bytes may precede it).
      expect(Buffer.from(r.atPeer.slice(-500))).toEqual(Buffer.from(out));
      r.serverSends(out);
      expect(await r.until(() => r.session.received.length >= recvBefore + 500)).toBe(true);
      await pump(r.clock, 50);
      expect(Buffer.from(r.session.received.slice(-500))).toEqual(Buffer.from(out));
    });
  }
});
