/*
 * One test per rejection rule of the client decoder (shared/reference/mqtt-client-decoder-rules.md),
 * with the bytes that trigger it, plus the server-role rules. Where mqtt-packet accepts the bytes,
 * the test shows it and says why we must be stricter than the peer.
 */
import { describe, expect, it } from "vitest";
import { MqttDecoder, checkSuback } from "../../host-sim/mqtt/index.js";
import type { DecodeErrorCode, DecoderRole } from "../../host-sim/mqtt/index.js";
import { Recorder, decodeAll, fromHex } from "./helpers.js";
import { peerParse } from "./peer.js";

const PINGRESP = { packet: { type: "PINGRESP" } };
const PINGREQ = { packet: { type: "PINGREQ" } };

/** The bad packet gives exactly one error, and the packet after it still decodes (stream in sync). */
function rejects(hex: string, code: DecodeErrorCode, role: DecoderRole = "client", fatal = true) {
  const next = role === "server" ? "C0 00" : "D0 00";
  expect(decodeAll(fromHex(`${hex} ${next}`), role)).toEqual([{ error: code, fatal }, role === "server" ? PINGREQ : PINGRESP]);
}

/** mqtt-packet parses these bytes into a packet without complaint. */
function peerAccepts(hex: string) {
  const r = peerParse(fromHex(hex));
  expect(r.errors).toEqual([]);
  expect(r.packets).toHaveLength(1);
}

describe("rule 1: remaining length", () => {
  it("a 5th length byte is a fatal framing error; the decoder ignores input until reset()", () => {
    const d = new MqttDecoder();
    const sink = new Recorder();
    const bytes = fromHex("30 80 80 80 80 01 D0 00");
    d.feed(bytes, 0, bytes.length, sink);
    expect(sink.events).toEqual([{ error: "remaining-length-too-long", fatal: true }]);
    expect(d.broken).toBe(true);
    const ping = fromHex("D0 00");
    d.feed(ping, 0, 2, sink);
    expect(sink.events).toHaveLength(1);
    d.reset();
    d.feed(ping, 0, 2, sink);
    expect(sink.events[1]).toEqual(PINGRESP);
  });

  it("a non-minimal length (D0 80 00) is fatal; mqtt-packet accepts it, but an encoder that pads lengths is broken or probing", () => {
    expect(decodeAll(fromHex("D0 80 00 D0 00"))).toEqual([{ error: "remaining-length-not-minimal", fatal: true }]);
    peerAccepts("D0 80 00");
  });

  it("a non-minimal length 30 80 80 80 00 is fatal (4 bytes for 0)", () => {
    expect(decodeAll(fromHex("30 80 80 80 00"))).toEqual([{ error: "remaining-length-not-minimal", fatal: true }]);
  });

  it("the largest length FF FF FF 7F frames (and is drained as too large here)", () => {
    const d = new MqttDecoder();
    const sink = new Recorder();
    const head = fromHex("90 FF FF FF 7F");
    d.feed(head, 0, head.length, sink);
    expect(sink.events).toEqual([{ error: "packet-too-large", fatal: false }]);
    expect(d.packet.remainingLength).toBe(268_435_455);
    expect(d.pending).toBe(true);
  });
});

