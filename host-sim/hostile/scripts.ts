/*
 * The hostile broker's repertoire: one script per way a server can break MQTT 3.1.1 towards a
 * client, each with what the board must report (the SimEvent error code and, where the firmware
 * names the rule, the detail) and whether the link must drop. After each script the broker
 * behaves, so the board must come back online. Packet bytes are written out by hand on purpose:
 * no encoder here would produce them.
 */
import type { Simulation } from "../sim.js";
import { CONNECT, type HostileBroker, type HostileLink, type Script, SUBSCRIBE } from "./server.js";

export const DEVICE_PREFIX = "$sys/L14FCC38pq/test1/thing/";

export interface HostileCase {
  name: string;
  script: Script;
  /** The error event the board must report: code, and detail when it names the rule. */
  expect?: { code: string; detail?: string };
  /** A log line the board must write (for outcomes that are not error events). */
  expectLog?: string;
  /** The board must close the link (default true). */
  dropsLink?: boolean;
  /** Anything else that must come true before the case passes. */
  until?: (sim: Simulation, broker: HostileBroker) => boolean;
}

const utf8 = (s: string) => [...Buffer.from(s, "utf8")];

/** Remaining length, shortest encoding. */
function rl(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 128;
    out.push(b);
  } while (n > 0);
  return out;
}

export function publishBytes(topic: number[], payload: number[], first = 0x30, packetId?: number): number[] {
  const id = packetId === undefined ? [] : [packetId >> 8, packetId & 255];
  const body = [topic.length >> 8, topic.length & 255, ...topic, ...id, ...payload];
  return [first, ...rl(body.length), ...body];
}

export function setCommand(id: string, on: boolean): number[] {
  return publishBytes(utf8(DEVICE_PREFIX + "property/set"), utf8(JSON.stringify({ id, version: "1.0", params: { led: on } })));
}

/** CONNACK 0 and a correct SUBACK: the board is online when this resolves. */
async function handshake(link: HostileLink): Promise<void> {
  await link.next(CONNECT);
  link.send([0x20, 0x02, 0x00, 0x00]);
  const sub = await link.next(SUBSCRIBE);
  link.send([0x90, 2 + sub.filterCount, sub.packetId >> 8, sub.packetId & 255, ...new Array<number>(sub.filterCount).fill(0)]);
}

/** On the CONNECT, answer `bytes` instead of a CONNACK. */
const onConnect =
  (bytes: number[]): Script =>
  async (link) => {
    await link.next(CONNECT);
    link.send(bytes);
  };

/** Online first (so the session is at its steadiest), then `bytes`. */
const whenOnline =
  (bytes: number[] | (() => number[])): Script =>
  async (link) => {
    await handshake(link);
    await new Promise((r) => setTimeout(r, 300));
    link.send(typeof bytes === "function" ? bytes() : bytes);
  };

/** Seeded bytes (the garbage script must replay). */
function garbage(n: number, seed: number): number[] {
  let a = seed >>> 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    out.push(a >>> 24);
  }
  // A reserved type first, so the rule the board must name is known.
  out[0] = 0xf3;
  return out;
}

const protocol = (detail: string) => ({ code: "protocol-error", detail });

