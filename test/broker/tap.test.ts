import { describe, expect, it } from "vitest";
import { OneNetBroker, type BrokerEvent } from "../../host-sim/broker/onenet-broker.js";
import { MqttFramer } from "../../host-sim/broker/tap.js";
import seed from "../fixtures/seed-vectors.json" with { type: "json" };
import { RawClient, duplexPair, sleep } from "./support.js";

const hex = (s: string) => Uint8Array.from(s.split(/\s+/).filter(Boolean).map((h) => parseInt(h, 16)));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).toUpperCase().padStart(2, "0")).join(" ");
type PacketEvent = Extract<BrokerEvent, { type: "packet" }>;

describe("raw packet tap", () => {
  it("shows the seed's CONNECT/SUBSCRIBE/PUBLISH bytes exactly as they crossed an in-process link, and the answers", async () => {
    const broker = new OneNetBroker({
      devices: [{ productId: seed.onenet.product_id, deviceName: seed.onenet.device_name, key: seed.onenet.device_key }],
      // the seed's token expires 2033-12-11
      wallTime: () => Date.UTC(2026, 0, 1),
    });
    try {
      const [server, device] = duplexPair();
      broker.handle(server);
      const raw = new RawClient(device);
      const connect = hex(seed.packets.connect.hex);
      // split the CONNECT across writes, as a UART-fed module would deliver it
      raw.sendBytes(connect.subarray(0, 7));
      await sleep(5);
      raw.sendBytes(connect.subarray(7));
      await raw.next("connack");
      raw.sendBytes(hex(seed.packets.subscribe.hex));
      await raw.next("suback");
      raw.sendBytes(Uint8Array.from([...hex(seed.packets.publish_qos0.hex), ...hex(seed.packets.pingreq.hex)]));
      await raw.next("pingresp");
      await broker.waitFor((e) => e.type === "device-publish", 2000, 0);

      const packets = broker.history.filter((e): e is PacketEvent => e.type === "packet");
      const ins = packets.filter((p) => p.dir === "in");
      const outs = packets.filter((p) => p.dir === "out");
      expect(ins.map((p) => p.cmd)).toEqual(["connect", "subscribe", "publish", "pingreq"]);
      expect(toHex(ins[0]!.bytes)).toBe(seed.packets.connect.hex);
      expect(toHex(ins[1]!.bytes)).toBe(seed.packets.subscribe.hex);
      expect(toHex(ins[2]!.bytes)).toBe(seed.packets.publish_qos0.hex);
      expect(toHex(ins[3]!.bytes)).toBe(seed.packets.pingreq.hex);
      expect(outs.map((p) => p.cmd)).toEqual(["connack", "suback", "pingresp"]);
      expect(toHex(outs[0]!.bytes)).toBe(seed.packets.connack_accepted.hex);
      expect(toHex(outs[1]!.bytes)).toBe(seed.packets.suback.hex);
      expect(toHex(outs[2]!.bytes)).toBe(seed.packets.pingresp.hex);
      // the decoded view hides the token; the bytes are the wire's
      expect(ins[0]!.packet).toMatchObject({ clientId: "test1", username: "L14FCC38pq", password: "<redacted>", keepalive: 100 });
      expect(broker.history.find((e) => e.type === "device-publish")).toMatchObject({ kind: "property/post", id: "1386772172" });
      // the seed subscribed to property/set only, so the post/reply was not delivered
      expect(broker.history.find((e) => e.type === "cloud-publish")).toMatchObject({ kind: "reply", delivered: false });
    } finally {
      await broker.close();
    }
  });

  it("shows a refused CONNACK's bytes", async () => {
    const broker = new OneNetBroker({ devices: [], wallTime: () => Date.UTC(2026, 0, 1) });
    try {
      const [server, device] = duplexPair();
      broker.handle(server);
      const raw = new RawClient(device);
      raw.sendBytes(hex(seed.packets.connect.hex));
      await raw.waitClosed();
      const out = broker.history.find((e): e is PacketEvent => e.type === "packet" && e.dir === "out")!;
      expect(toHex(out.bytes)).toBe(seed.packets.connack_bad_credentials_format.hex);
      expect(broker.history.find((e) => e.type === "connack")).toMatchObject({ returnCode: 4, reason: "token: no_key" });
    } finally {
      await broker.close();
    }
  });
});

describe("MqttFramer", () => {
  it("cuts packets at every remaining-length size, byte by byte", () => {
    const sizes = [0, 1, 127, 128, 16383, 16384];
    const packets = sizes.map((n) => {
      const len: number[] = [];
      let x = n;
      do {
        let b = x % 128;
        x = Math.floor(x / 128);
        if (x > 0) b |= 0x80;
        len.push(b);
      } while (x > 0);
      return Uint8Array.from([0x30, ...len, ...new Array<number>(n).fill(0x41)]);
    });
    const all = Uint8Array.from(packets.flatMap((p) => Array.from(p)));
    const f = new MqttFramer();
    const got: Uint8Array[] = [];
    for (let i = 0; i < all.length; i++) got.push(...f.push(all.subarray(i, i + 1)));
    expect(got.map((p) => p.length)).toEqual(packets.map((p) => p.length));
    expect(got).toEqual(packets);
  });

  it("stops at a remaining length longer than 4 bytes", () => {
    const f = new MqttFramer();
    expect(f.push(Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toEqual([]);
    expect(f.broken).toBe(true);
  });
});