describe("rule 2: a packet larger than the buffer", () => {
  it("is drained and reported, not fatal; the next packet decodes", () => {
    const body = "00 01 61" + " 55".repeat(30);
    const events = decodeAll(fromHex(`30 21 ${body} D0 00`), "client", 16);
    expect(events).toEqual([{ error: "packet-too-large", fatal: false }, PINGRESP]);
  });

  it("an oversized PUBLISH is reported once the bytes that fit are in, with its QoS and packet id", () => {
    const d = new MqttDecoder({ bufferSize: 16 });
    const ids: unknown[] = [];
    const sink = {
      onPacket: (p: { type: number; packetId: number }) => ids.push(["packet", p.type, p.packetId]),
      onError: (code: string, fatal: boolean) =>
        ids.push([code, fatal, d.packet.qos, d.packet.packetId, d.packet.topicLength, d.packet.remainingLength]),
    };
    // QoS 1, topic "a", packet id 0x0102, 30 payload bytes: 35 bytes of body, 16-byte buffer
    const bytes = fromHex("32 23 00 01 61 01 02" + " 55".repeat(30) + " 40 02 00 07");
    for (let i = 0; i < bytes.length; i++) {
      d.feed(bytes, i, 1, sink);
      // reported when the 16th byte arrives, not before, not at the end of the packet
      if (i === 14) expect(ids).toEqual([]);
      if (i === 15) expect(ids).toEqual([["packet-too-large", false, 1, 0x0102, 1, 35]]);
    }
    expect(ids).toEqual([["packet-too-large", false, 1, 0x0102, 1, 35], ["packet", 4, 7]]);
  });

  it("an oversized PUBLISH whose packet id does not fit reports packet id 0", () => {
    const d = new MqttDecoder({ bufferSize: 8 });
    const seen: unknown[] = [];
    const bytes = fromHex("32 0E 00 0A 61 61 61 61 61 61 61 61 61 61 01 02 D0 00");
    d.feed(bytes, 0, bytes.length, {
      onPacket: (p) => seen.push(p.type),
      onError: (code) => seen.push([code, d.packet.qos, d.packet.packetId, d.packet.topicLength]),
    });
    expect(seen).toEqual([["packet-too-large", 1, 0, 0], 13]);
  });

  it("a packet exactly the buffer's size fits", () => {
    // 2 header bytes + 14 body bytes = 16
    const events = decodeAll(fromHex("30 0E 00 01 61" + " 55".repeat(11)), "client", 16);
    expect(events).toEqual([{ packet: { type: "PUBLISH", qos: 0, dup: false, retain: false, topic: "a", payload: Array(11).fill(0x55) } }]);
  });
});

describe("rule 3: packet types a server must not send", () => {
  it.each([
    ["CONNECT", "10 0C 00 04 4D 51 54 54 04 02 00 3C 00 00"],
    ["SUBSCRIBE", "82 06 00 01 00 01 61 00"],
    ["UNSUBSCRIBE", "A2 05 00 01 00 01 61"],
    ["PINGREQ", "C0 00"],
    ["DISCONNECT", "E0 00"],
  ])("%s is forbidden in the client role (mqtt-packet has no role and accepts it)", (_name, hex) => {
    rejects(hex, "forbidden-packet-type");
    peerAccepts(hex);
  });

  it.each([["type 0", "00 00"], ["type 15", "F0 00"], ["type 0 with a body", "00 02 01 02"]])("%s is reserved", (_name, hex) => {
    rejects(hex, "reserved-packet-type");
  });

  it.each([["CONNACK", "20 02 00 00"], ["SUBACK", "90 03 00 01 00"], ["UNSUBACK", "B0 02 00 01"], ["PINGRESP", "D0 00"]])(
    "%s is forbidden in the server role",
    (_name, hex) => {
      rejects(hex, "forbidden-packet-type", "server");
    },
  );
});

describe("rule 4: fixed-header flags", () => {
  it.each([
    ["CONNACK with flags 1", "21 02 00 00"],
    ["PUBACK with flags 2", "42 02 00 01"],
    ["PUBREC with flags 1", "51 02 00 01"],
    ["PUBREL with flags 0 (must be 2)", "60 02 00 01"],
    ["PUBCOMP with flags 8", "78 02 00 01"],
    ["SUBACK with flags 2", "92 03 00 01 00"],
    ["UNSUBACK with flags 4", "B4 02 00 01"],
    ["PINGRESP with flags 1", "D1 00"],
  ])("%s", (_name, hex) => {
    rejects(hex, "bad-flags");
  });

  it("PUBREL with flags 2 is accepted", () => {
    expect(decodeAll(fromHex("62 02 00 07"))).toEqual([{ packet: { type: "PUBREL", packetId: 7 } }]);
  });

  it("DUP on a QoS 0 PUBLISH (MQTT-3.3.1-2); mqtt-packet accepts it, but a QoS 0 message is never redelivered", () => {
    rejects("38 03 00 01 61", "bad-flags");
    peerAccepts("38 03 00 01 61");
  });

  it.each([["SUBSCRIBE with flags 0", "80 06 00 01 00 01 61 00"], ["UNSUBSCRIBE with flags 0", "A0 05 00 01 00 01 61"]])(
    "%s (server role)",
    (_name, hex) => {
      rejects(hex, "bad-flags", "server");
    },
  );
});

