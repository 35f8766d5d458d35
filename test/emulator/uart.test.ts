import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../host-sim/clock.js";
import { VirtualUart } from "../../host-sim/uart.js";

const enc = (s: string) => new TextEncoder().encode(s);

function setup(options: ConstructorParameters<typeof VirtualUart>[1] = {}) {
  const clock = new VirtualClock();
  const uart = new VirtualUart(clock, options);
  const readable: { count: number; at: number }[] = [];
  const writable: number[] = [];
  const received: number[] = [];
  const buf = new Uint8Array(4096);
  let autoRead = true;
  const port = uart.mcu.open({
    onReadable(count) {
      readable.push({ count, at: clock.now() });
      if (autoRead) {
        const n = port.read(buf);
        for (let i = 0; i < n; i++) received.push(buf[i]);
      }
    },
    onWritable(count) {
      writable.push(count);
    },
  });
  const toModule: { bytes: number[]; at: number }[] = [];
  uart.module.onData = (bytes) => toModule.push({ bytes: [...bytes], at: clock.now() });
  return {
    clock,
    uart,
    port,
    readable,
    writable,
    received,
    toModule,
    setAutoRead(v: boolean) {
      autoRead = v;
    },
  };
}

describe("VirtualUart", () => {
  it("times bytes from the baud rate (115200 8N1: 10 bits a byte)", () => {
    const t = setup({ chunkSize: 1 });
    expect(t.uart.byteTimeMs).toBeCloseTo(10_000 / 115_200, 9);
    t.uart.module.write(enc("0123456789"));
    t.clock.advance(t.uart.byteTimeMs * 5 + 1e-6);
    expect(t.received.length).toBe(5);
    t.clock.advance(t.uart.byteTimeMs * 5);
    expect(String.fromCharCode(...t.received)).toBe("0123456789");
    // 9600 baud: a byte takes ~1.04 ms.
    const slow = setup({ baud: 9600, chunkSize: 1 });
    slow.uart.module.write(enc("ab"));
    slow.clock.advance(1.0);
    expect(slow.received.length).toBe(0);
    slow.clock.advance(0.05);
    expect(slow.received.length).toBe(1);
  });

  it("delivers in chunks of chunkSize, and the remainder when the line goes idle", () => {
    const t = setup({ chunkSize: 4 });
    t.uart.module.write(enc("abcdefghij"));
    t.clock.advance(100);
    expect(t.readable.map((r) => r.count)).toEqual([4, 4, 2]);
    expect(String.fromCharCode(...t.received)).toBe("abcdefghij");
    // MCU to module in chunks too.
    t.port.write(enc("AT\r\nAT"));
    t.clock.advance(100);
    expect(t.toModule.map((c) => String.fromCharCode(...c.bytes))).toEqual(["AT\r\n", "AT"]);
  });

  it("never calls handlers re-entrantly: read and write return at once, callbacks come from the clock", () => {
    const t = setup({ chunkSize: 1 });
    t.clock.advance(0);
    expect(t.writable).toEqual([128]); // initial room after open
    expect(t.port.read(new Uint8Array(8))).toBe(0); // nothing yet: 0, not an error
    t.uart.module.write(enc("x"));
    expect(t.readable.length).toBe(0);
    t.clock.advance(1);
    expect(t.readable.length).toBe(1);
  });

  it("accepts at most the FIFO room and reports onWritable as the FIFO drains", () => {
    const t = setup({ txFifoSize: 128, chunkSize: 64 });
    t.clock.advance(0);
    t.writable.length = 0;
    const big = new Uint8Array(300).fill(0x41);
    expect(t.port.write(big)).toBe(128);
    expect(t.port.writable).toBe(0);
    expect(t.port.write(big)).toBe(0);
    t.clock.advance(t.uart.byteTimeMs * 10 + 1e-6);
    expect(t.port.writable).toBe(10);
    expect(t.writable).toEqual([]); // not drained yet
    t.clock.advance(t.uart.byteTimeMs * 118 + 1e-6);
    expect(t.writable).toEqual([128]);
    expect(t.toModule.reduce((n, c) => n + c.bytes.length, 0)).toBe(128);
  });

  it("fires onWritable at the low-water mark when configured", () => {
    const t = setup({ txFifoSize: 16, txLowWater: 4, chunkSize: 1 });
    t.clock.advance(0);
    t.writable.length = 0;
    expect(t.port.write(new Uint8Array(20))).toBe(16);
    t.clock.advance(t.uart.byteTimeMs * 12 + 1e-6);
    expect(t.writable).toEqual([12]);
  });

  it("drops and counts bytes when the MCU's RX buffer overruns", () => {
    const t = setup({ rxBufferSize: 32, chunkSize: 8 });
    t.setAutoRead(false);
    t.uart.module.write(new Uint8Array(100).map((_, i) => i));
    t.clock.advance(100);
    expect(t.uart.rxAvailable).toBe(32);
    expect(t.uart.stats.overruns).toBe(68);
    expect(t.uart.stats.toMcu).toBe(32);
    const view = new Uint8Array(64);
    expect(t.port.read(view)).toBe(32);
    expect([...view.subarray(0, 32)]).toEqual([...Array(32).keys()]);
    expect(t.port.read(view)).toBe(0);
  });

  it("injects drops, corruption and delays reproducibly from the seed", () => {
    const run = (seed: number) => {
      const t = setup({ chunkSize: 1, faults: { seed, dropRate: 0.1, corruptRate: 0.1 } });
      t.uart.module.write(new Uint8Array(1000).fill(0x55));
      t.clock.advance(1000);
      return { received: [...t.received], stats: { ...t.uart.stats } };
    };
    const a = run(7);
    const b = run(7);
    const c = run(8);
    expect(a).toEqual(b);
    expect(a.received).not.toEqual(c.received);
    expect(a.stats.dropped).toBeGreaterThan(50);
    expect(a.stats.dropped).toBeLessThan(150);
    expect(a.stats.corrupted).toBeGreaterThan(40);
    expect(a.received.length).toBe(1000 - a.stats.dropped);
    const bad = a.received.filter((x) => x !== 0x55).length;
    expect(bad).toBe(a.stats.corrupted);
    // Each corrupted byte differs from the original in exactly one bit.
    for (const x of a.received) {
      const diff = x ^ 0x55;
      expect(diff & (diff - 1)).toBe(0);
    }

    const d = setup({ chunkSize: 1, faults: { seed: 3, delayRate: 1, extraDelayMs: 5 } });
    d.uart.module.write(enc("abc"));
    d.clock.advance(10);
    expect(d.received.length).toBe(1);
    d.clock.advance(10);
    expect(String.fromCharCode(...d.received)).toBe("abc");
    expect(d.uart.stats.delayed).toBe(3);
  });

  it("faults can target one direction only", () => {
    const t = setup({ chunkSize: 1 });
    t.uart.setFaults({ dropRate: 1 }, "to-module");
    t.port.write(enc("lost"));
    t.uart.module.write(enc("kept"));
    t.clock.advance(10);
    expect(t.toModule.length).toBe(0);
    expect(String.fromCharCode(...t.received)).toBe("kept");
  });

  it("taps traffic both ways with the virtual time", () => {
    const t = setup({ chunkSize: 2 });
    const tap: string[] = [];
    t.uart.onTraffic = (dir, bytes, at) => tap.push(`${dir}:${String.fromCharCode(...bytes)}@${at.toFixed(3)}`);
    t.port.write(enc("AT"));
    t.clock.advance(5);
    t.uart.module.write(enc("OK"));
    t.clock.advance(5);
    const bt = t.uart.byteTimeMs;
    expect(tap).toEqual([`to-module:AT@${(2 * bt).toFixed(3)}`, `to-mcu:OK@${(5 + 2 * bt).toFixed(3)}`]);
  });
});
