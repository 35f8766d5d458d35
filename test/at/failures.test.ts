/*
 * Every failure in the reference's list (shared/reference/esp-at.md), against the scripted fake:
 * each one is named, reported upward with the right LinkDownReason, and recovered from.
 */
import { describe, expect, it } from "vitest";
import { PASSWORD, bytes, rig, trickyPayload } from "./harness.js";

const OK = "\r\nOK\r\n";
const ERROR = "\r\nERROR\r\n";
const DIALECTS = ["1.7", "2.x"] as const;

describe("WiFi join failures", () => {
  const names = { 1: "wifi-timeout", 2: "wifi-wrong-password", 3: "wifi-ap-not-found", 4: "wifi-connect-failed" } as const;
  for (const dialect of DIALECTS) {
    for (const code of [1, 2, 3, 4] as const) {
      it(`${dialect}: +CWJAP:${code} is ${names[code]}, and the next open joins again`, () => {
        const r = rig({ dialect });
        r.fake.script("AT+CWJAP=", [
          [3000, "WIFI DISCONNECT\r\n"],
          [10, `+CWJAP:${code}\r\n`],
          [1, dialect === "1.7" ? "\r\nFAIL\r\n" : ERROR],
        ]);
        r.driver.open(r.session);
        r.until(() => r.session.closes.length > 0);
        expect(r.session.closes).toEqual([{ reason: "wifi-join-failed", detail: `${names[code]} (+CWJAP:${code})` }]);
        expect(r.driver.lastError).toBe(names[code]);
        expect(r.driver.moduleReady).toBe(true);
        r.openLink();
        // Straight to the join: the module stayed initialised.
        expect(r.fake.commands.slice(-2)).toEqual([expect.stringMatching(/^AT\+CWJAP=/), expect.stringMatching(/^AT\+CIPSTART=/)]);
        expect(r.fake.commands.filter((c) => c === "AT+RST")).toHaveLength(1);
      });
    }
  }

  it("a join that never answers times out after 20 s as wifi-timeout", () => {
    const r = rig();
    r.fake.script("AT+CWJAP=", []);
    r.driver.open(r.session);
    r.until(() => r.session.closes.length > 0, 40_000);
    expect(r.session.lastClose).toBe("wifi-join-failed");
    expect(r.driver.lastError).toBe("wifi-timeout");
    r.openLink();
  });

  it("refuses credentials the module cannot take, naming the problem but not the password", () => {
    const r = rig({}, { password: "x".repeat(65) });
    r.driver.open(r.session);
    r.until(() => r.session.closes.length > 0);
    expect(r.driver.lastError).toBe("config-invalid");
    expect(r.session.closes[0].detail).toMatch(/password must be at most 64 bytes/);
    expect(r.session.closes[0].detail).not.toContain("xxxx");
    expect(r.fake.commands.some((c) => c.startsWith("AT+CWJAP"))).toBe(false);
  });
});