describe("rule 5: CONNACK", () => {
  it("remaining length 3: mqtt-packet accepts and ignores the extra byte; a CONNACK is exactly 2", () => {
    rejects("20 03 00 00 00", "bad-connack-length");
    peerAccepts("20 03 00 00 00");
  });
  it("remaining length 1", () => rejects("20 01 00", "bad-connack-length"));
  it("acknowledge flags 2", () => rejects("20 02 02 00", "bad-connack-flags"));
  it("return code 6: mqtt-packet accepts it, but 3.1.1 defines only 0..5 and an unknown refusal must not read as success", () => {
    rejects("20 02 00 06", "bad-connack-code");
    peerAccepts("20 02 00 06");
  });
  it("session present with a refusal: mqtt-packet accepts it; MQTT-3.2.2-4 forbids it", () => {
    rejects("20 02 01 04", "bad-connack-session-present");
    peerAccepts("20 02 01 04");
  });
  it("return codes 1..5 are refusals delivered as packets, session present with 0 is fine", () => {
    for (let rc = 1; rc <= 5; rc++)
      expect(decodeAll(fromHex(`20 02 00 0${rc}`))).toEqual([{ packet: { type: "CONNACK", sessionPresent: false, returnCode: rc } }]);
    expect(decodeAll(fromHex("20 02 01 00"))).toEqual([{ packet: { type: "CONNACK", sessionPresent: true, returnCode: 0 } }]);
  });
});

describe("rule 6: SUBACK", () => {
  it("remaining length 2 (no codes): mqtt-packet accepts it; a SUBACK answers at least one filter", () => {
    rejects("90 02 00 0A", "bad-suback-length");
    peerAccepts("90 02 00 0A");
  });
  it("packet id 0: mqtt-packet accepts it; no SUBSCRIBE can have id 0, so it matches nothing", () => {
    rejects("90 03 00 00 00", "packet-id-zero");
    peerAccepts("90 03 00 00 00");
  });
  it("a code outside {0, 1, 2, 0x80}", () => rejects("90 04 00 0A 00 03", "bad-suback-code"));
  it("0x80 is a refusal to report, not an error", () => {
    expect(decodeAll(fromHex("90 04 00 0A 80 01"))).toEqual([{ packet: { type: "SUBACK", packetId: 10, codes: [0x80, 1] } }]);
  });
  it("checkSuback: packet id and code count must match the SUBSCRIBE in flight", () => {
    const d = new MqttDecoder();
    const results: unknown[] = [];
    const bytes = fromHex("90 04 00 0A 00 01");
    d.feed(bytes, 0, bytes.length, {
      onPacket: (p) => {
        results.push(checkSuback(p, 10, 2), checkSuback(p, 11, 2), checkSuback(p, 10, 1), checkSuback(p, 10, 3));
      },
      onError: () => results.push("error"),
    });
    expect(results).toEqual([null, "suback-packet-id-mismatch", "suback-count-mismatch", "suback-count-mismatch"]);
    const other = fromHex("B0 02 00 0A");
    d.feed(other, 0, other.length, { onPacket: (p) => results.push(checkSuback(p, 10, 1)), onError: () => results.push("error") });
    expect(results[4]).toBe("not-suback");
  });
});

describe("rule 7: acknowledgements and PINGRESP", () => {
  it.each([["PUBACK", "40", true], ["PUBREC", "50", true], ["PUBREL", "62", true], ["PUBCOMP", "70", true], ["UNSUBACK", "B0", false]])("%s", (_name, first, peerLax) => {
    // remaining length 3 and 1: mqtt-packet accepts 3 (ignores the byte); the length is fixed at 2
    rejects(`${first} 03 00 01 00`, "bad-ack-length");
    rejects(`${first} 01 00`, "bad-ack-length");
    rejects(`${first} 00`, "bad-ack-length");
    // packet id 0: mqtt-packet accepts it; 0 is never a valid id, so it acknowledges nothing
    rejects(`${first} 02 00 00`, "packet-id-zero");
    if (peerLax) peerAccepts(`${first} 03 00 01 00`);
    else expect(peerParse(fromHex(`${first} 03 00 01 00`)).errors).toHaveLength(1); // here the peer agrees
    peerAccepts(`${first} 02 00 00`);
  });
  it("PINGRESP with a body: mqtt-packet accepts it; PINGRESP has remaining length 0", () => {
    rejects("D0 01 00", "nonzero-remaining-length");
    peerAccepts("D0 01 00");
  });
  it("PINGREQ and DISCONNECT with a body (server role)", () => {
    rejects("C0 01 00", "nonzero-remaining-length", "server");
    rejects("E0 02 00 00", "nonzero-remaining-length", "server");
  });
});

