/*
 * The MQTT codec: our encode + decode (firmware/mqtt, one fixed buffer, reused field objects)
 * against mqtt-packet's generate + parse, in the same process and run, for a PUBLISH with a
 * 100-byte payload, a SUBSCRIBE and the seed's CONNECT (with its OneNET token). Also the heap
 * bytes one round trip allocates after warm-up: the firmware path must allocate nothing.
 */
import mqtt from "mqtt-packet";
import seed from "../test/fixtures/seed-vectors.json" with { type: "json" };
import {
  MqttDecoder,
  encodeConnect,
  encodePublish,
  encodeSubscribe,
  newConnectFields,
  newPublishFields,
  newSubscribeFields,
} from "../host-sim/mqtt/index.js";
import type { DecodedPacket, DecoderSink } from "../host-sim/mqtt/index.js";
import { bytesPerOp, opsPerSecond } from "./measure.js";
import type { BenchRow, BenchSuite } from "./measure.js";

const PEER = "mqtt-packet 9.0.2";
const TOPIC = "$sys/L14FCC38pq/test1/thing/property/post";
const SUB_TOPIC = "$sys/L14FCC38pq/test1/thing/property/set";
const payload = new Uint8Array(100).map((_, i) => 0x20 + (i % 90));

let checksum = 0;

/** Counts what the decoder hands over, so no work can be optimized away. */
class CountingSink implements DecoderSink {
  packets = 0;
  errors = 0;
  onPacket(p: DecodedPacket): void {
    this.packets++;
    checksum = (checksum + p.payloadLength + p.packetId + p.remainingLength) | 0;
  }
  onError(): void {
    this.errors++;
  }
}

interface Case {
  name: string;
  ours: () => void;
  peer: () => void;
  /** Checks both sides produce and understand the same bytes before anything is timed. */
  verify: () => void;
}

function makeCase(name: string, role: "client" | "server", encode: (buf: Uint8Array) => number, peerPacket: mqtt.Packet, expectedHex: string | null): Case {
  const buf = new Uint8Array(1024);
  const decoder = new MqttDecoder({ role });
  const sink = new CountingSink();
  const ours = () => {
    const n = encode(buf);
    decoder.feed(buf, 0, n, sink);
  };
  const parser = mqtt.parser({ protocolVersion: 4 });
  let peerPackets = 0;
  parser.on("packet", (p: mqtt.Packet) => {
    peerPackets++;
    checksum = (checksum + ((p as { length?: number }).length ?? 0)) | 0;
  });
  parser.on("error", (e: Error) => {
    throw e;
  });
  const peer = () => {
    parser.parse(mqtt.generate(peerPacket, { protocolVersion: 4 }));
  };
  const verify = () => {
    const n = encode(buf);
    const theirs = mqtt.generate(peerPacket, { protocolVersion: 4 });
    if (!Buffer.from(buf.subarray(0, n)).equals(theirs)) throw new Error(`${name}: our bytes differ from mqtt-packet's`);
    if (expectedHex !== null && Buffer.from(buf.subarray(0, n)).toString("hex").toUpperCase().match(/../g)!.join(" ") !== expectedHex)
      throw new Error(`${name}: our bytes differ from the seed's`);
    ours();
    peer();
    if (sink.packets !== 1 || sink.errors !== 0 || peerPackets !== 1) throw new Error(`${name}: a round trip did not decode`);
  };
  return { name, ours, peer, verify };
}

function cases(): Case[] {
  const pub = newPublishFields();
  pub.topic = TOPIC;
  pub.payload = payload;
  pub.payloadLength = payload.length;
  const publish = makeCase(
    "PUBLISH round trip (100-byte payload)",
    "client",
    (buf) => encodePublish(buf, 0, pub),
    { cmd: "publish", topic: TOPIC, payload: Buffer.from(payload), qos: 0, dup: false, retain: false },
    null,
  );

  const sub = newSubscribeFields(1);
  sub.packetId = 10;
  sub.count = 1;
  sub.topics[0] = SUB_TOPIC;
  sub.qos[0] = 0;
  const subscribe = makeCase(
    "SUBSCRIBE round trip",
    "server",
    (buf) => encodeSubscribe(buf, 0, sub),
    { cmd: "subscribe", messageId: 10, subscriptions: [{ topic: SUB_TOPIC, qos: 0 }] },
    seed.packets.subscribe.hex,
  );

  const con = newConnectFields();
  con.clientId = "test1";
  con.username = "L14FCC38pq";
  con.password = seed.onenet.token;
  con.keepalive = 100;
  const connect = makeCase(
    "CONNECT round trip (seed token)",
    "server",
    (buf) => encodeConnect(buf, 0, con),
    {
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clientId: "test1",
      username: "L14FCC38pq",
      password: Buffer.from(seed.onenet.token),
      keepalive: 100,
      clean: true,
    },
    seed.packets.connect.hex,
  );
  return [publish, subscribe, connect];
}

export const suite: BenchSuite = {
  name: "codec",
  async run(): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    for (const c of cases()) {
      c.verify();
      // Many short rounds, interleaved, best of each: on a shared machine both sides then get
      // their best moments of the same load, and the ratio is what stays meaningful.
      let ours = 0;
      let peer = 0;
      for (let round = 0; round < 12; round++) {
        const warmup = round === 0 ? 20_000 : 1_000;
        ours = Math.max(ours, opsPerSecond(c.ours, { rounds: 1, minMs: 150, warmup }));
        peer = Math.max(peer, opsPerSecond(c.peer, { rounds: 1, minMs: 150, warmup }));
      }
      // A fixed few KB of heap growth (inline caches, feedback) does not scale with the count; over
      // a million round trips it reads as < 0.05 B/op. Any real per-packet allocation would be
      // >= 16 B/op (V8's smallest object).
      // Two measurements, the lower kept: a GC of someone else's garbage can land in one of them,
      // while a real per-packet allocation shows in both.
      const oursBytes = Math.min(bytesPerOp(c.ours, 1_000_000), bytesPerOp(c.ours, 1_000_000));
      // Few calls for the peer: its garbage must not fill the young generation, or a scavenge
      // mid-measurement would hide it. A lower bound, for scale.
      const peerBytes = bytesPerOp(c.peer, 5_000);
      rows.push({
        suite: "codec",
        name: c.name,
        ours_ops: ours,
        peer: PEER,
        peer_ops: peer,
        ratio: ours / peer,
        ours_bytes_per_op: oursBytes,
        note: `${PEER} allocates >= ${peerBytes.toFixed(0)} B/op`,
      });
    }
    if (checksum === 0.5) console.log(checksum);
    return rows;
  },
};
