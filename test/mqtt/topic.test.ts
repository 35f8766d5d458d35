/* Topic helpers: allocation-free comparison and wildcard matching against topics in a buffer. */
import { describe, expect, it } from "vitest";
import { topicEquals, topicEqualsBytes, topicMatches, topicToString } from "../../host-sim/mqtt/index.js";

const enc = new TextEncoder();
function inBuffer(topic: string): [Uint8Array, number, number] {
  const bytes = enc.encode(topic);
  const buf = new Uint8Array(bytes.length + 4).fill(0x2f); // padding "/" must not leak into comparisons
  buf.set(bytes, 2);
  return [buf, 2, bytes.length];
}

describe("topicEquals", () => {
  it.each([
    ["a/b", "a/b", true],
    ["a/b", "a/c", false],
    ["a/b", "a/b/", false],
    ["a/b/", "a/b", false],
    ["灯/💡/é", "灯/💡/é", true],
    ["灯/💡/é", "灯/💡/e", false],
    ["$sys/L14FCC38pq/test1/thing/property/set", "$sys/L14FCC38pq/test1/thing/property/set", true],
  ])("%s vs %s", (topic, other, equal) => {
    const [buf, off, len] = inBuffer(topic);
    expect(topicEquals(buf, off, len, other)).toBe(equal);
    const o = enc.encode(other);
    expect(topicEqualsBytes(buf, off, len, o, 0, o.length)).toBe(equal);
    expect(topicEquals(buf, off, len, o)).toBe(equal);
    const padded = new Uint8Array(o.length + 3);
    padded.set(o, 1);
    expect(topicEquals(buf, off, len, padded, 1, o.length)).toBe(equal);
    expect(topicToString(buf, off, len)).toBe(topic);
  });
});

describe("topicMatches", () => {
  it.each([
    ["a/b", "a/b", true],
    ["a/b", "a/+", true],
    ["a/b", "+/b", true],
    ["a/b", "+/+", true],
    ["a/b", "#", true],
    ["a/b", "a/#", true],
    ["a", "a/#", true],
    ["a/b/c", "a/#", true],
    ["a/b/c", "a/+", false],
    ["a/b", "a/b/c", false],
    ["a/", "a/+", true],
    ["a", "a/+", false],
    ["b/a", "a/#", false],
    ["a//b", "a/+/b", true],
    ["$sys/x", "#", false],
    ["$sys/x", "+/x", false],
    ["$sys/x", "$sys/+", true],
    ["灯/💡", "灯/+", true],
    ["灯/💡", "+/💡", true],
    ["灯/💡", "灯/💢", false],
  ])("%s matches %s: %s", (topic, filter, result) => {
    const [buf, off, len] = inBuffer(topic);
    expect(topicMatches(buf, off, len, filter)).toBe(result);
  });
});