export const HOSTILE_CASES: HostileCase[] = [
  { name: "CONNACK with remaining length 3", script: onConnect([0x20, 0x03, 0x00, 0x00, 0x00]), expect: protocol("bad-connack-length") },
  { name: "CONNACK with reserved acknowledge flags", script: onConnect([0x20, 0x02, 0x02, 0x00]), expect: protocol("bad-connack-flags") },
  { name: "CONNACK with bad fixed-header flags", script: onConnect([0x21, 0x02, 0x00, 0x00]), expect: protocol("bad-flags") },
  { name: "CONNACK return code 6", script: onConnect([0x20, 0x02, 0x00, 0x06]), expect: protocol("bad-connack-code") },
  { name: "CONNACK session present with a refusal", script: onConnect([0x20, 0x02, 0x01, 0x05]), expect: protocol("bad-connack-session-present") },
  {
    name: "SUBACK with the wrong packet id",
    script: async (link) => {
      await link.next(CONNECT);
      link.send([0x20, 0x02, 0x00, 0x00]);
      const sub = await link.next(SUBSCRIBE);
      const id = (sub.packetId + 1) & 0xffff || 1;
      link.send([0x90, 2 + sub.filterCount, id >> 8, id & 255, ...new Array<number>(sub.filterCount).fill(0)]);
    },
    expect: { code: "suback-invalid", detail: "suback-packet-id-mismatch" },
  },
  {
    name: "SUBACK with too many codes",
    script: async (link) => {
      await link.next(CONNECT);
      link.send([0x20, 0x02, 0x00, 0x00]);
      const sub = await link.next(SUBSCRIBE);
      link.send([0x90, 3 + sub.filterCount, sub.packetId >> 8, sub.packetId & 255, ...new Array<number>(sub.filterCount + 1).fill(0)]);
    },
    expect: { code: "suback-invalid", detail: "suback-count-mismatch" },
  },
  {
    name: "SUBACK with code 3",
    script: async (link) => {
      await link.next(CONNECT);
      link.send([0x20, 0x02, 0x00, 0x00]);
      const sub = await link.next(SUBSCRIBE);
      link.send([0x90, 2 + sub.filterCount, sub.packetId >> 8, sub.packetId & 255, ...new Array<number>(sub.filterCount).fill(3)]);
    },
    expect: protocol("bad-suback-code"),
  },
  { name: "PUBLISH with QoS 3", script: whenOnline(publishBytes(utf8(DEVICE_PREFIX + "property/set"), utf8("{}"), 0x36, 1)), expect: protocol("bad-qos") },
  { name: "PUBLISH to a wildcard topic", script: whenOnline(publishBytes(utf8(DEVICE_PREFIX + "property/+"), utf8("{}"))), expect: protocol("topic-has-wildcard") },
  {
    name: "PUBLISH with a topic that is not UTF-8",
    script: whenOnline(publishBytes([...utf8(DEVICE_PREFIX), 0xc0, 0x80, 0xff], utf8("{}"))),
    expect: protocol("invalid-utf8"),
  },
  { name: "remaining length over 4 bytes", script: whenOnline([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), expect: protocol("remaining-length-too-long") },
  { name: "remaining length not minimal", script: whenOnline([0xd0, 0x80, 0x00]), expect: protocol("remaining-length-not-minimal") },
  {
    name: "a packet bigger than the buffer, then a valid one",
    script: whenOnline(() => [
      ...publishBytes(utf8(DEVICE_PREFIX + "property/set"), utf8(`{"id":"big","version":"1.0","params":{"led":true},"pad":"${"x".repeat(3000)}"}`)),
      ...setCommand("4242", true),
    ]),
    expect: { code: "packet-dropped", detail: "packet-too-large" },
    dropsLink: false,
    // The valid set after the dropped packet is obeyed and answered on the same link.
    until: (sim, broker) => sim.ledOn && broker.devicePublishes.some((p) => p.topic.endsWith("property/set_reply") && p.payload.includes('"4242"')),
  },
  { name: "PINGRESP with a payload", script: whenOnline([0xd0, 0x01, 0x00]), expect: protocol("nonzero-remaining-length") },
  { name: "PUBREL with bad flags", script: whenOnline([0x60, 0x02, 0x00, 0x01]), expect: protocol("bad-flags") },
  {
    name: "CONNECT from the server",
    script: whenOnline([0x10, 0x0c, 0x00, 0x04, ...utf8("MQTT"), 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00]),
    expect: protocol("forbidden-packet-type"),
  },
  { name: "SUBSCRIBE from the server", script: whenOnline([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x23, 0x00]), expect: protocol("forbidden-packet-type") },
  { name: "PINGREQ from the server", script: whenOnline([0xc0, 0x00]), expect: protocol("forbidden-packet-type") },
  { name: "DISCONNECT from the server", script: whenOnline([0xe0, 0x00]), expect: protocol("forbidden-packet-type") },
  { name: "random garbage", script: whenOnline(garbage(64, 8)), expect: protocol("reserved-packet-type") },
  {
    name: "CONNACK before the CONNECT",
    script: async (link) => {
      // Spoken first, as the link opens: no CONNECT can have arrived yet.
      link.send([0x20, 0x02, 0x00, 0x00]);
      await link.next(CONNECT);
      // A module may drop bytes that come before the link is reported open: if no SUBSCRIBE
      // follows (the early CONNACK was taken), answer the CONNECT now. Never a second CONNACK.
      try {
        const sub = await link.next(SUBSCRIBE, 2000);
        link.send([0x90, 2 + sub.filterCount, sub.packetId >> 8, sub.packetId & 255, ...new Array<number>(sub.filterCount).fill(0)]);
        link.note("early CONNACK accepted");
      } catch {
        link.send([0x20, 0x02, 0x00, 0x00]);
        link.note("early CONNACK not seen by the device");
      }
    },
    dropsLink: false,
  },
  {
    name: "PUBLISH before CONNACK",
    script: onConnect([...setCommand("early", true), 0x20, 0x02, 0x00, 0x00]),
    expect: protocol("packet type 3 before CONNACK"),
  },
  {
    name: "half a packet, then close",
    script: async (link) => {
      await handshake(link);
      await new Promise((r) => setTimeout(r, 300));
      link.send(setCommand("half", true).slice(0, 20));
      await new Promise((r) => setTimeout(r, 200));
      link.close();
    },
    // The server closed: the session goes offline with the transport's reason (the half packet
    // is discarded with the link; the client does not report truncated-packet as an error).
    expectLog: "offline: closed-by-peer",
  },
];
