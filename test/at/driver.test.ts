import { describe, expect, it } from "vitest";
import { bytes, rig, trickyPayload } from "./harness.js";

describe("Esp8266Driver start-up", () => {
  for (const dialect of ["1.7", "2.x"] as const) {
    it(`brings the link up on ${dialect} with AT+RST, in order, escaping the credentials`, () => {
      const r = rig({ dialect });
      r.openLink();
      expect(r.driver.dialect).toBe(dialect);
      expect(r.fake.commands).toEqual([
        "AT+RST",
        "ATE0",
        "AT+GMR",
        ...(dialect === "2.x" ? ["AT+SYSSTORE=0"] : []),
        "AT+CWMODE=1",
        "AT+CIPMUX=0",
        'AT+CWJAP="Home\\,AP","pa\\"ss\\,w\\\\rd-SECRET"',
        'AT+CIPSTART="TCP","mqtts.heclouds.com",1883',
      ]);
      expect(r.driver.linkUp).toBe(true);
      expect(r.statuses.map((s) => s[0])).toEqual([
        "link-opening",
        "module-starting",
        "module-ready",
        "wifi-joining",
        "wifi-up",
        "link-opening",
        "link-up",
      ]);
      expect(r.clock.errors).toEqual([]);
    });
  }
});

describe("Esp8266Driver data in every receive mode", () => {
  const modes = ["active", "passive", "transparent"] as const;
  for (const dialect of ["1.7", "2.x"] as const) {
    for (const mode of modes) {
      for (const chunk of [1, 2, 3, 7, 16, 64]) {
        it(`${dialect} ${mode}, UART chunks of ${chunk}: bytes both ways arrive exactly once, in order`, () => {
          const r = rig({ dialect, uart: { chunkSize: chunk, txFifoSize: chunk === 1 ? 1 : 128 } }, { receiveMode: mode, rxChunkSize: 256, txBufferSize: 3000 });
          r.openLink();
          expect(r.driver.receiveMode).toBe(mode);
          const out = trickyPayload(3000, chunk);
          // Several sends, queued together beyond one CIPSEND chunk, the last one after a wait.
          expect(r.driver.send(out, 0, 1000)).toBe(true);
          expect(r.driver.send(out, 1000, 1200)).toBe(true);
          expect(r.driver.send(out, 2200, 2000)).toBe(false);
          r.run(1);
          expect(r.until(() => r.driver.sendSpace >= 800, 60_000)).toBe(true);
          expect(r.driver.send(out, 2200, 800)).toBe(true);
          expect(r.until(() => r.fake.payload.length >= out.length, 120_000)).toBe(true);
          r.run(100);
          expect(Buffer.from(r.fake.payload)).toEqual(Buffer.from(out));
          if (mode !== "transparent") expect(Math.max(...r.fake.sends)).toBeLessThanOrEqual(2048);

          const incoming = trickyPayload(2500, chunk + 100);
          r.fake.serverSends(incoming.subarray(0, 700));
          r.fake.serverSends(incoming.subarray(700));
          expect(r.until(() => r.session.received.length >= incoming.length, 120_000)).toBe(true);
          r.run(200);
          expect(Buffer.from(r.session.received)).toEqual(Buffer.from(incoming));
          expect(r.session.closes).toEqual([]);
          expect(r.clock.errors).toEqual([]);
          expect(r.driver.stats.droppedBytes).toBe(0);
          if (mode === "passive") expect(r.fake.commands.some((c) => c.startsWith("AT+CIPRECVDATA=256"))).toBe(true);
        });
      }
    }
  }

  it("refuses what does not fit the TX ring and reports the space", () => {
    const r = rig({}, { txBufferSize: 1000 });
    expect(r.driver.sendSpace).toBe(0);
    expect(r.driver.send(bytes("x"), 0, 1)).toBe(false);
    r.openLink();
    expect(r.driver.sendSpace).toBe(1000);
    expect(r.driver.send(new Uint8Array(600), 0, 600)).toBe(true);
    expect(r.driver.sendSpace).toBe(400);
    expect(r.driver.send(new Uint8Array(401), 0, 401)).toBe(false);
    expect(r.driver.send(new Uint8Array(400), 0, 400)).toBe(true);
    r.until(() => r.fake.payload.length === 1000);
    r.run(50);
    expect(r.driver.sendSpace).toBe(1000);
    expect(r.driver.stats.payloadBytesSent).toBe(1000);
  });

  it("tolerates a read that returns nothing", () => {
    const r = rig({ flakyRead: true, uart: { chunkSize: 5 } });
    r.openLink();
    const incoming = trickyPayload(500, 9);
    r.fake.serverSends(incoming);
    expect(r.until(() => r.session.received.length >= 500)).toBe(true);
    expect(Buffer.from(r.session.received)).toEqual(Buffer.from(incoming));
  });

});