describe("connect failures", () => {
  it("1.7 DNS Fail is dns-failed", () => {
    const r = rig({ dialect: "1.7" });
    r.fake.script("AT+CIPSTART=", "DNS Fail\r\n" + ERROR);
    r.driver.open(r.session);
    r.until(() => r.session.closes.length > 0);
    expect(r.session.closes[0]).toEqual({ reason: "connect-failed", detail: "dns-failed (mqtts.heclouds.com:1883)" });
    expect(r.driver.lastError).toBe("dns-failed");
    r.openLink();
  });

  it("1.7 no ip is no-ip, and the next open joins WiFi again before CIPSTART", () => {
    const r = rig({ dialect: "1.7" });
    r.fake.script("AT+CIPSTART=", "no ip\r\n" + ERROR);
    r.driver.open(r.session);
    r.until(() => r.session.closes.length > 0);
    expect(r.driver.lastError).toBe("no-ip");
    expect(r.driver.wifiUp).toBe(false);
    r.openLink();
    expect(r.fake.commands.slice(-3)).toEqual([
      expect.stringMatching(/^AT\+CIPSTART=/),
      expect.stringMatching(/^AT\+CWJAP=/),
      expect.stringMatching(/^AT\+CIPSTART=/),
    ]);
  });

  it("1.7 refused (ERROR then CLOSED) is connect-refused", () => {
    const r = rig({ dialect: "1.7" });
    r.fake.script("AT+CIPSTART=", ERROR + "CLOSED\r\n");
    r.driver.open(r.session);
    r.until(() => r.session.closes.length > 0);
    expect(r.driver.lastError).toBe("connect-refused");
    expect(r.session.lastClose).toBe("connect-failed");
    r.openLink();
  });

  it("2.x bare ERROR is connect-failed", () => {
    const r = rig({ dialect: "2.x" });
    r.fake.script("AT+CIPSTART=", ERROR);
    r.driver.open(r.session);
    r.until(() => r.session.closes.length > 0);
    expect(r.driver.lastError).toBe("connect-failed");
    r.openLink();
  });

  it("no answer to CIPSTART in 10 s is connect-timeout", () => {
    const r = rig();
    r.fake.script("AT+CIPSTART=", []);
    r.driver.open(r.session);
    const t0 = r.clock.now();
    r.until(() => r.session.closes.length > 0);
    expect(r.driver.lastError).toBe("connect-timeout");
    expect(r.clock.now() - t0).toBeGreaterThanOrEqual(10_000);
    r.openLink();
  });

  it("1.7 ALREADY CONNECTED: closes the stale link and connects again", () => {
    const r = rig({ dialect: "1.7" });
    r.openLink();
    r.fake.link = true;
    r.fake.script("AT+CIPSTART=", "ALREADY CONNECTED\r\n" + ERROR);
    r.fake.emit("CLOSED\r\n"); // drop our link; the fake still believes it has one
    r.until(() => r.session.closes.length > 0);
    r.fake.link = true;
    r.openLink();
    expect(r.fake.commands.slice(-3)).toEqual([
      expect.stringMatching(/^AT\+CIPSTART=/),
      "AT+CIPCLOSE",
      expect.stringMatching(/^AT\+CIPSTART=/),
    ]);
    expect(r.session.opens).toBe(2);
  });

  it("three failed connects in a row start the next open from the top", () => {
    const r = rig({ dialect: "2.x" });
    r.fake.script("AT+CIPSTART=", ERROR, 3);
    for (let i = 0; i < 3; i++) {
      r.driver.open(r.session);
      r.until(() => r.session.closes.length > i);
    }
    r.openLink();
    expect(r.fake.commands.filter((c) => c === "AT+RST")).toHaveLength(2);
  });
});

describe("send failures", () => {
  for (const dialect of DIALECTS) {
    it(`${dialect}: SEND FAIL (then a late SEND OK) is send-failed; the link is closed and reopens cleanly`, () => {
      const r = rig({ dialect });
      r.openLink();
      r.fake.sendFailNext = true;
      r.driver.send(bytes("hello"), 0, 5);
      r.until(() => r.session.closes.length > 0);
      expect(r.session.closes[0].reason).toBe("send-failed");
      expect(r.driver.lastError).toBe("send-failed");
      expect(r.driver.send(bytes("x"), 0, 1)).toBe(false);
      r.openLink();
      expect(r.fake.commands.slice(-3)).toEqual(["AT+CIPSEND=5", "AT+CIPCLOSE", expect.stringMatching(/^AT\+CIPSTART=/)]);
      r.driver.send(bytes("world"), 0, 5);
      r.until(() => r.fake.payload.length === 10);
      r.run(100);
      expect(Buffer.from(r.fake.payload).toString()).toBe("helloworld");
      expect(r.session.closes).toHaveLength(1);
    });
  }

  it("1.7 link is not valid on CIPSEND is send-failed", () => {
    const r = rig({ dialect: "1.7" });
    r.openLink();
    r.fake.link = false;
    r.driver.send(bytes("hello"), 0, 5);
    r.until(() => r.session.closes.length > 0);
    expect(r.session.closes[0]).toEqual({ reason: "send-failed", detail: "link is not valid" });
    expect(r.driver.lastError).toBe("link-invalid");
    r.openLink();
  });

  it("no SEND OK within 10 s is send-timeout", () => {
    const r = rig();
    r.openLink();
    r.fake.script("AT+CIPSEND=", "\r\nOK\r\n\r\n>");
    r.driver.send(bytes("hello"), 0, 5);
    r.until(() => r.session.closes.length > 0, 30_000);
    expect(r.session.lastClose).toBe("send-failed");
    expect(r.driver.lastError).toBe("send-timeout");
  });

  it("unsolicited lines around the prompt, and +IPD between `>` and the data, change nothing", () => {
    for (const dialect of DIALECTS) {
      const r = rig({ dialect, uart: { chunkSize: 3 } });
      r.openLink();
      r.fake.beforePrompt = "\r\nWIFI CONNECTED\r\n";
      r.fake.afterPrompt = "\r\n+IPD,9:\r\nSEND OK" + (dialect === "2.x" ? "\r\n" : "");
      const out = trickyPayload(300, 3);
      r.driver.send(out, 0, out.length);
      r.until(() => r.fake.payload.length === 300);
      r.run(100);
      expect(Buffer.from(r.fake.payload)).toEqual(Buffer.from(out));
      expect(Buffer.from(r.session.received).toString()).toBe("\r\nSEND OK");
      expect(r.session.closes).toEqual([]);
    }
  });
});

