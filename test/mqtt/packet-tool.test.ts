/*
 * The packet tool, run as users run it (`node bin/onenet-led.js packet ...` in a child process), and
 * the dissector behind `packet decode` called directly.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, it, vi } from "vitest";
import paho from "../fixtures/paho-vectors.json" with { type: "json" };
import seed from "../fixtures/seed-vectors.json" with { type: "json" };
import { main } from "../../host-sim/cli/main.js";
import { dissect, parseHex, renderDissection } from "../../host-sim/packet-dissect.js";
import { fromHex, toHex } from "./helpers.js";

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ["bin/onenet-led.js", "packet", ...args], { encoding: "utf8", cwd: process.cwd() });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
}

describe("onenet-led packet (child process)", () => {
  it("encode connect prints the seed's CONNECT exactly", () => {
    const r = cli("encode", "connect", "--client-id", "test1", "--username", "L14FCC38pq", "--password", seed.onenet.token, "--keepalive", "100");
    expect(r).toEqual({ code: 0, out: seed.packets.connect.hex, err: "" });
  });

  it("decode annotates the seed's CONNECT field by field", () => {
    const r = cli("decode", seed.packets.connect.hex);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/0 {2}10 +packet type +CONNECT \(1\)/);
    expect(r.out).toMatch(/1 {2}9F 01 +remaining length +159/);
    expect(r.out).toMatch(/10 {2}C2 +connect flags +11000010 +\(user name, password, clean session\)/);
    expect(r.out).toMatch(/11 {2}00 64 +keepalive +100/);
    expect(r.out).toMatch(/client id +"test1"/);
  });

  it("decode hides a CONNECT's password (the token) unless --show-secrets, in text and in --json", () => {
    const sign = seed.onenet.token.split("sign=")[1]!;
    const text = cli("decode", seed.packets.connect.hex);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/password +<redacted 128 bytes> +\(the OneNET token: hidden\)/);
    expect(text.out).not.toContain(sign);
    expect(text.out).not.toContain("73 69 67 6E 3D"); // "sign=" as hex
    const json = cli("decode", "--json", seed.packets.connect.hex);
    expect(json.out).not.toContain(sign);
    expect(json.out).toContain("<redacted 128 bytes>");
    const shown = cli("decode", "--show-secrets", seed.packets.connect.hex);
    expect(shown.out).toContain(seed.onenet.token);
  });

  it("decode of a packet cut short says how many bytes it has and needs", () => {
    expect(cli("decode", "20 02 00")).toMatchObject({ code: 1, err: "onenet-led packet decode: CONNACK at offset 0 is cut short: 3 bytes, the packet needs 4 (truncated-packet)" });
    expect(cli("decode", "30").err).toContain("1 byte: the fixed header needs at least 2");
    expect(cli("decode", "30 FF").err).toContain("end inside the remaining length");
  });

  it("encode --explain prints the hex, then the annotated breakdown with the token hidden", () => {
    const r = cli("encode", "connect", "--client-id", "test1", "--username", "L14FCC38pq", "--password", seed.onenet.token, "--keepalive", "100", "--explain");
    expect(r.code).toBe(0);
    const [hex, ...rest] = r.out.split("\n");
    expect(hex).toBe(seed.packets.connect.hex);
    const breakdown = rest.join("\n");
    expect(breakdown).toMatch(/CONNECT: 162 bytes/);
    expect(breakdown).toMatch(/11 {2}00 64 +keepalive +100/);
    expect(breakdown).toMatch(/password +<redacted 128 bytes>/);
    const sub = cli("encode", "subscribe", "--packet-id", "10", "--topic", "$sys/L14FCC38pq/test1/thing/property/set", "--explain");
    expect(sub.out).toMatch(/packet id +10/);
  });

  it("a reader that quits early (| head) ends the output without a stack trace", () => {
    const r = spawnSync("sh", ["-c", `node bin/onenet-led.js packet decode "${seed.packets.connect.hex}" | head -1`], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe("CONNECT: 162 bytes at offset 0");
    expect(r.stderr).toBe("");
  });

  it("decode --json gives the fields as data", () => {
    const r = cli("decode", "--json", paho.packets.publish_qos2.hex);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out);
    expect(d.ok).toBe(true);
    const fields = Object.fromEntries(d.packets[0].fields.map((f: { name: string; value: unknown }) => [f.name, f.value]));
    expect(fields).toMatchObject({ "packet type": "PUBLISH (3)", flags: "0100", "remaining length": 33, topic: "mytopic", "packet id": 23, message: "kkhkhkjkj jkjjk jk jk " });
    expect(d.packets[0].sections.map((s: { name: string }) => s.name)).toEqual(["fixed header", "variable header", "payload"]);
  });

  it("bad hex and malformed packets exit 1 naming the rule", () => {
    expect(cli("decode", "10 9")).toMatchObject({ code: 1, err: expect.stringContaining("odd number of digits") });

    const r = cli("decode", "D0 80 00");
    expect(r.code).toBe(1);
    expect(r.err).toContain("remaining-length-not-minimal");
    expect(r.err).toContain("rule 1");
  });

  it("an encode refusal exits 1 with the named error", () => {
    expect(cli("encode", "publish", "--topic", "a/#")).toMatchObject({ code: 1, err: expect.stringContaining("topic-has-wildcard") });
  });
});

/** The same dispatcher the bin script runs, in-process (spawning costs a second per call). */
async function inProcess(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  const error = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  try {
    const code = await main(["packet", ...args]);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}

describe("onenet-led packet (in process)", () => {
  it("encode refusals and usage errors exit 1 naming the problem", async () => {
    expect(await inProcess("encode", "publish", "--topic", "a", "--qos", "1")).toMatchObject({ code: 1, err: expect.stringContaining("qos-needs-packet-id") });
    expect(await inProcess("encode", "connect")).toMatchObject({ code: 1, err: expect.stringContaining("--client-id is required") });
    expect(await inProcess("encode", "bogus")).toMatchObject({ code: 1, err: expect.stringContaining("unknown packet type") });
    expect(await inProcess("encode", "publish", "--topic", "a", "--colour", "red")).toMatchObject({ code: 1, err: expect.stringContaining("unknown option --colour") });
    expect(await inProcess("decode", "--role", "client", "C0 00")).toMatchObject({ code: 1, err: expect.stringContaining("forbidden-packet-type") });
    expect(await inProcess("decode", "30 05 00 01")).toMatchObject({ code: 1, err: expect.stringContaining("truncated-packet") });
    expect(await inProcess("decode", "GG")).toMatchObject({ code: 1, err: expect.stringContaining("not a hex digit") });
  });

  it("encodes the other types, binary payloads and several filters", async () => {
    expect((await inProcess("encode", "puback", "--packet-id", "23")).out).toBe("40 02 00 17");
    expect((await inProcess("encode", "pubrel", "--packet-id", "23")).out).toBe("62 02 00 17");
    expect((await inProcess("encode", "publish", "--topic", "mytopic", "--payload", "kkhkhkjkj jkjjk jk jk ", "--qos", "2", "--packet-id", "23")).out).toBe(
      toHex(fromHex(paho.packets.publish_qos2.hex)),
    );
    expect((await inProcess("encode", "publish", "--topic", "t", "--payload-hex", "00 FF", "--retain")).out).toBe("31 05 00 01 74 00 FF");
    expect((await inProcess("encode", "subscribe", "--packet-id", "23", "--topic", "mytopic", "--qos", "2", "--topic", "mytopic2", "--qos", "1")).out).toBe(
      toHex(fromHex(paho.packets.subscribe.hex)),
    );
    expect((await inProcess("encode", "suback", "--packet-id", "10", "--code", "0")).out).toBe(seed.packets.suback.hex);
    expect((await inProcess("encode", "connack", "--return-code", "4")).out).toBe(seed.packets.connack_bad_credentials_format.hex);
  });

  it("encode subscribe, unsubscribe, publish, pingreq, disconnect print the seed's bytes", async () => {
    const p = seed.packets;
    const runs = [
      [await inProcess("encode", "subscribe", "--packet-id", "10", "--topic", p.subscribe.fields.topic, "--qos", "0"), p.subscribe.hex],
      [await inProcess("encode", "unsubscribe", "--packet-id", "11", "--topic", p.unsubscribe.fields.topic), p.unsubscribe.hex],
      [await inProcess("encode", "publish", "--topic", p.publish_qos0.fields.topic, "--payload", p.publish_qos0.fields.payload, "--qos", "0"), p.publish_qos0.hex],
      [await inProcess("encode", "pingreq"), p.pingreq.hex],
      [await inProcess("encode", "disconnect"), "E0 00"],
    ] as const;
    for (const [r, hex] of runs) expect(r).toEqual({ code: 0, out: hex, err: "" });
  });

  it("--help on every command", async () => {
    for (const args of [["--help"], ["encode", "--help"], ["decode", "--help"], ...["connect", "publish", "subscribe", "unsubscribe", "puback", "pingreq", "disconnect", "connack", "suback"].map((t) => ["encode", t, "--help"])]) {
      const r = await inProcess(...args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.out, args.join(" ")).toMatch(/^usage: onenet-led packet/);
    }
  });
});

describe("dissect", () => {
  it("gives fixed header / variable header / payload sections with offsets into the input", () => {
    const d = dissect(fromHex(seed.packets.subscribe.hex + " " + seed.packets.suback.hex));
    expect(d.ok).toBe(true);
    expect(d.packets.map((p) => [p.type, p.offset, p.length])).toEqual([
      ["SUBSCRIBE", 0, 47],
      ["SUBACK", 47, 5],
    ]);
    const sub = d.packets[0];
    expect(sub.sections.map((s) => [s.name, s.offset, s.length])).toEqual([
      ["fixed header", 0, 2],
      ["variable header", 2, 2],
      ["payload", 4, 43],
    ]);
    expect(sub.fields.map((f) => [f.name, f.offset, f.length, f.value])).toEqual([
      ["packet type", 0, 1, "SUBSCRIBE (8)"],
      ["flags", 0, 1, "0010"],
      ["remaining length", 1, 1, 45],
      ["packet id", 2, 2, 10],
      ["topic filter length", 4, 2, 40],
      ["topic filter", 6, 40, seed.packets.subscribe.fields.topic],
      ["requested QoS", 46, 1, 0],
    ]);
    // every byte of a valid packet is covered exactly once (flags share byte 0 with the type)
    for (const p of d.packets) {
      const covered = p.fields.filter((f) => f.name !== "flags").reduce((n, f) => n + f.length, 0);
      expect(covered).toBe(p.length);
    }
  });

  it("every golden packet is covered byte for byte", () => {
    for (const v of [...Object.values(seed.packets), ...Object.values(paho.packets)]) {
      const d = dissect(fromHex(v.hex));
      expect(d.ok).toBe(true);
      const p = d.packets[0];
      expect(p.fields.filter((f) => f.name !== "flags").reduce((n, f) => n + f.length, 0)).toBe(p.length);
      expect(renderDissection(d)).toContain(p.type);
    }
  });

  it("reports errors with their code and keeps going after a non-framing error", () => {
    const d = dissect(fromHex("20 02 00 06 D0 00"), { role: "client" });
    expect(d.ok).toBe(false);
    expect(d.packets.map((p) => [p.type, p.error?.code ?? null])).toEqual([
      ["CONNACK", "bad-connack-code"],
      ["PINGRESP", null],
    ]);
    const framing = dissect(fromHex("30 80 80 80 80 01 D0 00"));
    expect(framing.packets[0].error?.code).toBe("remaining-length-too-long");
    expect(framing.unparsed).toBe(3);
  });

  it("parseHex accepts spaced, packed and 0x forms", () => {
    expect(Array.from(parseHex("10 9f 01"))).toEqual([0x10, 0x9f, 1]);
    expect(Array.from(parseHex("109F01"))).toEqual([0x10, 0x9f, 1]);
    expect(Array.from(parseHex("0x10, 0x9F,0x01"))).toEqual([0x10, 0x9f, 1]);
    expect(() => parseHex("")).toThrow("no bytes");
  });
});
