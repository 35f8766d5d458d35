/*
 * The string-topic cache in PublishFields (encode.ts keeps a validated topic's UTF-8 bytes so the
 * same topic is not read again): one fields object reused across many topics, valid and invalid,
 * short and long, writes exactly what a fresh fields object writes and refuses exactly what it
 * refuses.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MqttError, encodePublish, newPublishFields } from "../../host-sim/mqtt/index.js";
import type { PublishFields } from "../../host-sim/mqtt/index.js";

const BUF_SIZE = 4096;

/** Hex of the packet, or the error code. */
function encode(f: PublishFields, topic: string, qos: number): string {
  f.topic = topic;
  f.payload = "p";
  f.qos = qos;
  f.packetId = qos === 0 ? 0 : 9;
  const buf = new Uint8Array(BUF_SIZE);
  try {
    return Buffer.from(buf.subarray(0, encodePublish(buf, 0, f))).toString("hex");
  } catch (error) {
    if (error instanceof MqttError) return error.code;
    throw error;
  }
}

const fresh = (topic: string, qos: number) => encode(newPublishFields(), topic, qos);

describe("PublishFields topic cache", () => {
  it("a reused fields object agrees with a fresh one across a sequence of topics", () => {
    const topics = [
      "a/b",
      "a/b",
      "",
      "a/b",
      "a/#",
      "a/b",
      "a\u0000b",
      "灯/😀",
      "a\ud800",
      "灯/😀",
      "x".repeat(40),
      "a/+",
      "x".repeat(40),
      "é".repeat(700), // 1,400 bytes: past the roomy cache size
      "a/b",
      "é".repeat(700),
      "z".repeat(3000), // 3,000 bytes: the cache grows to exactly that
      "y".repeat(5000), // buffer-too-small, after the topic was checked and cached
      "a/b",
      "y".repeat(5000),
      "\udc00",
      "a/b",
    ];
    const f = newPublishFields();
    for (const [i, topic] of topics.entries()) {
      const qos = i % 3;
      expect(encode(f, topic, qos), `#${i} ${JSON.stringify(topic.slice(0, 12))}`).toBe(fresh(topic, qos));
    }
  });

  it("a topic that failed does not replace the last good one", () => {
    const f = newPublishFields();
    expect(encode(f, "dev/1/up", 1)).toBe(fresh("dev/1/up", 1));
    expect(encode(f, "dev/1/#", 1)).toBe("topic-has-wildcard");
    expect(encode(f, "dev/\ud83d", 1)).toBe("invalid-utf8");
    expect(encode(f, "dev/1/up", 1)).toBe(fresh("dev/1/up", 1));
    expect(encode(f, "dev/2/up", 0)).toBe(fresh("dev/2/up", 0));
  });

  it("random topic sequences (any UTF-16, wildcards, NULs) on one fields object", () => {
    const unit = fc.oneof(
      fc.constantFrom("/", "+", "#", "\u0000", "a", "é", "灯", "\ud83d\ude00", "\ud800", "\udc00"),
      fc.string({ maxLength: 3 }),
    );
    const topic = fc.array(unit, { maxLength: 30 }).map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.array(fc.tuple(topic, fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 20 }), (steps) => {
        const f = newPublishFields();
        for (const [t, qos] of steps) expect(encode(f, t, qos)).toBe(fresh(t, qos));
      }),
      { numRuns: 300 },
    );
  });
});
