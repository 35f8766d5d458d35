/*
 * Chaos against the emulator: random module and network faults (WiFi drop, peer close, module
 * reset, SEND FAIL, busy bursts, join failures) while traffic flows both ways and a session stand-in
 * reopens after every close. For every TCP connection, what the server received is a prefix of what
 * that session asked the driver to send, and what the session received is a prefix of what the
 * server wrote on that connection: bytes may stop at a failure, but are never lost in the middle,
 * duplicated, reordered or mixed between connections. Active and passive modes (transparent mode
 * cannot see link loss by design: see driver.ts).
 */
import type { Duplex } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Esp8266Driver } from "../../firmware/at/driver.js";
import type { LinkDownReason, TransportEvents } from "../../firmware/transport.js";
import { VirtualClock } from "../../host-sim/clock.js";
import { Esp8266Emulator } from "../../host-sim/esp8266/emulator.js";
import { MemoryNetwork, pump } from "../../host-sim/network.js";
import { VirtualUart } from "../../host-sim/uart.js";

type Fault = "wifi" | "peer" | "reset" | "sendfail" | "busy" | "join";

interface Conn {
  stream: Duplex;
  received: number[];
  written: number[];
  session: number;
}

interface SessionLog extends TransportEvents {
  id: number;
  sent: number[];
  received: number[];
  opened: boolean;
  closed?: LinkDownReason;
}

async function chaos(dialect: "1.7" | "2.x", mode: "active" | "passive", chunk: number, faults: Array<[number, Fault]>, seed: number) {
  const clock = new VirtualClock();
  const uart = new VirtualUart(clock, { chunkSize: chunk, rxBufferSize: 8192 });
  const network = new MemoryNetwork();
  const conns: Conn[] = [];
  network.listen("broker.test", 1883, (stream) => {
    const conn: Conn = { stream, received: [], written: [], session: -1 };
    conns.push(conn);
    stream.on("data", (c: Buffer) => {
      for (const b of c) conn.received.push(b);
      if (conn.session < 0 && conn.received.length >= 2) conn.session = conn.received[0] * 256 + conn.received[1];
    });
    stream.on("error", () => {});
    stream.on("end", () => stream.end());
  });
  const esp = new Esp8266Emulator({ clock, uart, dialect, network, accessPoints: [{ ssid: "lab", password: "password1" }] });
  esp.powerOn();
  const driver = new Esp8266Driver(
    { openSerial: (h) => uart.mcu.open(h), clock, log: () => {}, moduleReset: seed % 2 ? esp.resetPin : undefined },
    { ssid: "lab", password: "password1", host: "broker.test", port: 1883, tls: false, receiveMode: mode, txBufferSize: 3000 },
  );
  const sessions: SessionLog[] = [];
  let current: SessionLog | undefined;
  const openSession = () => {
    const s: SessionLog = {
      id: sessions.length + 1,
      sent: [],
      received: [],
      opened: false,
      onOpen() {
        s.opened = true;
        const header = new Uint8Array([s.id >> 8, s.id & 0xff]);
        if (driver.send(header, 0, 2)) s.sent.push(...header);
      },
      onData(bytes, offset, length) {
        for (let i = 0; i < length; i++) s.received.push(bytes[offset + i]);
      },
      onClose(reason) {
        s.closed = reason;
        current = undefined;
        clock.setTimeout(openSession, 1000); // the session's back-off
      },
    };
    sessions.push(s);
    current = s;
    driver.open(s);
  };
  openSession();
  let counter = seed;
  const tick = () => {
    const s = current;
    if (s?.opened && !s.closed && s.sent.length >= 2) {
      const n = 1 + (counter++ % 300);
      const data = new Uint8Array(n);
      for (let i = 0; i < n; i++) data[i] = (counter * 7 + i * 13 + s.id) & 0xff;
      if (driver.send(data, 0, n)) s.sent.push(...data);
    }
    for (const c of conns) {
      if (c.session < 0 || c.stream.destroyed || !c.stream.writable) continue;
      const data = Buffer.alloc(1 + (counter % 200), (counter + c.session) & 0xff);
      data[0] = counter & 0xff;
      c.stream.write(data);
      for (const b of data) c.written.push(b);
    }
    clock.setTimeout(tick, 40);
  };
  clock.setTimeout(tick, 40);
  for (const [at, fault] of faults) {
    clock.setTimeout(() => {
      switch (fault) {
        case "wifi":
          esp.wifiDrop();
          clock.setTimeout(() => esp.wifiRestore(), 3000);
          break;
        case "peer":
          esp.closeByPeer();
          break;
        case "reset":
          esp.reset();
          break;
        case "sendfail":
          esp.failNextSend();
          break;
        case "busy":
          esp.busyBurst(500);
          break;
        case "join":
          esp.joinFailure(2);
          break;
      }
    }, at);
  }
  await pump(clock, 24_000, { stepMs: 10 });
  // Quiet period: faults over, traffic keeps flowing; the link must be up again.
  const recovered = await (async () => {
    for (let i = 0; i < 60 && !driver.linkUp; i++) await pump(clock, 1000, { stepMs: 5 });
    return driver.linkUp;
  })();
  await pump(clock, 3000, { stepMs: 5 });
  return { clock, conns, sessions, recovered, driver };
}

describe("chaos: random faults while traffic flows", () => {
  it("every connection carries a clean prefix of its session's bytes, both ways, and the link comes back", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("1.7" as const, "2.x" as const),
        fc.constantFrom("active" as const, "passive" as const),
        fc.constantFrom(1, 4, 16, 64),
        fc.array(
          fc.tuple(fc.integer({ min: 3000, max: 20_000 }), fc.constantFrom<Fault>("wifi", "peer", "reset", "sendfail", "busy", "join")),
          { minLength: 1, maxLength: 5 },
        ),
        fc.integer({ min: 0, max: 1000 }),
        async (dialect, mode, chunk, faults, seed) => {
          const { clock, conns, sessions, recovered } = await chaos(dialect, mode, chunk, faults, seed);
          expect(clock.errors).toEqual([]);
          expect(recovered).toBe(true);
          const byId = new Map(sessions.map((s) => [s.id, s]));
          let checked = 0;
          for (const c of conns) {
            if (c.session < 0) continue;
            const s = byId.get(c.session)!;
            expect(s).toBeDefined();
            // Server side: a prefix of what the session sent.
            expect(Buffer.from(c.received)).toEqual(Buffer.from(s.sent.slice(0, c.received.length)));
            // Session side: a prefix of what this connection's server wrote.
            expect(Buffer.from(s.received)).toEqual(Buffer.from(c.written.slice(0, s.received.length)));
            if (c.received.length > 2 && s.received.length > 0) checked++;
          }
          expect(checked).toBeGreaterThan(0);
          // The last session is the live one, and it moves bytes.
          const last = sessions.at(-1)!;
          expect(last.opened && !last.closed).toBe(true);
        },
      ),
      { numRuns: 8, seed: 8266 },
    );
  });
});
