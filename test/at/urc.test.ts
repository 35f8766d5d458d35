/*
 * The table of unsolicited lines (firmware/at/urc.ts): what each entry matches, and what the
 * driver does with a line no entry knows (ignored and counted, the link unharmed).
 */
import { describe, expect, it } from "vitest";
import { StreamLines, URCS, findUrc } from "../../firmware/at/urc.js";
import { bytes, rig } from "./harness.js";

const find = (text: string) => {
  const line = bytes(text);
  const urc = findUrc(line, line.length);
  return urc === null ? null : URCS.indexOf(urc);
};
const entry = (text: string) => URCS.findIndex((u) => Buffer.from(u.text).toString("latin1") === text);

describe("URC table", () => {
  it("matches each unsolicited line by prefix, whole line (with or without a link id) or suffix", () => {
    expect(find("+IPD,128")).toBe(entry("+IPD,"));
    expect(find("+IPD,0,128")).toBe(entry("+IPD,"));
    expect(find("CLOSED")).toBe(entry("CLOSED"));
    expect(find("0,CLOSED")).toBe(entry("CLOSED"));
    expect(find("WIFI DISCONNECT")).toBe(entry("WIFI DISCONNECT"));
    expect(find("WIFI GOT IP")).toBe(entry("WIFI GOT IP"));
    expect(find("WIFI CONNECTED")).toBe(entry("WIFI CONNECTED"));
    expect(find("ready")).toBe(entry("ready"));
    expect(find("\x8e\xf2 boot noise ready")).toBe(entry("ready"));
  });

  it("knows nothing of other lines, nor of near misses", () => {
    for (const text of ["", "OK", "CLOSED!", "x,CLOSED", ",CLOSED", "WIFI DISCONNECTED", "WIFI", "readyx", "+IPD", "+CWJAP:2", "\x00\xff"]) {
      expect(find(text), JSON.stringify(text)).toBe(null);
    }
  });

  it("StreamLines finds only the module's own lines in a raw stream, across chunks", () => {
    const lines = new StreamLines();
    const stream = bytes("\x30\x05ab\r\nxyz\r\nWIFI GOT IP\r\nnoise\x90\x91ready\r\nafter");
    let found = null;
    for (let i = 0; i < stream.length && found === null; i += 3) found = lines.scan(stream, i, Math.min(3, stream.length - i));
    // WIFI GOT IP is not printed in transparent mode: only `ready`, `WIFI DISCONNECT`, `CLOSED` are looked for.
    expect(found).toBe(URCS[entry("ready")]);
    expect(Buffer.from(stream.subarray(lines.end)).toString("latin1")).toBe("after");
  });
});

describe("the driver and unknown unsolicited lines", () => {
  for (const mode of ["active", "passive"] as const) {
    it(`${mode}: an unknown line is ignored and counted; the link and its data are unharmed`, () => {
      const r = rig({}, { receiveMode: mode });
      r.openLink();
      const before = r.driver.stats.unknownLines;
      r.fake.emit("\r\n+NEWURC:1,2,3\r\n");
      r.fake.emit("\r\nsomething the table does not know\r\n");
      r.fake.emit(`\r\n${"x".repeat(300)}\r\n`); // longer than the line buffer: discarded as an overflow
      r.run(100);
      expect(r.driver.stats.unknownLines).toBe(before + 2);
      expect(r.driver.stats.parserOverflows).toBe(1);
      expect(r.driver.linkUp).toBe(true);
      r.fake.serverSends(bytes("still here"));
      r.run(1_000);
      expect(Buffer.from(r.session.received).toString("latin1")).toBe("still here");
      expect(r.clock.errors).toEqual([]);
    });
  }
});