describe("rule 8: PUBLISH", () => {
  it("QoS 3", () => rejects("36 05 00 01 61 00 01", "bad-qos"));
  it("topic length past the end", () => rejects("30 03 00 05 61", "topic-overflow"));
  it("no room for the topic length", () => rejects("30 01 00", "topic-overflow"));
  it("QoS 1 without room for the packet id: mqtt-packet reports id -1", () => {
    rejects("32 03 00 01 61", "packet-too-short");
    peerAccepts("32 03 00 01 61");
  });
  it("QoS 1 with packet id 0: mqtt-packet accepts it; it could never be acknowledged", () => {
    rejects("32 05 00 01 61 00 00", "packet-id-zero");
    peerAccepts("32 05 00 01 61 00 00");
  });
  it.each([["+", "2B"], ["#", "23"], ["a/+/b", "61 2F 2B 2F 62"]])("wildcard in the topic name %s: mqtt-packet accepts it", (_t, hex) => {
    const len = hex.split(" ").length;
    const packet = `30 ${(len + 2).toString(16).padStart(2, "0")} 00 ${len.toString(16).padStart(2, "0")} ${hex}`;
    rejects(packet, "topic-has-wildcard");
    peerAccepts(packet);
  });
  it("U+0000 in the topic: mqtt-packet accepts it (MQTT-1.5.3-2 forbids it)", () => {
    rejects("30 03 00 01 00", "topic-has-null");
    peerAccepts("30 03 00 01 00");
  });
  it.each([
    ["a stray continuation byte", "30 03 00 01 80"],
    ["0xFF", "30 03 00 01 FF"],
    ["an overlong '/' (C0 AF)", "30 04 00 02 C0 AF"],
    ["a surrogate (ED A0 80)", "30 05 00 03 ED A0 80"],
    ["a truncated sequence (E2 82)", "30 04 00 02 E2 82"],
    ["above U+10FFFF (F4 90 80 80)", "30 06 00 04 F4 90 80 80"],
  ])("invalid UTF-8 in the topic: %s (mqtt-packet silently substitutes U+FFFD)", (_name, hex) => {
    rejects(hex, "invalid-utf8");
  });
  it("a zero-length topic: mqtt-packet accepts it (MQTT-4.7.3-1)", () => {
    rejects("30 02 00 00", "topic-empty");
    peerAccepts("30 02 00 00");
  });
  it("a multi-byte topic and an empty payload decode", () => {
    expect(decodeAll(fromHex("31 08 00 06 E7 81 AF F0 9F 92"), "client")).toEqual([{ error: "invalid-utf8", fatal: true }]);
    expect(decodeAll(fromHex("31 09 00 07 E7 81 AF F0 9F 92 A1"))).toEqual([
      { packet: { type: "PUBLISH", qos: 0, dup: false, retain: true, topic: "灯💡", payload: [] } },
    ]);
  });
});

describe("rule 9: a packet cut off by a closed link", () => {
  it("end() reports truncated-packet (not fatal) and the next connection starts clean", () => {
    const d = new MqttDecoder();
    const sink = new Recorder();
    const part = fromHex("30 05 00 01");
    d.feed(part, 0, part.length, sink);
    expect(d.pending).toBe(true);
    d.end(sink);
    expect(sink.events).toEqual([{ error: "truncated-packet", fatal: false }]);
    const ping = fromHex("D0 00");
    d.feed(ping, 0, 2, sink);
    d.end(sink); // between packets: nothing to report
    expect(sink.events).toEqual([{ error: "truncated-packet", fatal: false }, PINGRESP]);
  });
  it("end() inside the remaining length bytes also reports", () => {
    const d = new MqttDecoder();
    const sink = new Recorder();
    d.feed(fromHex("30 80"), 0, 2, sink);
    d.end(sink);
    expect(sink.events).toEqual([{ error: "truncated-packet", fatal: false }]);
  });
});

