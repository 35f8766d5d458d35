/*
 * The data path: CIPSTART/CIPSEND/+IPD/passive/passthrough against in-process servers
 * (MemoryNetwork), in both dialects, with raw AT bytes.
 */
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryNetwork } from "../../host-sim/network.js";
import { bytesOf, latin1, rig, takeClockErrors } from "./rig.js";

afterEach(() => {
  expect(takeClockErrors()).toEqual([]);
});

const OK = "\r\nOK\r\n";
const ERROR = "\r\nERROR\r\n";

/** A server that records what it gets and lets the test speak through `peer`. */
function world() {
  const network = new MemoryNetwork();
  const received: number[] = [];
  const state: { peer: Duplex | undefined; connections: number } = { peer: undefined, connections: 0 };
  network.listen("broker.local", 1883, (s) => {
    state.peer = s;
    state.connections++;
    s.on("data", (chunk: Buffer) => received.push(...chunk));
    s.on("error", () => {});
  });
  network.listenEcho("echo.local", 7);
  return { network, received, state };
}

describe.each([1, 8, 64] as const)("chunk size %i", (chunkSize) => {
  describe.each(["1.7", "2.x"] as const)("dialect %s", (dialect) => {
    const is17 = dialect === "1.7";
    const prompt = is17 ? `${OK}> ` : `${OK}\r\n>`;
    const tail = is17 ? "" : "\r\n";
    const make = () => {
      const w = world();
      const r = rig({ dialect, network: w.network, uart: { chunkSize } });
      r.ready();
      return { ...w, r };
    };

    it("opens a TCP link, sends exactly n bytes, and delivers what comes back as +IPD", async () => {
      const { r } = make();
      expect(await r.cmdIo('AT+CIPSTART="TCP","echo.local",7')).toBe(`CONNECT\r\n${OK}`);
      expect(await r.cmdIo('AT+CIPSTART="TCP","echo.local",7')).toBe(is17 ? `ALREADY CONNECTED\r\n${ERROR}` : ERROR);
      expect(await r.cmdIo("AT+CIPSEND=5", 20)).toBe(prompt);
      r.write("hello");
      await r.pump(100);
      expect(r.take()).toBe(`\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,5:hello${tail}`);
      expect(await r.cmdIo("AT+CIPSTATUS")).toMatch(/^STATUS:3\r\n\+CIPSTATUS:0,"TCP","echo\.local",7,\d+,0\r\n\r\nOK\r\n$/);
      expect(await r.cmdIo("AT+CIPCLOSE")).toBe(`CLOSED\r\n${OK}`);
      expect(await r.cmdIo("AT+CIPSTATUS")).toBe(`STATUS:4\r\n${OK}`);
      expect(await r.cmdIo("AT+CIPCLOSE")).toBe(is17 ? `UNLINK\r\n${ERROR}` : ERROR);
      expect(r.esp.stats.toNet).toBe(5);
      expect(r.esp.stats.fromNet).toBe(5);
    });

    it("carries binary payloads that look like AT results, unchanged, both ways", async () => {
      const { r, received, state } = make();
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      const payload = bytesOf("\r\nOK\r\nCLOSED\r\n+IPD,3:abc\r\nERROR\r\n\u0000\u00ff> busy p...\r\n");
      await r.cmdIo(`AT+CIPSEND=${payload.length}`, 20);
      r.write(payload);
      await r.pump(100);
      expect(r.take()).toBe(`\r\nRecv ${payload.length} bytes\r\n\r\nSEND OK\r\n`);
      expect(received).toEqual([...payload]);
      state.peer!.write(payload);
      await r.pump(100);
      expect(r.take()).toBe(`\r\n+IPD,${payload.length}:${latin1(payload)}${tail}`);
    });

    it("splits big server writes into +IPD segments of at most 1460 bytes", async () => {
      const { r, state } = make();
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      const big = new Uint8Array(3000).map((_, i) => i & 0xff);
      state.peer!.write(big);
      await r.pump(400);
      const out = r.take();
      expect(out).toBe(
        `\r\n+IPD,1460:${latin1(big.subarray(0, 1460))}${tail}` +
          `\r\n+IPD,1460:${latin1(big.subarray(1460, 2920))}${tail}` +
          `\r\n+IPD,80:${latin1(big.subarray(2920))}${tail}`,
      );
    });

    it("rejects bad CIPSEND lengths and says busy to bytes beyond n", async () => {
      const { r, received } = make();
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      expect(await r.cmdIo("AT+CIPSEND=0")).toBe(ERROR);
      expect(await r.cmdIo("AT+CIPSEND=2049")).toBe(ERROR);
      expect(await r.cmdIo("AT+CIPSEND=2048", 20)).toBe(prompt);
      r.write(new Uint8Array(2048).fill(0x41));
      r.write("AT\r\n"); // too many bytes: arrives while the module transmits
      await r.pump(400);
      expect(r.take()).toBe(`\r\nRecv 2048 bytes\r\n${is17 ? "\r\nbusy s...\r\n" : "\r\nbusy p...\r\n"}\r\nSEND OK\r\n`);
      expect(received.length).toBe(2048);
    });

    it("data written before the prompt is not taken as data", async () => {
      const { r, received } = make();
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      r.write("AT+CIPSEND=4\r\nab\r\n");
      await r.pump(20);
      expect(r.take()).toBe(`\r\nbusy p...\r\n${prompt}`);
      r.write("wxyz");
      await r.pump(50);
      expect(r.take()).toBe("\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n");
      expect(latin1(received)).toBe("wxyz");
    });

    it("SEND FAIL on failNextSend, and nothing reaches the server", async () => {
      const { r, received } = make();
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      r.esp.failNextSend();
      await r.cmdIo("AT+CIPSEND=3", 20);
      r.write("abc");
      await r.pump(50);
      expect(r.take()).toBe("\r\nRecv 3 bytes\r\n\r\nSEND FAIL\r\n");
      expect(received).toEqual([]);
      await r.cmdIo("AT+CIPSEND=3", 20);
      r.write("def");
      await r.pump(50);
      expect(r.take()).toBe("\r\nRecv 3 bytes\r\n\r\nSEND OK\r\n");
      expect(latin1(received)).toBe("def");
      r.esp.failNextSend(1, { thenSendOk: true });
      await r.cmdIo("AT+CIPSEND=3", 20);
      r.write("ghi");
      await r.pump(50);
      expect(r.take()).toBe("\r\nRecv 3 bytes\r\n\r\nSEND FAIL\r\n\r\nSEND OK\r\n");
      expect(latin1(received)).toBe("def");
    });

    it("reports a close by the peer as CLOSED, also between the prompt and the data", async () => {
      const { r, state } = make();
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      state.peer!.end();
      await r.pump(50);
      expect(r.take()).toBe("CLOSED\r\n");
      expect(await r.cmdIo("AT+CIPSEND=1")).toBe(is17 ? `link is not valid\r\n${ERROR}` : ERROR);
      expect(await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883')).toBe(`CONNECT\r\n${OK}`);
      expect(await r.cmdIo("AT+CIPSEND=2", 20)).toBe(prompt);
      r.esp.closeByPeer();
      await r.pump(10);
      expect(r.take()).toBe("CLOSED\r\n");
      r.write("zz");
      await r.pump(50);
      expect(r.take()).toBe("\r\nRecv 2 bytes\r\n\r\nSEND FAIL\r\n");
    });

    it("a server that closes at once: CONNECT, OK, then CLOSED (never before CONNECT)", async () => {
      const { r, network } = make();
      network.listen("slam.local", 80, (s) => {
        s.write("bye");
        s.end();
      });
      expect(await r.cmdIo('AT+CIPSTART="TCP","slam.local",80')).toBe(`CONNECT\r\n${OK}\r\n+IPD,3:bye${tail}CLOSED\r\n`);
    });

    it("refused and DNS failures", async () => {
      const { r } = make();
      expect(await r.cmdIo('AT+CIPSTART="TCP","nobody.local",1883')).toBe(is17 ? `${ERROR}CLOSED\r\n` : ERROR);
      r.esp.dnsFailure("broker.local");
      expect(await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883', 1000)).toBe(is17 ? `DNS Fail\r\n${ERROR}` : ERROR);
      r.esp.dnsFailure("broker.local", false);
      expect(await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883')).toBe(`CONNECT\r\n${OK}`);
    });

    it("SSL: 1.7 needs AT+CIPSSLSIZE first; one SSL link only", async () => {
      const w = world();
      w.network.listenEcho("secure.local", 8883);
      const r = rig({ dialect, network: w.network, uart: { chunkSize } });
      r.ready();
      if (is17) {
        expect(await r.cmdIo('AT+CIPSTART="SSL","secure.local",8883')).toBe(`${ERROR}CLOSED\r\n`);
        expect(await r.cmdIo("AT+CIPSSLSIZE=4096")).toBe(OK);
      } else {
        expect(await r.cmdIo("AT+CIPSSLSIZE=4096")).toBe(ERROR);
      }
      expect(await r.cmdIo('AT+CIPSTART="SSL","secure.local",8883')).toBe(`CONNECT\r\n${OK}`);
      expect(await r.cmdIo("AT+CIPSEND=2", 20)).toBe(prompt);
      r.write("hi");
      await r.pump(100);
      expect(r.take()).toBe(`\r\nRecv 2 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,2:hi${tail}`);
      expect(await r.cmdIo("AT+CIPMUX=1")).toBe(is17 ? `link is builded\r\n${ERROR}` : ERROR);
    });

    it("passive receive: one +IPD,<total> notice until read, CIPRECVLEN, CIPRECVDATA in the dialect's format", async () => {
      const { r, state } = make();
      expect(await r.cmdIo("AT+CIPRECVMODE=1")).toBe(OK);
      expect(await r.cmdIo("AT+CIPRECVMODE?")).toBe(`+CIPRECVMODE:1\r\n${OK}`);
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      state.peer!.write("0123456789");
      await r.pump(20);
      expect(r.take()).toBe("\r\n+IPD,10\r\n");
      state.peer!.write("\r\nOK\r\nabcd");
      await r.pump(20);
      expect(r.take()).toBe(""); // not repeated until read
      expect(await r.cmdIo("AT+CIPRECVLEN?")).toBe(`+CIPRECVLEN:20,0,0,0,0\r\n${OK}`);
      const head = is17 ? "\r\n+CIPRECVDATA,15:" : "+CIPRECVDATA:15,";
      expect(await r.cmdIo("AT+CIPRECVDATA=15")).toBe(`${head}0123456789\r\nOK\r${OK}`);
      state.peer!.write("XY");
      await r.pump(20);
      expect(r.take()).toBe("\r\n+IPD,7\r\n");
      const head2 = is17 ? "\r\n+CIPRECVDATA,7:" : "+CIPRECVDATA:7,";
      expect(await r.cmdIo("AT+CIPRECVDATA=100")).toBe(`${head2}\nabcdXY${OK}`);
      expect(await r.cmdIo("AT+CIPRECVDATA=100")).toBe(ERROR);
      expect(await r.cmdIo("AT+CIPRECVLEN?")).toBe(`+CIPRECVLEN:0,0,0,0,0\r\n${OK}`);
    });

    it("passive receive buffers ~5.7 KB, holds the rest back in TCP, and loses nothing", async () => {
      const { r, state } = make();
      await r.cmdIo("AT+CIPRECVMODE=1");
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      const total = 20_000;
      const data = new Uint8Array(total).map((_, i) => (i * 7) & 0xff);
      for (let o = 0; o < total; o += 1000) state.peer!.write(data.subarray(o, o + 1000));
      await r.pump(50);
      expect(r.take()).toMatch(/^\r\n\+IPD,\d+\r\n$/);
      const len = await r.cmdIo("AT+CIPRECVLEN?");
      const buffered = Number(/^\+CIPRECVLEN:(\d+),/.exec(len)![1]);
      expect(buffered).toBe(5760); // the rest waits in TCP until the MCU reads
      const got: number[] = [];
      const head = is17 ? /^\r\n\+CIPRECVDATA,(\d+):/ : /^\+CIPRECVDATA:(\d+),/;
      for (let i = 0; i < 100 && got.length < total; i++) {
        const out = await r.cmdIo("AT+CIPRECVDATA=2048", 300);
        const body = out.replace(/\r\n\+IPD,\d+\r\n/g, "");
        const m = head.exec(body);
        if (!m) continue;
        const n = Number(m[1]);
        const start = m[0].length;
        expect(body.slice(start + n)).toBe(OK);
        got.push(...bytesOf(body.slice(start, start + n)));
      }
      expect(got.length).toBe(total);
      expect(Uint8Array.from(got)).toEqual(data);
    });

    it("passive mode on an SSL link: 2.x buffers, 1.7 (TCP only) still sends +IPD", async () => {
      const w = world();
      w.network.listenEcho("secure.local", 8883);
      const r = rig({ dialect, network: w.network, uart: { chunkSize } });
      r.ready();
      if (is17) await r.cmdIo("AT+CIPSSLSIZE=4096");
      await r.cmdIo("AT+CIPRECVMODE=1");
      await r.cmdIo('AT+CIPSTART="SSL","secure.local",8883');
      await r.cmdIo("AT+CIPSEND=2", 20);
      r.write("hi");
      await r.pump(100);
      expect(r.take()).toBe(`\r\nRecv 2 bytes\r\n\r\nSEND OK\r\n${is17 ? "\r\n+IPD,2:hi" : "\r\n+IPD,2\r\n"}`);
    });

    it("leaving passive mode hands the buffered data over as +IPD", async () => {
      const { r, state } = make();
      await r.cmdIo("AT+CIPRECVMODE=1");
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      state.peer!.write("abc");
      await r.pump(20);
      r.take();
      expect(await r.cmdIo("AT+CIPRECVMODE=0")).toBe(`\r\n+IPD,3:abc${tail}${OK}`);
    });

    it("passthrough: raw bytes both ways, packed on 20 ms of silence; +++ alone exits", async () => {
      const { r, received, state } = make();
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      expect(await r.cmdIo("AT+CIPMODE=1")).toBe(OK);
      expect(await r.cmdIo("AT+CIPSEND=4")).toBe(ERROR);
      expect(await r.cmdIo("AT+CIPSEND", 50)).toBe(`${OK}\r\n>`);
      r.write("AT\r\n+IPD,3:x+++");
      await r.pump(10);
      expect(received).toEqual([]); // not packed yet
      await r.pump(30);
      expect(latin1(received)).toBe("AT\r\n+IPD,3:x+++");
      state.peer!.write("\r\nCLOSED\r\n");
      await r.pump(20);
      expect(r.take()).toBe("\r\nCLOSED\r\n");
      // + + + with less than 20 ms of silence before is data.
      r.write("a");
      await r.pump(5);
      r.write("+++");
      await r.pump(60);
      expect(latin1(received)).toBe("AT\r\n+IPD,3:x+++a+++");
      expect(r.esp.state.input).toBe("passthrough");
      // Alone, with the guard times: exit, no reply.
      r.write("+++");
      await r.pump(100);
      expect(r.take()).toBe("");
      expect(r.esp.state.input).toBe("command");
      expect(latin1(received)).toBe("AT\r\n+IPD,3:x+++a+++");
      // The module wants a second before the next command: earlier lines are lost.
      expect(await r.cmdIo("AT", 100)).toBe("");
      await r.pump(1000);
      expect(await r.cmdIo("AT")).toBe(OK);
      // Still connected: data now comes as +IPD, and passthrough can be entered again.
      state.peer!.write("hi");
      await r.pump(20);
      expect(r.take()).toBe(`\r\n+IPD,2:hi${tail}`);
      expect(await r.cmdIo("AT+CIPSEND", 50)).toBe(`${OK}\r\n>`);
    });

    it("passthrough: a dropped link is redialled silently; CLOSED shows after +++", async () => {
      const { r, received, state } = make();
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      await r.cmdIo("AT+CIPMODE=1");
      await r.cmdIo("AT+CIPSEND", 50);
      state.peer!.end();
      await r.pump(50);
      expect(r.take()).toBe("");
      await r.pump(1100);
      expect(state.connections).toBe(2);
      r.write("again");
      await r.pump(50);
      expect(latin1(received)).toBe("again");
      r.esp.wifiDrop();
      await r.pump(50);
      expect(r.take()).toBe("");
      r.write("+++");
      await r.pump(100);
      expect(r.take()).toBe("CLOSED\r\n");
      await r.pump(1000);
      expect(await r.cmdIo("AT+CIPSTATUS")).toBe(`STATUS:5\r\n${OK}`);
    });

    it("AT+CIPDINFO=1 puts the peer's address in +IPD", async () => {
      const { r } = make();
      expect(await r.cmdIo("AT+CIPDINFO=1")).toBe(OK);
      await r.cmdIo('AT+CIPSTART="TCP","echo.local",7');
      await r.cmdIo("AT+CIPSEND=2", 20);
      r.write("ab");
      await r.pump(100);
      expect(r.take()).toBe(`\r\nRecv 2 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,2,echo.local,7:ab${tail}`);
    });

    it("CIPMUX=1: link ids on CONNECT, +IPD, CIPSEND, CLOSED", async () => {
      const { r } = make();
      expect(await r.cmdIo("AT+CIPMUX=1")).toBe(OK);
      expect(await r.cmdIo("AT+CIPMODE=1")).toBe(ERROR);
      expect(await r.cmdIo('AT+CIPSTART=2,"TCP","echo.local",7')).toBe(`2,CONNECT\r\n${OK}`);
      expect(await r.cmdIo("AT+CIPSEND=2,3", 20)).toBe(prompt);
      r.write("abc");
      await r.pump(100);
      expect(r.take()).toBe(`\r\nRecv 3 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,2,3:abc${tail}`);
      expect(await r.cmdIo("AT+CIPCLOSE=2")).toBe(`2,CLOSED\r\n${OK}`);
    });

    it("WiFi drop: WIFI DISCONNECT and CLOSED; restore: the module rejoins by itself", async () => {
      const { r } = make();
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      r.esp.wifiDrop();
      await r.pump(10);
      expect(r.take()).toBe("WIFI DISCONNECT\r\nCLOSED\r\n");
      expect(await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883')).toBe(is17 ? `no ip\r\n${ERROR}` : ERROR);
      expect(await r.cmdIo('AT+CWJAP="onenet-lab","password123"', 4100)).toBe(`+CWJAP:3\r\n${is17 ? "\r\nFAIL\r\n" : ERROR}`);
      r.esp.wifiRestore();
      r.clock.advance(5000);
      expect(r.take()).toBe(""); // the failed CWJAP forgot the AP
      r.cmd('AT+CWJAP="onenet-lab","password123"', 3100);
      r.esp.wifiDrop();
      r.clock.advance(10);
      expect(r.take()).toBe("WIFI DISCONNECT\r\n");
      r.esp.wifiRestore();
      r.clock.advance(2400);
      expect(r.take()).toBe("");
      r.clock.advance(200);
      expect(r.take()).toBe("WIFI CONNECTED\r\n");
      r.clock.advance(1200);
      expect(r.take()).toBe("WIFI GOT IP\r\n");
      expect(await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883')).toBe(`CONNECT\r\n${OK}`);
    });

    it("AT+CWQAP: OK, then WIFI DISCONNECT and the link closes", async () => {
      const { r } = make();
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      expect(await r.cmdIo("AT+CWQAP")).toBe(`${OK}WIFI DISCONNECT\r\nCLOSED\r\n`);
      r.clock.advance(5000);
      expect(r.take()).toBe(""); // no auto rejoin after CWQAP
    });

    it("module reset mid-stream: output cut, ready, state gone, echo back on", async () => {
      const { r, state } = make();
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      state.peer!.write(new Uint8Array(1000).fill(0x5a));
      await r.pump(20); // ~230 bytes on the wire so far
      r.esp.reset();
      await r.pump(1000);
      const out = r.take();
      expect(out.startsWith("\r\n+IPD,1000:ZZZ")).toBe(true);
      expect((out.match(/Z/g) ?? []).length).toBeLessThan(1000);
      expect(out.endsWith("\r\nready\r\n")).toBe(true);
      expect(await r.cmdIo("AT+CIPSTATUS")).toBe(`AT+CIPSTATUS\r\nSTATUS:5\r\n${OK}`);
      expect(r.esp.stats.resets).toBe(2);
    });

    it("a hung module drops network data too, and the dashboard sees the link events", async () => {
      const { r, state } = make();
      await r.cmdIo('AT+CIPSTART="TCP","broker.local",1883');
      r.esp.unresponsive(true);
      state.peer!.write("lost");
      await r.pump(20);
      expect(r.take()).toBe("");
      r.esp.unresponsive(false);
      expect(await r.cmdIo("AT")).toBe(OK);
      const links = r.events.filter((e) => e.type === "link").map((e) => (e.type === "link" ? e.state : ""));
      expect(links).toEqual(["connecting", "open"]);
    });
  });
});

describe("MemoryNetwork with an in-process Aedes broker", () => {
  it("an MQTT CONNECT sent with raw AT commands gets its CONNACK as +IPD", async () => {
    const { Aedes } = await import("aedes");
    const broker = await Aedes.createBroker();
    const network = new MemoryNetwork().listen("mqtts.heclouds.com", 1883, (stream) => {
      broker.handle(stream as never);
    });
    try {
      const r = rig({ dialect: "2.x", network });
      r.ready();
      expect(await r.cmdIo('AT+CIPSTART="TCP","mqtts.heclouds.com",1883')).toBe(`CONNECT\r\n${OK}`);
      // CONNECT, MQTT 3.1.1, clean session, keepalive 60, client id "led".
      const connect = Uint8Array.from([0x10, 15, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 3, 0x6c, 0x65, 0x64]);
      await r.cmdIo(`AT+CIPSEND=${connect.length}`, 20);
      r.write(connect);
      await r.waitFor(/\+IPD,4:/);
      expect(r.take()).toBe(`\r\nRecv 17 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,4:\u0020\u0002\u0000\u0000\r\n`);
      expect(await r.cmdIo("AT+CIPCLOSE")).toBe(`CLOSED\r\n${OK}`);
    } finally {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
  });
});
