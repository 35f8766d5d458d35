/*
 * The emulator's answers, byte for byte, in both dialects, driven with raw AT lines.
 */
import { afterEach, describe, expect, it } from "vitest";
import { redact } from "../../host-sim/esp8266/emulator.js";
import { rig, takeClockErrors } from "./rig.js";

afterEach(() => {
  expect(takeClockErrors()).toEqual([]);
});

const OK = "\r\nOK\r\n";
const ERROR = "\r\nERROR\r\n";

describe.each([1, 16] as const)("chunk size %i", (chunkSize) => {
  describe.each(["1.7", "2.x"] as const)("dialect %s", (dialect) => {
    const is17 = dialect === "1.7";
    const make = () => rig({ dialect, uart: { chunkSize } });

    it("boots with noise, then ready; echo is on until ATE0", () => {
      const r = make();
      const boot = r.boot();
      expect(boot.endsWith("\r\nready\r\n")).toBe(true);
      expect(boot.length).toBeGreaterThan(48);
      expect([...boot.slice(0, 48)].every((c) => c.charCodeAt(0) >= 0x80)).toBe(true);
      expect(r.cmd("AT")).toBe(`AT\r\n${OK}`);
      expect(r.cmd("ATE0")).toBe(`ATE0\r\n${OK}`);
      expect(r.cmd("AT")).toBe(OK);
      expect(r.cmd("ATE1")).toBe(OK);
      expect(r.cmd("AT")).toBe(`AT\r\n${OK}`);
    });

    it("ignores input before ready", () => {
      const r = make();
      r.esp.powerOn();
      r.write("AT\r\n");
      r.clock.advance(100);
      expect(r.take()).not.toContain("OK");
      r.clock.advance(1000);
      expect(r.cmd("AT")).toBe(`AT\r\n${OK}`);
    });

    it("answers AT+GMR with four version lines and the dialect's version", () => {
      const r = make();
      r.boot();
      r.cmd("ATE0");
      const gmr = r.cmd("AT+GMR");
      const lines = gmr.split("\r\n");
      expect(lines[0]).toMatch(is17 ? /^AT version:1\.7\.\d/ : /^AT version:2\.\d/);
      expect(lines.length).toBe(7); // 4 lines, blank, OK, ""
      expect(gmr.endsWith(`\r\n${OK}`)).toBe(true);
    });

    it("AT+SYSSTORE=0 exists only on 2.x; _CUR/_DEF only on 1.7", () => {
      const r = make();
      r.boot();
      r.cmd("ATE0");
      expect(r.cmd("AT+SYSSTORE=0")).toBe(is17 ? ERROR : OK);
      expect(r.cmd("AT+CWMODE=1")).toBe(OK);
      expect(r.cmd("AT+CWMODE_CUR=1")).toBe(is17 ? OK : ERROR);
      expect(r.cmd("AT+CWMODE?")).toBe(`+CWMODE:1\r\n${OK}`);
      expect(r.cmd("AT+CWMODE=7")).toBe(ERROR);
      expect(r.cmd("AT+CIPSSLSIZE=4096")).toBe(is17 ? OK : ERROR);
    });

    it("unknown commands and lines without AT get ERROR; text before AT is ignored", () => {
      const r = make();
      r.boot();
      r.cmd("ATE0");
      expect(r.cmd("AT+NOPE")).toBe(ERROR);
      expect(r.cmd("hello")).toBe(ERROR);
      expect(r.cmd("")).toBe(ERROR);
      expect(r.cmd("\u00ff\u00feAT")).toBe(OK);
      expect(r.cmd("AT\r\r")).toBe(OK);
    });

    it("joins the AP in seconds: WIFI CONNECTED, WIFI GOT IP, OK", () => {
      const r = make();
      r.boot();
      r.cmd("ATE0");
      r.write('AT+CWJAP="onenet-lab","password123"\r\n');
      r.clock.advance(1500);
      expect(r.take()).toBe("");
      r.clock.advance(600);
      expect(r.take()).toBe("WIFI CONNECTED\r\n");
      r.clock.advance(1500);
      expect(r.take()).toBe(`WIFI GOT IP\r\n${OK}`);
      expect(r.cmd("AT+CIFSR")).toBe(`+CIFSR:STAIP,"192.168.31.107"\r\n+CIFSR:STAMAC,"5c:cf:7f:8a:26:01"\r\n${OK}`);
      expect(r.cmd("AT+CWJAP?")).toMatch(/^\+CWJAP:"onenet-lab","[0-9a-f:]+",6,-\d+\r\n\r\nOK\r\n$/);
      // Joining again while connected drops the old association first.
      expect(r.cmd('AT+CWJAP="onenet-lab","password123"', 3100)).toBe(
        `WIFI DISCONNECT\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n${OK}`,
      );
    });

    it("reports CWJAP failures with their codes (FAIL on 1.7, ERROR on 2.x)", () => {
      const r = make();
      r.boot();
      r.cmd("ATE0");
      const tail = is17 ? "\r\nFAIL\r\n" : ERROR;
      expect(r.cmd('AT+CWJAP="onenet-lab","wrong"', 4100)).toBe(`+CWJAP:2\r\n${tail}`);
      expect(r.cmd('AT+CWJAP="elsewhere","password123"', 4100)).toBe(`+CWJAP:3\r\n${tail}`);
      r.esp.joinFailure(4);
      expect(r.cmd('AT+CWJAP="onenet-lab","password123"', 4100)).toBe(`+CWJAP:4\r\n${tail}`);
      r.esp.joinFailure(1);
      expect(r.cmd('AT+CWJAP="onenet-lab","password123"', 4100)).toBe("");
      r.clock.advance(11_000);
      expect(r.take()).toBe(`+CWJAP:1\r\n${tail}`);
      expect(r.cmd("AT+CWJAP?")).toBe(`No AP\r\n${OK}`);
      expect(r.cmd('AT+CWJAP="onenet-lab"')).toBe(ERROR);
      // And it still joins when nothing is wrong.
      expect(r.cmd('AT+CWJAP="onenet-lab","password123"', 3100)).toBe(`WIFI CONNECTED\r\nWIFI GOT IP\r\n${OK}`);
    });

    it("unescapes \\\" \\, \\\\ in the SSID and password", () => {
      const r = rig({ dialect, uart: { chunkSize }, accessPoints: [{ ssid: 'lab "5G",2', password: "p\\w,d" }] });
      r.boot();
      r.cmd("ATE0");
      expect(r.cmd('AT+CWJAP="lab \\"5G\\"\\,2","p\\\\w\\,d"', 3100)).toBe(`WIFI CONNECTED\r\nWIFI GOT IP\r\n${OK}`);
    });

    it("says busy p... to a line that arrives while a command runs, and drops it", () => {
      const r = make();
      r.boot();
      r.cmd("ATE0");
      r.write('AT+CWJAP="onenet-lab","password123"\r\n');
      r.clock.advance(100);
      r.write("AT\r\n");
      r.clock.advance(100);
      expect(r.take()).toBe("\r\nbusy p...\r\n");
      r.clock.advance(3000);
      expect(r.take()).toBe(`WIFI CONNECTED\r\nWIFI GOT IP\r\n${OK}`);
      // Two commands back to back: the second arrives before the first has answered.
      r.write("AT\r\nAT\r\n");
      r.clock.advance(50);
      expect(r.take()).toBe(`\r\nbusy p...\r\n${OK}`);
    });

    it("busyBurst answers every line with busy p... for a while", () => {
      const r = make();
      r.boot();
      r.cmd("ATE0");
      r.esp.busyBurst(500);
      expect(r.cmd("AT")).toBe("\r\nbusy p...\r\n");
      r.clock.advance(500);
      expect(r.cmd("AT")).toBe(OK);
      expect(r.esp.stats.busy).toBe(1);
    });

    it("AT+RST: OK, boot noise, ready, and everything volatile is back to defaults", () => {
      const r = make();
      r.ready();
      expect(r.cmd("AT+CIPMUX=1")).toBe(OK);
      const out = r.cmd("AT+RST", 1000);
      expect(out.startsWith(OK)).toBe(true);
      expect(out.endsWith("\r\nready\r\n")).toBe(true);
      expect(r.cmd("AT")).toBe(`AT\r\n${OK}`); // echo on again
      expect(r.cmd("AT+CIPMUX?")).toBe(`AT+CIPMUX?\r\n+CIPMUX:0\r\n${OK}`);
      // The saved AP comes back by itself.
      r.clock.advance(4000);
      expect(r.take()).toBe("WIFI CONNECTED\r\nWIFI GOT IP\r\n");
    });

    it("AT+CIPSTA? shows the address once WiFi is up", () => {
      const r = make();
      r.boot();
      r.cmd("ATE0");
      expect(r.cmd("AT+CIPSTA?")).toBe(
        `+CIPSTA:ip:"0.0.0.0"\r\n+CIPSTA:gateway:"0.0.0.0"\r\n+CIPSTA:netmask:"0.0.0.0"\r\n${OK}`,
      );
      r.cmd('AT+CWJAP="onenet-lab","password123"', 3100);
      expect(r.cmd("AT+CIPSTA?")).toBe(
        `+CIPSTA:ip:"192.168.31.107"\r\n+CIPSTA:gateway:"192.168.31.1"\r\n+CIPSTA:netmask:"255.255.255.0"\r\n${OK}`,
      );
    });

    it("AT+CIPSTATUS: 5 without WiFi, 2 with an IP", () => {
      const r = make();
      r.boot();
      r.cmd("ATE0");
      expect(r.cmd("AT+CIPSTATUS")).toBe(`STATUS:5\r\n${OK}`);
      r.cmd('AT+CWJAP="onenet-lab","password123"', 3100);
      expect(r.cmd("AT+CIPSTATUS")).toBe(`STATUS:2\r\n${OK}`);
    });

    it("CIPSTART without an IP", () => {
      const r = make();
      r.boot();
      r.cmd("ATE0");
      expect(r.cmd('AT+CIPSTART="TCP","broker.local",1883')).toBe(is17 ? `no ip\r\n${ERROR}` : ERROR);
      expect(r.cmd("AT+CIPSEND=4")).toBe(is17 ? `link is not valid\r\n${ERROR}` : ERROR);
      expect(r.cmd("AT+CIPCLOSE")).toBe(is17 ? `UNLINK\r\n${ERROR}` : ERROR);
    });

    it("a hung module says nothing until its reset pin is pulsed", () => {
      const r = make();
      r.ready();
      r.esp.unresponsive(true);
      expect(r.cmd("AT", 2000)).toBe("");
      expect(r.cmd("AT+RST", 2000)).toBe("");
      r.esp.resetPin.write(0);
      r.clock.advance(10);
      r.esp.resetPin.write(1);
      r.clock.advance(1000);
      expect(r.take().endsWith("\r\nready\r\n")).toBe(true);
      expect(r.cmd("AT")).toBe(`AT\r\n${OK}`);
    });

    it("never puts the WiFi password in an event", () => {
      const r = make();
      r.ready();
      r.cmd('AT+CWJAP_DEF="onenet-lab","password123"', 3100);
      const text = JSON.stringify(r.events);
      expect(text).toContain("onenet-lab");
      expect(text).not.toContain("password123");
      expect(r.esp.stats.commands["AT+CWJAP"]).toBe(1);
      expect(redact('AT+CWJAP="a\\"b","secret,\\"x"')).toBe('AT+CWJAP="a\\"b","***"');
    });

    it("AT+CIPSNTPTIME? gives the board's wall time", () => {
      const r = make();
      r.ready();
      r.clock.advance(60_000 - r.clock.now());
      // wallOffset is 15:07:43 UTC; one virtual minute later (plus the command latency).
      expect(r.cmd("AT+CIPSNTPTIME?")).toBe(`+CIPSNTPTIME:Sun Nov 22 15:08:43 2026\r\n${OK}`);
    });

    it("AT+UART_CUR answers OK at the old rate, then switches", () => {
      const r = make();
      r.ready();
      expect(r.uart.byteTimeMs).toBeCloseTo(10_000 / 115_200, 9);
      expect(r.cmd("AT+UART_CUR=921600,8,1,0,0")).toBe(OK);
      expect(r.uart.byteTimeMs).toBeCloseTo(10_000 / 921_600, 9);
      expect(r.cmd("AT")).toBe(OK);
      expect(r.cmd("AT+UART_CUR=921600,7,1,0,0")).toBe(ERROR);
    });
  });
});