describe("server role: CONNECT, SUBSCRIBE, UNSUBSCRIBE", () => {
  const connect = (flags: string, payload: string) => {
    const body = fromHex(`00 04 4D 51 54 54 04 ${flags} 00 3C ${payload}`);
    return `10 ${body.length.toString(16).padStart(2, "0")} ${Array.from(body, (b) => b.toString(16).padStart(2, "0")).join(" ")}`;
  };
  it("protocol name other than MQTT", () => rejects("10 0C 00 04 4D 51 54 58 04 02 00 3C 00 00", "bad-protocol-name", "server"));
  it("MQTT 3.1 (MQIsdp)", () => rejects("10 0E 00 06 4D 51 49 73 64 70 03 02 00 3C 00 00", "bad-protocol-name", "server"));
  it("protocol level 5", () => rejects("10 0C 00 04 4D 51 54 54 05 02 00 3C 00 00", "bad-protocol-level", "server"));
  it("reserved connect flag", () => rejects(connect("03", "00 00"), "bad-connect-flags", "server"));
  it("password without user name", () => rejects(connect("42", "00 00 00 01 70"), "bad-connect-flags", "server"));
  it("will QoS without will", () => rejects(connect("0A", "00 00"), "bad-connect-flags", "server"));
  it("will QoS 3", () => rejects(connect("1E", "00 00 00 01 61 00 00"), "bad-connect-flags", "server"));
  it("too short for the variable header", () => rejects("10 03 00 04 4D", "packet-too-short", "server"));
  it("client id past the end", () => rejects(connect("02", "00 05 61"), "packet-too-short", "server"));
  it("client id with U+0000", () => rejects(connect("02", "00 01 00"), "string-has-null", "server"));
  it("user name with invalid UTF-8", () => rejects(connect("82", "00 00 00 01 FF"), "invalid-utf8", "server"));
  it("will topic with a wildcard", () => rejects(connect("06", "00 00 00 01 23 00 00"), "topic-has-wildcard", "server"));
  it("trailing bytes after the last field", () => rejects(connect("02", "00 00 99"), "trailing-bytes", "server"));
  it("SUBSCRIBE without filters", () => rejects("82 02 00 01", "no-topics", "server"));
  it("SUBSCRIBE with packet id 0", () => rejects("82 06 00 00 00 01 61 00", "packet-id-zero", "server"));
  it("SUBSCRIBE with requested QoS 3", () => rejects("82 06 00 01 00 01 61 03", "bad-subscribe-qos", "server"));
  it("SUBSCRIBE missing its QoS byte", () => rejects("82 05 00 01 00 01 61", "packet-too-short", "server"));
  it.each(["a+", "a/#/b", "#a", "a/b#"])("SUBSCRIBE with the misplaced wildcard %s", (filter) => {
    const bytes = Array.from(new TextEncoder().encode(filter), (b) => b.toString(16).padStart(2, "0")).join(" ");
    const n = filter.length;
    rejects(`82 ${(n + 5).toString(16).padStart(2, "0")} 00 01 00 ${n.toString(16).padStart(2, "0")} ${bytes} 00`, "bad-topic-filter", "server");
  });
  it("SUBSCRIBE with an empty filter", () => rejects("82 05 00 01 00 00 00", "topic-empty", "server"));
  it("UNSUBSCRIBE without filters", () => rejects("A2 02 00 01", "no-topics", "server"));
  it("UNSUBSCRIBE filter past the end", () => rejects("A2 05 00 01 00 09 61", "packet-too-short", "server"));
  it("valid wildcard filters decode", () => {
    expect(decodeAll(fromHex("82 0C 00 01 00 03 61 2F 2B 01 00 01 23 02"), "server")).toEqual([
      { packet: { type: "SUBSCRIBE", packetId: 1, topics: [["a/+", 1], ["#", 2]], count: 2 } },
    ]);
  });
});
