/*
 * TLS certificate verification in the driver, against the scripted fake: AT+CIPSSLCCONF before
 * AT+CIPSTART="SSL", a module that cannot verify refused by name (never an unverified link), and
 * SSL connect failures named tls-connect-failed.
 */
import { describe, expect, it } from "vitest";
import { PASSWORD, rig } from "./harness.js";

const ERROR = "\r\nERROR\r\n";
const DIALECTS = ["1.7", "2.x"] as const;

describe("TLS verification", () => {
  for (const dialect of DIALECTS) {
    it(`${dialect}: verification asks the mode, sets AT+CIPSSLCCONF=2, then the SSL CIPSTART`, () => {
      const r = rig({ dialect }, { tls: true, tlsVerify: true, port: 8883 });
      r.openLink();
      const c = r.fake.commands;
      const conf = c.indexOf("AT+CIPSSLCCONF=2");
      expect(c.indexOf("AT+CIPSSLCCONF?")).toBeLessThan(conf);
      const start = c.indexOf('AT+CIPSTART="SSL","mqtts.heclouds.com",8883');
      expect(conf).toBeGreaterThan(-1);
      expect(start).toBeGreaterThan(conf);
      expect(c.includes("AT+CIPSSLCCONF=0")).toBe(false);
      // SNTP on for certificate dates, before the handshake.
      expect(c.indexOf("AT+CIPSNTPCFG=1,0")).toBeGreaterThan(-1);
      expect(c.indexOf("AT+CIPSNTPCFG=1,0")).toBeLessThan(start);
      if (dialect === "1.7") expect(c.indexOf("AT+CIPSSLSIZE=4096")).toBeLessThan(start);
      expect(r.driver.linkUp).toBe(true);
    });

    it(`${dialect}: TLS without verification sets AT+CIPSSLCCONF=0 when the module kept a 2 in flash`, () => {
      const r = rig({ dialect }, { tls: true, tlsVerify: false, port: 8883 });
      r.fake.sslMode = 2;
      r.openLink();
      expect(r.fake.commands.includes("AT+CIPSSLCCONF=0")).toBe(true);
      expect(r.fake.commands.includes("AT+CIPSSLCCONF=2")).toBe(false);
      expect(r.fake.commands.some((c) => c.startsWith("AT+CIPSNTPCFG"))).toBe(false);
    });

    it(`${dialect}: the mode already right: no set (each one may be a flash write), across module resets too`, () => {
      for (const verify of [true, false]) {
        const r = rig({ dialect }, { tls: true, tlsVerify: verify, port: 8883 });
        r.fake.sslMode = verify ? 2 : 0;
        r.openLink();
        expect(r.fake.commands.filter((c) => c.startsWith("AT+CIPSSLCCONF"))).toEqual(["AT+CIPSSLCCONF?"]);
        expect(r.fake.sslSets).toBe(0);
        r.fake.reboot();
        r.until(() => r.session.closes.length > 0);
        r.openLink();
        expect(r.fake.commands.filter((c) => c === "AT+CIPSSLCCONF?")).toHaveLength(2);
        expect(r.fake.sslSets).toBe(0);
        expect(r.driver.linkUp).toBe(true);
      }
    });

    it(`${dialect}: without verification an ERROR to AT+CIPSSLCCONF is harmless (nothing to turn off)`, () => {
      const r = rig({ dialect }, { tls: true, port: 8883 });
      r.fake.script("AT+CIPSSLCCONF=", ERROR);
      r.openLink();
      expect(r.fake.commands.at(-1)).toBe('AT+CIPSTART="SSL","mqtts.heclouds.com",8883');
    });

    it(`${dialect}: a module that answers ERROR to AT+CIPSSLCCONF is refused as tls-verify-unsupported, no CIPSTART, every time`, () => {
      const r = rig({ dialect }, { tls: true, tlsVerify: true, port: 8883 });
      r.fake.script("AT+CIPSSLCCONF", ERROR, 20);
      r.driver.open(r.session);
      r.until(() => r.session.closes.length > 0);
      expect(r.session.closes[0].reason).toBe("connect-failed");
      expect(r.session.closes[0].detail).toContain("tls-verify-unsupported");
      expect(r.driver.lastError).toBe("tls-verify-unsupported");
      expect(r.statuses.some(([s, d]) => s === "link-down" && d.includes("tls-verify-unsupported"))).toBe(true);
      expect(r.fake.commands.some((c) => c.startsWith("AT+CIPSTART"))).toBe(false);
      expect(r.fake.logs.some(([level, m]) => level === "error" && m.includes("AT+CIPSSLCCONF"))).toBe(true);
      // The next open() is refused at once, without resetting the module.
      const resets = r.fake.commands.filter((c) => c === "AT+RST").length;
      r.driver.open(r.session);
      r.until(() => r.session.closes.length > 1);
      expect(r.session.closes[1].detail).toContain("tls-verify-unsupported");
      expect(r.fake.commands.filter((c) => c === "AT+RST")).toHaveLength(resets);
      // A module reset re-asks (still ERROR here), and still no link is tried.
      r.fake.reboot();
      r.run(3000);
      r.driver.open(r.session);
      r.until(() => r.session.closes.length > 2);
      expect(r.session.closes[2].detail).toContain("tls-verify-unsupported");
      expect(r.fake.commands.filter((c) => c === "AT+CIPSSLCCONF=2").length).toBeGreaterThanOrEqual(2);
      expect(r.fake.commands.some((c) => c.startsWith("AT+CIPSTART"))).toBe(false);
      expect(JSON.stringify([r.fake.logs, r.traces, r.statuses, r.session.closes])).not.toContain(PASSWORD);
    });

    it(`${dialect}: a refused SSL CIPSTART (bad certificate or no server) is tls-connect-failed, then recovery`, () => {
      const r = rig({ dialect }, { tls: true, tlsVerify: true, port: 8883 });
      r.fake.script("AT+CIPSTART=", dialect === "1.7" ? ERROR + "CLOSED\r\n" : ERROR);
      r.driver.open(r.session);
      r.until(() => r.session.closes.length > 0);
      expect(r.session.closes[0].reason).toBe("connect-failed");
      expect(r.driver.lastError).toBe("tls-connect-failed");
      expect(r.session.closes[0].detail).toContain("tls-connect-failed");
      r.openLink();
      expect(r.driver.linkUp).toBe(true);
    });
  }

  it("2.x: tlsServerName goes out as AT+CIPSSLCSNI and AT+CIPSSLCCN before the CIPSTART to the address", () => {
    const r = rig({ dialect: "2.x" }, { tls: true, tlsVerify: true, host: "183.230.40.16", port: 8883, tlsServerName: "mqttstls.heclouds.com" });
    r.openLink();
    const c = r.fake.commands;
    const start = c.indexOf('AT+CIPSTART="SSL","183.230.40.16",8883');
    expect(c.indexOf('AT+CIPSSLCSNI="mqttstls.heclouds.com"')).toBeGreaterThan(-1);
    expect(c.indexOf('AT+CIPSSLCSNI="mqttstls.heclouds.com"')).toBeLessThan(start);
    expect(c.indexOf('AT+CIPSSLCCN="mqttstls.heclouds.com"')).toBeLessThan(start);
    expect(c.indexOf('AT+CIPSSLCCN="mqttstls.heclouds.com"')).toBeGreaterThan(-1);
  });

  it("2.x: an ERROR to AT+CIPSSLCCN with verification is tls-server-name-unsupported, no CIPSTART; without verification only SNI matters", () => {
    const r = rig({ dialect: "2.x" }, { tls: true, tlsVerify: true, port: 8883, tlsServerName: "broker.example" });
    r.fake.script("AT+CIPSSLCCN=", ERROR, 5);
    r.driver.open(r.session);
    r.until(() => r.session.closes.length > 0);
    expect(r.driver.lastError).toBe("tls-server-name-unsupported");
    expect(r.session.closes[0]).toMatchObject({ reason: "connect-failed" });
    expect(r.fake.commands.some((c) => c.startsWith("AT+CIPSTART"))).toBe(false);

    const q = rig({ dialect: "2.x" }, { tls: true, tlsVerify: false, port: 8883, tlsServerName: "broker.example" });
    q.fake.script("AT+CIPSSLCCN=", ERROR).script("AT+CIPSSLCSNI=", ERROR);
    q.openLink();
    expect(q.fake.logs.some(([level, m]) => level === "warn" && m.includes("SNI"))).toBe(true);
  });

  it("1.7: tlsServerName is not sent (no such commands; 1.7 checks no name), with a warning; the link still opens", () => {
    const r = rig({ dialect: "1.7" }, { tls: true, tlsVerify: true, port: 8883, tlsServerName: "mqttstls.heclouds.com" });
    r.openLink();
    expect(r.fake.commands.some((c) => c.startsWith("AT+CIPSSLCSNI") || c.startsWith("AT+CIPSSLCCN"))).toBe(false);
    expect(r.fake.logs.some(([level, m]) => level === "warn" && m.includes("tlsServerName"))).toBe(true);
    expect(r.driver.linkUp).toBe(true);
  });

  it("an ERROR to AT+CIPSNTPCFG is a warning, not a refusal", () => {
    const r = rig({ dialect: "1.7" }, { tls: true, tlsVerify: true, port: 8883 });
    r.fake.script("AT+CIPSNTPCFG=", ERROR);
    r.openLink();
    expect(r.fake.logs.some(([level, m]) => level === "warn" && m.includes("AT+CIPSNTPCFG"))).toBe(true);
    expect(r.driver.linkUp).toBe(true);
  });

  it("plain TCP sends no AT+CIPSSLCCONF", () => {
    const r = rig({ dialect: "2.x" }, { tlsVerify: true });
    r.openLink();
    expect(r.fake.commands.some((c) => c.startsWith("AT+CIPSSLCCONF"))).toBe(false);
    expect(r.fake.commands.at(-1)).toBe('AT+CIPSTART="TCP","mqtts.heclouds.com",1883');
  });
});