describe("busy", () => {
  it("retries a command answered busy p... with back-off", () => {
    const r = rig();
    r.fake.script("AT+CWMODE=1", "\r\nbusy p...\r\n", 2);
    r.openLink();
    expect(r.fake.commands.filter((c) => c === "AT+CWMODE=1")).toHaveLength(3);
    expect(r.driver.stats.busyRetries).toBe(2);
  });

  it("retries CIPSEND answered busy s... and sends each byte once", () => {
    const r = rig({ dialect: "1.7" });
    r.openLink();
    r.fake.script("AT+CIPSEND=", "\r\nbusy s...\r\n");
    r.driver.send(bytes("abc"), 0, 3);
    r.until(() => r.fake.payload.length === 3);
    r.run(100);
    expect(Buffer.from(r.fake.payload).toString()).toBe("abc");
    expect(r.fake.commands.filter((c) => c.startsWith("AT+CIPSEND"))).toHaveLength(2);
  });

  it("gives up with busy when the module stays busy", () => {
    const r = rig();
    r.fake.script("AT+CIPMUX=0", "\r\nbusy p...\r\n", 100);
    r.driver.open(r.session);
    r.until(() => r.session.closes.length > 0);
    expect(r.driver.lastError).toBe("busy");
  });
});

describe("link loss", () => {
  for (const dialect of DIALECTS) {
    it(`${dialect}: CLOSED is closed-by-peer; reopening goes straight to CIPSTART`, () => {
      const r = rig({ dialect });
      r.openLink();
      const before = r.fake.commands.length;
      r.fake.link = false;
      r.fake.emit("CLOSED\r\n");
      r.until(() => r.session.closes.length > 0);
      expect(r.session.closes[0].reason).toBe("closed-by-peer");
      r.openLink();
      expect(r.fake.commands.slice(before)).toEqual([expect.stringMatching(/^AT\+CIPSTART=/)]);
    });

    it(`${dialect}: WIFI DISCONNECT is wifi-lost; the next open rejoins`, () => {
      const r = rig({ dialect });
      r.openLink();
      r.fake.link = false;
      r.fake.emit("WIFI DISCONNECT\r\n");
      r.until(() => r.session.closes.length > 0);
      expect(r.session.closes[0].reason).toBe("wifi-lost");
      expect(r.driver.wifiUp).toBe(false);
      r.fake.emit("CLOSED\r\n");
      r.run(100);
      expect(r.session.closes).toHaveLength(1);
      const before = r.fake.commands.length;
      r.openLink();
      expect(r.fake.commands.slice(before)).toEqual([expect.stringMatching(/^AT\+CWJAP=/), expect.stringMatching(/^AT\+CIPSTART=/)]);
    });

    it(`${dialect}: a module reset (ready mid-stream) is module-reset; init runs again from ATE0`, () => {
      const r = rig({ dialect, uart: { chunkSize: 4 } });
      r.openLink();
      r.fake.serverSends(bytes("before"));
      r.run(50);
      r.fake.reboot();
      r.until(() => r.session.closes.length > 0);
      expect(r.session.closes[0].reason).toBe("module-reset");
      expect(Buffer.from(r.session.received).toString()).toBe("before");
      r.until(() => r.driver.moduleReady);
      const before = r.fake.commands.length;
      r.openLink();
      expect(r.fake.commands.slice(before)).toEqual([expect.stringMatching(/^AT\+CWJAP=/), expect.stringMatching(/^AT\+CIPSTART=/)]);
      expect(r.fake.commands.filter((c) => c === "ATE0")).toHaveLength(2);
      expect(r.fake.commands.filter((c) => c === "AT+RST")).toHaveLength(1);
    });
  }

  it("a reset while opening does not end the open: init restarts and the link comes up", () => {
    const r = rig();
    r.fake.script("AT+CWJAP=", () => {
      r.fake.reboot();
      return [];
    });
    r.openLink();
    expect(r.fake.commands.filter((c) => c.startsWith("AT+CWJAP"))).toHaveLength(2);
    expect(r.session.closes).toEqual([]);
  });
});

