import { describe, expect, it } from "vitest";
import { Backoff, RateWindow } from "../../firmware/mqtt/client-backoff.js";
import { IdSet, InflightStore } from "../../firmware/mqtt/client-inflight.js";
import { seededRandom } from "./harness.js";

describe("Backoff", () => {
  it("doubles up to the cap, each delay within 50..100 % of its step", () => {
    const b = new Backoff(1000, 60_000, { random: seededRandom(3) });
    const steps = [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000];
    for (const step of steps) {
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(step / 2);
      expect(d).toBeLessThanOrEqual(step);
    }
    b.reset();
    expect(b.next()).toBeLessThanOrEqual(1000);
  });

  it("a broken random source never yields a zero or NaN delay", () => {
    for (const value of [NaN, -1, 1, 5, Infinity]) {
      const b = new Backoff(1000, 1000, { random: () => value });
      expect(b.next()).toBe(750);
    }
  });

  it("stays finite after thousands of attempts", () => {
    const b = new Backoff(1, 1_800_000, { random: () => 0.99 });
    let d = 0;
    for (let i = 0; i < 5000; i++) d = b.next();
    expect(d).toBeLessThanOrEqual(1_800_000);
    expect(d).toBeGreaterThanOrEqual(900_000);
  });
});

describe("RateWindow", () => {
  it("allows `max` events per closed window, then holds the next one back", () => {
    const w = new RateWindow(3, 5000);
    for (const t of [0, 10, 20]) {
      expect(w.earliest(t)).toBe(t);
      w.record(t);
    }
    expect(w.earliest(30)).toBe(5001);
    w.record(5001);
    expect(w.earliest(5001)).toBe(5011);
    expect(w.earliest(9000)).toBe(9000);
  });
});

describe("InflightStore and IdSet", () => {
  it("hands out ids 1..65535 skipping those in flight and the reserved one", () => {
    const s = new InflightStore(2, 16);
    const a = s.freeSlot()!;
    s.claim(a, s.allocateId(0), 1, 4);
    expect(a.packetId).toBe(1);
    expect(s.allocateId(2)).toBe(3); // 2 reserved (a SUBSCRIBE in flight)
    expect(s.used).toBe(1);
    expect(s.find(1)).toBe(a);
    s.release(a);
    expect(s.find(1)).toBeNull();
    expect(s.used).toBe(0);
  });

  it("wraps from 65535 to 1, never 0, skipping ids still in flight", () => {
    const s = new InflightStore(2, 16);
    const held = s.freeSlot()!;
    s.claim(held, s.allocateId(0), 1, 4); // id 1 stays in flight throughout
    const seen = new Set<number>();
    let previous = 1;
    let wrapped = false;
    let outOfRange = 0;
    for (let i = 0; i < 140_000; i++) {
      const id = s.allocateId(0);
      if (!(id >= 2 && id <= 65_535)) outOfRange++;
      if (id < previous) wrapped = true;
      previous = id;
      seen.add(id);
    }
    expect(outOfRange).toBe(0);
    expect(wrapped).toBe(true);
    expect(seen.size).toBe(65_534);
  });

  it("slots are views into one block and do not overlap", () => {
    const s = new InflightStore(3, 8);
    s.slots[0].bytes.fill(1);
    s.slots[2].bytes.fill(3);
    expect([...s.slots[1].bytes]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(s.slots[0].bytes.buffer).toBe(s.slots[2].bytes.buffer);
  });

  it("oldestUnsent follows acceptance order", () => {
    const s = new InflightStore(3, 8);
    const [x, y, z] = s.slots;
    s.claim(y, 10, 1, 1);
    s.claim(z, 11, 1, 1);
    s.claim(x, 12, 1, 1);
    expect(s.oldestUnsent()).toBe(y);
    y.sentAt = 5;
    expect(s.oldestUnsent()).toBe(z);
    s.markAllUnsent();
    expect(s.oldestUnsent()).toBe(y);
  });

  it("IdSet holds at most its capacity", () => {
    const set = new IdSet(2);
    expect(set.add(5)).toBe(true);
    expect(set.add(5)).toBe(true);
    expect(set.add(6)).toBe(true);
    expect(set.full).toBe(true);
    expect(set.add(7)).toBe(false);
    expect(set.has(7)).toBe(false);
    expect(set.remove(5)).toBe(true);
    expect(set.add(7)).toBe(true);
    expect(set.has(6) && set.has(7)).toBe(true);
  });
});
