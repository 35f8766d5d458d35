/*
 * passiveReadSize: in passive receive the firmware asks the module for at most this many bytes at a
 * time, so a whole AT+CIPRECVDATA answer fits a small serial buffer (the Pico's is 160 bytes: the
 * emulated Pico lost bytes with 512). Packets larger than one read still arrive whole.
 */
import { afterEach, expect, it } from "vitest";
import { Simulation } from "../../host-sim/sim.js";

let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

it("reads in 96-byte pieces and still obeys every set, packets longer than a piece included", async () => {
  const s = await Simulation.create({ config: { passiveReadSize: 96 } });
  sim = s;
  const asked: number[] = [];
  s.onEvent((e) => {
    if (e.type !== "uart" || e.direction !== "to-module") return;
    for (const m of new TextDecoder().decode(e.bytes).matchAll(/AT\+CIPRECVDATA=(\d+)/g)) asked.push(Number(m[1]));
  });
  s.start();
  expect(await s.runUntil(() => s.online, 60_000)).toBe(true);
  for (const on of [true, false, true]) {
    const id = await s.setLed(on);
    expect(await s.runUntil(() => s.replyTo(id) !== undefined && s.ledOn === on, 10_000)).toBe(true);
  }
  expect(asked.length).toBeGreaterThan(3);
  expect(Math.max(...asked)).toBe(96);
  // A property/set PUBLISH is over 96 bytes: it took more than one read.
  expect(s.clock.errors).toEqual([]);
});
