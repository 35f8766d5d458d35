/*
 * Stream framing (rule 9): bytes arrive in any split. Every split point of a stream holding every
 * golden packet must decode to the same events as the whole stream; so must byte-at-a-time and
 * random chunkings; and no input whatsoever makes feed() throw or describe bytes outside the buffer.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import paho from "../fixtures/paho-vectors.json" with { type: "json" };
import seed from "../fixtures/seed-vectors.json" with { type: "json" };
import { MqttDecoder } from "../../host-sim/mqtt/index.js";
import type { DecodedPacket } from "../../host-sim/mqtt/index.js";
import { Recorder, decodeAll, decodeChunked, fromHex } from "./helpers.js";

const goldenHex = [...Object.values(seed.packets), ...Object.values(paho.packets)].map((p) => p.hex.replace(/\s+/g, ""));
const stream = fromHex(goldenHex.join(""));
const whole = decodeAll(stream, "any");

describe("split streams", () => {
  it("the whole stream decodes to every golden packet, no errors", () => {
    expect(whole).toHaveLength(goldenHex.length);
    expect(whole.every((e) => "packet" in e)).toBe(true);
  });

  it("every split point into two chunks gives the same packets", () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const d = new MqttDecoder({ role: "any" });
      const sink = new Recorder();
      d.feed(stream, 0, cut, sink);
      d.feed(stream, cut, stream.length - cut, sink);
      expect(sink.events, `cut at ${cut}`).toEqual(whole);
    }
  });

  it("one byte at a time", () => {
    expect(decodeChunked(stream, [1], "any")).toEqual(whole);
  });

  it("random chunkings", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 20 }), (cuts) => {
        expect(decodeChunked(stream, cuts, "any")).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  it("a dropped too-large packet keeps the stream in sync at every split point", () => {
    const bytes = fromHex("D0 00 30 30 00 01 61" + " 41".repeat(45) + " 40 02 00 07 D0 00");
    const expected = [
      { packet: { type: "PINGRESP" } },
      { error: "packet-too-large", fatal: false },
      { packet: { type: "PUBACK", packetId: 7 } },
      { packet: { type: "PINGRESP" } },
    ];
    expect(decodeAll(bytes, "client", 32)).toEqual(expected);
    for (let cut = 1; cut < bytes.length; cut++) {
      const d = new MqttDecoder({ bufferSize: 32 });
      const sink = new Recorder();
      d.feed(bytes, 0, cut, sink);
      d.feed(bytes, cut, bytes.length - cut, sink);
      expect(sink.events, `cut at ${cut}`).toEqual(expected);
    }
  });

  it("a sink that calls reset() drops the rest of the chunk", () => {
    const d = new MqttDecoder();
    let count = 0;
    const bytes = fromHex("D0 00 D0 00 D0 00");
    d.feed(bytes, 0, bytes.length, {
      onPacket: () => {
        count++;
        d.reset();
      },
      onError: () => {},
    });
    expect(count).toBe(1);
    expect(d.pending).toBe(false);
  });

  it("a sink that throws leaves the decoder positioned after that packet", () => {
    const d = new MqttDecoder();
    const bytes = fromHex("40 02 00 01 40 02 00 02");
    expect(() =>
      d.feed(bytes, 0, 4, {
        onPacket: () => {
          throw new Error("app bug");
        },
        onError: () => {},
      }),
    ).toThrow("app bug");
    const sink = new Recorder();
    d.feed(bytes, 4, 4, sink);
    expect(sink.events).toEqual([{ packet: { type: "PUBACK", packetId: 2 } }]);
  });

  it("out-of-range offset/length are clamped, never trusted", () => {
    const d = new MqttDecoder();
    const sink = new Recorder();
    const bytes = fromHex("D0 00");
    d.feed(bytes, -5, 100, sink);
    d.feed(bytes, 7, 3, sink);
    d.feed(bytes, 0, -1, sink);
    expect(sink.events).toEqual([{ packet: { type: "PINGRESP" } }]);
  });
});

describe("hostile input", () => {
  /** Checks a decoded packet only points inside the buffer and at the bytes that arrived. */
  function checkBounds(p: DecodedPacket, size: number) {
    expect(p.packetLength).toBeLessThanOrEqual(size);
    for (const [off, len] of [
      [p.topicOffset, p.topicLength],
      [p.payloadOffset, p.payloadLength],
      [p.clientIdOffset, p.clientIdLength],
      [p.willTopicOffset, p.willTopicLength],
      [p.willMessageOffset, p.willMessageLength],
      [p.usernameOffset, p.usernameLength],
      [p.passwordOffset, p.passwordLength],
    ]) {
      expect(off).toBeGreaterThanOrEqual(0);
      expect(off + len).toBeLessThanOrEqual(p.packetLength);
    }
    for (let ok = p.firstFilter(); ok; ok = p.nextFilter()) expect(p.filterOffset + p.filterLength).toBeLessThanOrEqual(p.packetLength);
  }

  it.each(["client", "server", "any"] as const)("random bytes never throw (%s role), packets stay inside the buffer", (role) => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(8, 16, 64, 256),
        (bytes, cuts, size) => {
          const d = new MqttDecoder({ role, bufferSize: size });
          let pos = 0;
          let k = 0;
          const sink = {
            onPacket: (p: DecodedPacket) => checkBounds(p, size),
            onError: () => {},
          };
          while (pos < bytes.length) {
            const n = Math.min(cuts[k++ % cuts.length], bytes.length - pos);
            d.feed(bytes, pos, n, sink);
            pos += n;
          }
          d.end(sink);
          expect(d.buffer.length).toBe(size);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("mutated golden packets never throw and decode the same in any split", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...goldenHex),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
        (hex, edits, cuts) => {
          const bytes = fromHex(hex + "D000");
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          expect(decodeChunked(bytes, cuts, "any", 256)).toEqual(decodeAll(bytes, "any", 256));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
