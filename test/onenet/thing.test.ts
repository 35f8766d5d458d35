import { describe, expect, it } from "vitest";
import { FIXED_THING_TOPICS, THING_TOPIC_BAD_SERVICE_ID, THING_TOPIC_NO_ROOM, ThingTopics } from "../../firmware/onenet/thing.js";
import type { FixedThingTopic, ThingTopicKind } from "../../firmware/onenet/thing.js";
import { OneNetConfigError } from "../../firmware/onenet/token.js";
import seed from "../fixtures/seed-vectors.json" with { type: "json" };

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
const text = (b: Uint8Array, o: number, n: number) => Buffer.from(b.subarray(o, o + n)).toString("latin1");
const P = "$sys/L14FCC38pq/test1/thing/";

describe("ThingTopics builders", () => {
  const topics = new ThingTopics("L14FCC38pq", "test1");
  const table: [FixedThingTopic, string][] = [
    ["property/post", `${P}property/post`],
    ["property/post/reply", `${P}property/post/reply`],
    ["event/post", `${P}event/post`],
    ["event/post/reply", `${P}event/post/reply`],
    ["property/desired/get", `${P}property/desired/get`],
    ["property/desired/get/reply", `${P}property/desired/get/reply`],
    ["property/desired/delete", `${P}property/desired/delete`],
    ["property/desired/delete/reply", `${P}property/desired/delete/reply`],
    ["property/set", `${P}property/set`],
    ["property/set_reply", `${P}property/set_reply`],
    ["property/get", `${P}property/get`],
    ["property/get_reply", `${P}property/get_reply`],
  ];

  it("writes every fixed topic of the reference's table at an offset", () => {
    expect(FIXED_THING_TOPICS).toHaveLength(table.length);
    const out = new Uint8Array(100);
    for (const [kind, want] of table) {
      const n = topics.write(kind, out, 3);
      expect(text(out, 3, n)).toBe(want);
      expect(topics.topicString(kind)).toBe(want);
      expect(topics.maxLength()).toBeGreaterThanOrEqual(n);
    }
  });

  it("writes the service topics and the one wildcard subscription", () => {
    const out = new Uint8Array(100);
    const id = bytes("xxreboot");
    let n = topics.writeService("service/invoke", id, 2, 6, out, 0);
    expect(text(out, 0, n)).toBe(`${P}service/reboot/invoke`);
    n = topics.writeService("service/invoke_reply", id, 2, 6, out, 1);
    expect(text(out, 1, n)).toBe(`${P}service/reboot/invoke_reply`);
    expect(topics.topicString("service/invoke_reply", "reboot")).toBe(`${P}service/reboot/invoke_reply`);
    expect(topics.maxLength(6)).toBeGreaterThanOrEqual(n);
    n = topics.writeWildcard(out, 0);
    expect(text(out, 0, n)).toBe(`${P}#`);
  });

  it("builds the seed's SUBSCRIBE topic byte for byte", () => {
    const hex = seed.packets.subscribe.hex.split(" ").map((h) => parseInt(h, 16));
    const topic = Buffer.from(hex.slice(6, 6 + 0x28)).toString("latin1");
    const out = new Uint8Array(64);
    expect(text(out, 0, topics.write("property/set", out, 0))).toBe(topic);
  });

  it("answers no room and bad service ids with codes, writing nothing past the end", () => {
    const exact = `${P}property/set_reply`.length;
    expect(topics.write("property/set_reply", new Uint8Array(exact - 1), 0)).toBe(THING_TOPIC_NO_ROOM);
    expect(topics.write("property/set_reply", new Uint8Array(exact), 0)).toBe(exact);
    expect(topics.write("property/set_reply", new Uint8Array(exact), -1)).toBe(THING_TOPIC_NO_ROOM);
    expect(topics.writeWildcard(new Uint8Array(P.length), 0)).toBe(THING_TOPIC_NO_ROOM);
    const out = new Uint8Array(100);
    for (const bad of ["", "a/b", "a+b", "a#b", "a b"]) expect(topics.writeService("service/invoke", bytes(bad), 0, bad.length, out, 0)).toBe(THING_TOPIC_BAD_SERVICE_ID);
    expect(topics.writeService("service/invoke", bytes("abc"), 2, 5, out, 0)).toBe(THING_TOPIC_BAD_SERVICE_ID);
    expect(topics.writeService("service/invoke", bytes("reboot"), 0, 6, new Uint8Array(20), 0)).toBe(THING_TOPIC_NO_ROOM);
  });

  it("validates the ids it is built from", () => {
    expect(() => new ThingTopics("", "a")).toThrow(OneNetConfigError);
    expect(() => new ThingTopics("pid", "a/b")).toThrow(expect.objectContaining({ code: "bad-device-name" }));
    const long = "n".repeat(64);
    const t = new ThingTopics("pid", long);
    expect(t.topicString("property/set")).toBe(`$sys/pid/${long}/thing/property/set`);
  });
});

describe("matchThingTopic", () => {
  const topics = new ThingTopics("L14FCC38pq", "test1");
  const match = (topic: string, pad = 5) => {
    // The topic sits in the middle of a packet buffer, as it does after the MQTT decoder.
    const buf = new Uint8Array(pad + topic.length + 7).fill(0x2f);
    buf.set(bytes(topic), pad);
    return topics.matchThingTopic(buf, pad, Buffer.byteLength(topic));
  };

  it("recognises every topic it can build", () => {
    for (const kind of FIXED_THING_TOPICS) {
      expect(match(topics.topicString(kind))).toBe(kind);
      expect(topics.serviceIdOffset).toBe(-1);
    }
  });

  it("finds the service id where it lies", () => {
    expect(match(`${P}service/reboot/invoke`, 9)).toBe("service/invoke");
    expect(topics.serviceIdOffset).toBe(9 + P.length + "service/".length);
    expect(topics.serviceIdLength).toBe(6);
    expect(match(`${P}service/s_1/invoke_reply`)).toBe("service/invoke_reply");
    expect(topics.serviceIdLength).toBe(3);
  });

  it("calls everything else unknown, and clears the service id", () => {
    match(`${P}service/reboot/invoke`);
    const unknown = [
      `${P}property/sett`,
      `${P}property/se`,
      `${P}property/set/`,
      `${P}property/set_replyx`,
      `${P}property/get/reply`,
      `${P}service//invoke`,
      `${P}service/a/b/invoke`,
      `${P}service/reboot/invoke/`,
      `${P}service/reboot`,
      `${P}service/`,
      `${P}#`,
      P,
      "$sys/L14FCC38pq/test2/thing/property/set",
      "$sys/L14FCC38pq/test1/thing",
      "$sys/L14FCC38pq/test11/thing/property/set",
      "$SYS/L14FCC38pq/test1/thing/property/set",
      "",
      "x",
    ];
    for (const topic of unknown) {
      expect(match(topic), topic).toBe<ThingTopicKind>("unknown");
      expect(topics.serviceIdOffset).toBe(-1);
    }
  });

  it("refuses ranges outside the buffer", () => {
    const buf = bytes(`${P}property/set`);
    expect(topics.matchThingTopic(buf, 1, buf.length)).toBe("unknown");
    expect(topics.matchThingTopic(buf, -1, buf.length)).toBe("unknown");
  });
});
