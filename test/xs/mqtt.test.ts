/*
 * The firmware's MQTT codec inside Moddable's XS engine: the seed packets byte for byte, decoding
 * of server packets, and the same results as on Node for Paho's vectors and for mangled input.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import paho from "../fixtures/paho-vectors.json" with { type: "json" };
import seed from "../fixtures/seed-vectors.json" with { type: "json" };
import * as onNode from "../../host-sim/xs/labs/codec.js";
import type { PacketSummary } from "../../host-sim/xs/labs/codec.js";
import { liveSlots } from "../../host-sim/xs/board-host.js";
import { hex, openLab, type Lab } from "./support.js";

const P = seed.packets;
const fields: onNode.SeedFields = {
  clientId: P.connect.fields.client_id,
  username: P.connect.fields.username,
  password: seed.onenet.token,
  keepalive: P.connect.fields.keepalive,
  subscribeId: P.subscribe.fields.packet_id,
  unsubscribeId: P.unsubscribe.fields.packet_id,
  topicFilter: P.subscribe.fields.topic,
  publishTopic: P.publish_qos0.fields.topic,
  publishPayload: P.publish_qos0.fields.payload,
};

describe("MQTT codec on XS", () => {
  let lab: Lab;
  beforeAll(() => {
    lab = openLab({ codec: "host-sim/xs/labs/codec.ts" });
  });
  afterAll(() => lab.close());

  it("encodes the seed CONNECT, SUBSCRIBE, UNSUBSCRIBE, PUBLISH, PINGREQ byte for byte", () => {
    const out = lab.call<Record<string, string>>("codec.encodeSeed", fields);
    expect(out.connect).toBe(hex(P.connect.hex));
    expect(out.subscribe).toBe(hex(P.subscribe.hex));
    expect(out.unsubscribe).toBe(hex(P.unsubscribe.hex));
    expect(out.publish).toBe(hex(P.publish_qos0.hex));
    expect(out.pingreq).toBe(hex(P.pingreq.hex));
    expect(out.disconnect).toBe("e000");
  });

  it("decodes what the server sends, split at every chunk size", () => {
    const stream = [P.connack_accepted, P.suback, P.publish_qos0, P.unsuback, P.pingresp, P.connack_bad_credentials_format]
      .map((p) => hex(p.hex))
      .join("");
    for (const chunk of [1, 2, 3, 7, 64, 1024]) {
      const got = lab.call<PacketSummary[]>("codec.decodeHex", stream, "client", chunk);
      expect(got.map((p) => p.type)).toEqual([2, 9, 3, 11, 13, 2]);
      expect(got.every((p) => p.error === null)).toBe(true);
      expect(got[0].returnCode).toBe(0);
      expect(got[1].packetId).toBe(10);
      expect(got[1].codes).toEqual([0]);
      expect(got[2].topic).toBe(P.publish_qos0.fields.topic);
      expect(got[2].payload).toBe(P.publish_qos0.fields.payload);
      expect(got[3].packetId).toBe(11);
      expect(got[5].returnCode).toBe(4);
    }
  });

  it("decodes Paho's packets exactly as on Node", () => {
    const all = Object.values(paho.packets)
      .map((p) => p.hex)
      .join("");
    const xs = lab.call<PacketSummary[]>("codec.decodeHex", all, "any", 5);
    expect(xs).toEqual(onNode.decodeHex(all, "any", 5));
    expect(xs.map((p) => p.error)).toEqual(Object.keys(paho.packets).map(() => null));
  });

  it("reports the same named errors as on Node for mangled packets", () => {
    const base = [P.connack_accepted, P.suback, P.publish_qos0, P.unsuback, P.pingresp].map((p) => hex(p.hex)).join("");
    let state = 12345;
    const next = () => (state = (state * 1103515245 + 12345) % 2147483648);
    const cases: string[] = [];
    for (let k = 0; k < 20; k++) {
      const bytes = Buffer.from(base, "hex");
      for (let m = 0; m < 3; m++) bytes[next() % bytes.length] = next() & 0xff;
      cases.push(bytes.toString("hex"));
    }
    const xs = lab.call<PacketSummary[][]>("codec.decodeMany", cases, "client", 9);
    const node = onNode.decodeMany(cases, "client", 9);
    expect(xs).toEqual(node);
    expect(node.flat().some((p) => p.error !== null)).toBe(true);
  });

  it("round-trips a PUBLISH with a deterministic compute cost and no live heap growth", () => {
    lab.worker.evaluate(
      "xsHarness.state.rt = new xsHarness.modules.codec.RoundTrip('$sys/p/d/thing/property/post', '{\"id\":\"1\",\"params\":{\"led\":{\"value\":true}}}')",
    );
    const cost = (n: number) => lab.worker.evaluate(`xsHarness.state.rt.run(${n})`).meter.compute;
    cost(10);
    const before = liveSlots(lab.worker);
    const a = cost(100);
    const b = cost(100);
    const after = liveSlots(lab.worker);
    expect(a).toBe(b);
    expect(cost(200) - cost(100)).toBe(cost(100) - cost(0));
    // Each evaluation itself retains one slot in xsnap: two evaluations, no growth from the codec.
    expect(after - before).toBe(2);
    expect(lab.worker.evaluateJson<number>("xsHarness.state.rt.run(0)").value).toBe(610);
  });
});