describe("an unresponsive module", () => {
  it("three timeouts in a row: module-unresponsive, then a reset and a full init", () => {
    const r = rig();
    r.openLink();
    r.fake.silent = true;
    r.driver.send(bytes("hi"), 0, 2);
    r.until(() => r.session.closes.length > 0, 60_000);
    expect(r.session.closes[0].reason).toBe("send-failed");
    r.driver.open(r.session);
    r.until(() => r.session.closes.length > 1, 60_000);
    expect(r.session.closes[1].reason).toBe("module-unresponsive");
    expect(r.driver.lastError).toBe("module-not-responding");
    r.fake.silent = false;
    r.until(() => r.driver.moduleReady, 60_000);
    r.openLink();
    expect(r.fake.commands.filter((c) => c === "AT+RST")).toHaveLength(2);
  });

  it("a module silent from the start: AT+RST, `+++` in case it sits in passthrough, then module-unresponsive", () => {
    const r = rig();
    r.fake.silent = true;
    r.driver.open(r.session);
    r.until(() => r.session.closes.length > 0, 120_000);
    expect(r.session.closes[0]).toEqual({ reason: "module-unresponsive", detail: "module-not-responding" });
    expect(r.fake.commands.filter((c) => c === "AT+RST").length).toBeGreaterThanOrEqual(2);
    r.fake.silent = false;
    r.openLink(120_000);
  });

  it("without `ready` after reset, probes with AT", () => {
    const r = rig();
    r.fake.script("AT+RST", OK); // no reboot, so no `ready`
    r.openLink();
    expect(r.fake.commands.slice(0, 3)).toEqual(["AT+RST", "AT", "ATE0"]);
  });

  it("uses the RST pin when it is wired", () => {
    const r = rig({ resetPin: true });
    r.openLink();
    expect(r.fake.commands[0]).toBe("ATE0");
  });
});

describe("close", () => {
  it("flushes queued bytes, closes with CIPCLOSE and reports closed-by-us", () => {
    const r = rig({ uart: { chunkSize: 8 } });
    r.openLink();
    r.driver.send(bytes("DISCONNECT"), 0, 10);
    r.driver.close();
    expect(r.session.closes).toEqual([]); // never re-entrant
    r.until(() => r.session.closes.length > 0);
    expect(r.session.closes[0].reason).toBe("closed-by-us");
    r.until(() => !r.fake.link);
    expect(Buffer.from(r.fake.payload).toString()).toBe("DISCONNECT");
    expect(r.fake.commands.slice(-2)).toEqual(["AT+CIPSEND=10", "AT+CIPCLOSE"]);
  });

  it("1.7 UNLINK on close means already closed", () => {
    const r = rig({ dialect: "1.7" });
    r.openLink();
    r.fake.link = false;
    r.driver.close();
    r.until(() => r.session.closes.length > 0);
    r.run(100);
    expect(r.fake.commands.at(-1)).toBe("AT+CIPCLOSE");
    const before = r.fake.commands.length;
    r.openLink();
    expect(r.fake.commands.slice(before)).toEqual([expect.stringMatching(/^AT\+CIPSTART=/)]);
  });

  it("transparent: leaves passthrough with `+++` between guard silences, waits 1 s, then closes", () => {
    for (const dialect of DIALECTS) {
      const r = rig({ dialect }, { receiveMode: "transparent" });
      r.openLink();
      r.driver.send(bytes("last words"), 0, 10);
      r.driver.close();
      r.until(() => r.fake.commands.at(-1) === "AT+CIPCLOSE", 10_000);
      expect(Buffer.from(r.fake.payload).toString()).toBe("last words");
      expect(r.fake.exitedPassthroughAt).toBeGreaterThan(0);
      const [p1, , p3] = r.fake.plusTimes;
      expect(p3 - p1).toBeLessThan(20);
      r.until(() => !r.fake.link);
      const before = r.fake.commands.length;
      r.openLink();
      expect(r.fake.commands.slice(before)).toEqual([expect.stringMatching(/^AT\+CIPSTART=/), "AT+CIPSEND"]);
      r.driver.send(bytes("again"), 0, 5);
      r.until(() => r.fake.payload.length === 15);
      expect(Buffer.from(r.fake.payload).toString()).toBe("last wordsagain");
    }
  });
});

describe("configuration", () => {
  it("TLS: CIPSSLSIZE first on 1.7 only, then CIPSTART SSL", () => {
    for (const dialect of DIALECTS) {
      const r = rig({ dialect }, { tls: true, port: 8883 });
      r.openLink();
      expect(r.fake.commands.includes("AT+CIPSSLSIZE=4096")).toBe(dialect === "1.7");
      expect(r.fake.commands.at(-1)).toBe('AT+CIPSTART="SSL","mqtts.heclouds.com",8883');
    }
  });

  it("passive falls back to active when CIPRECVMODE is not supported", () => {
    const r = rig({ dialect: "2.x" }, { receiveMode: "passive" });
    r.fake.script("AT+CIPRECVMODE=1", ERROR);
    r.openLink();
    expect(r.driver.receiveMode).toBe("active");
    r.fake.serverSends(bytes("data"));
    r.until(() => r.session.received.length === 4);
  });

  it("passive with TLS on 1.7 uses active receive (1.7 reads passively over TCP only)", () => {
    const r = rig({ dialect: "1.7" }, { receiveMode: "passive", tls: true });
    r.openLink();
    expect(r.driver.receiveMode).toBe("active");
    expect(r.fake.commands.includes("AT+CIPRECVMODE=1")).toBe(false);
  });

  it("never writes the WiFi password to logs, traces, statuses or close details", () => {
    const r = rig({ dialect: "1.7" });
    r.fake.script("AT+CWJAP=", "+CWJAP:2\r\n\r\nFAIL\r\n");
    r.driver.open(r.session);
    r.until(() => r.session.closes.length > 0);
    r.openLink();
    r.fake.reboot();
    r.until(() => r.session.closes.length > 1);
    const everything = JSON.stringify([r.fake.logs, r.traces, r.statuses, r.session.closes]);
    expect(everything).not.toContain("SECRET");
    expect(everything).not.toContain(PASSWORD);
    expect(r.traces.some((t) => t.startsWith("AT+CWJAP=") && t.includes("<redacted>"))).toBe(true);
  });
});

describe("passive receive races", () => {
  for (const dialect of DIALECTS) {
    it(`${dialect}: data announced while a read is under way is read too`, () => {
      const r = rig({ dialect }, { receiveMode: "passive", rxChunkSize: 256 });
      r.openLink();
      let injected = false;
      r.fake.onCommand = (line) => {
        // The module has taken this read's data already; more arrives and is announced before
        // the read's answer goes out.
        if (line.startsWith("AT+CIPRECVDATA") && !injected) {
          injected = true;
          r.clock.setTimeout(() => r.fake.serverSends(bytes("second")), 0);
        }
      };
      r.fake.serverSends(bytes("first"));
      r.until(() => r.session.received.length >= 11, 10_000);
      r.run(500);
      expect(injected).toBe(true);
      expect(Buffer.from(r.session.received).toString()).toBe("firstsecond");
    });
  }
});
