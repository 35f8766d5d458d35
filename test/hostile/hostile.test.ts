/*
 * The firmware against a scripted hostile broker (host-sim/hostile), in real time through the
 * emulated ESP8266 over loopback TCP. For each script: the board reports the named error, drops the
 * link (a new link reaches the server), never crashes (no clock errors, no internal-error or
 * handler-failed), and once the server behaves the board comes online.
 */
import { describe, expect, it } from "vitest";
import { HostileBroker } from "../../host-sim/hostile/server.js";
import { HOSTILE_CASES, type HostileCase } from "../../host-sim/hostile/scripts.js";
import { Simulation } from "../../host-sim/sim.js";

async function until(predicate: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

async function play(c: HostileCase, cleanups: (() => Promise<void>)[]) {
  const broker = await HostileBroker.start();
  cleanups.push(() => broker.close());
  const sim = await Simulation.create({ mode: "real", broker: { host: broker.host, port: broker.port }, keepaliveS: 60, seed: 3 });
  cleanups.push(() => sim.close());
  broker.arm([c.script]);
  sim.start();
  const errors = () => sim.events.filter((e): e is Extract<typeof e, { type: "error" }> => e.type === "error");
  const reported = () => !c.expect || errors().some((e) => e.code === c.expect!.code && (c.expect!.detail === undefined || e.detail.includes(c.expect!.detail)));
  const drops = c.dropsLink ?? true;
  // Dropped: a new link reached the server and got a well-behaved session. Kept: still the first.
  const recovered = () => (drops ? broker.deviceLinks >= 2 && broker.onlineLinks >= 1 : broker.deviceLinks === 1);
  const logged = () => !c.expectLog || sim.events.some((e) => e.type === "log" && e.message.includes(c.expectLog!));
  const done = () => reported() && logged() && sim.online && recovered() && (!c.until || c.until(sim, broker));
  const ok = await until(done, 45_000);
  const trail = `\nerrors: ${JSON.stringify(errors().map((e) => [e.code, e.detail]))}\nbroker: ${broker.log.join("\n  ")}`;
  if (process.env.HOSTILE_DEBUG) console.log(c.name, trail);
  return { broker, sim, ok, trail, errors };
}

describe.concurrent("hostile broker", () => {
  // The longest test first, so it overlaps the others.
  it("one board survives several scripts in a row (back-off and all) and comes online after the last", async () => {
    const picks = ["CONNACK return code 6", "SUBACK with the wrong packet id", "random garbage", "PUBLISH before CONNACK"];
    const cases = picks.map((name) => HOSTILE_CASES.find((c) => c.name === name)!);
    const broker = await HostileBroker.start();
    const sim = await Simulation.create({ mode: "real", broker: { host: broker.host, port: broker.port }, keepaliveS: 60, seed: 5 });
    try {
      broker.arm(cases.map((c) => c.script));
      sim.start();
      const errors = () => sim.events.filter((e): e is Extract<typeof e, { type: "error" }> => e.type === "error");
      const ok = await until(() => broker.deviceLinks > cases.length && broker.onlineLinks >= 1 && sim.online, 50_000);
      const trail = `\nerrors: ${JSON.stringify(errors().map((e) => [e.code, e.detail]))}\nbroker: ${broker.log.join("\n  ")}`;
      expect(ok, trail).toBe(true);
      for (const c of cases) expect(errors().some((e) => e.code === c.expect!.code && e.detail.includes(c.expect!.detail!)), `${c.name}${trail}`).toBe(true);
      expect(broker.scriptErrors, trail).toEqual([]);
      expect(sim.clock.errors).toEqual([]);
      expect(errors().filter((e) => e.code === "internal-error" || e.code === "handler-failed"), trail).toEqual([]);
    } finally {
      await sim.close();
      await broker.close();
    }
  }, 60_000);

  for (const c of HOSTILE_CASES) {
    it(c.name, async () => {
      // Tests run concurrently: each cleans up its own broker and board.
      const cleanups: (() => Promise<void>)[] = [];
      try {
        await check(c, cleanups);
      } finally {
        while (cleanups.length) await cleanups.pop()!();
      }
    }, 60_000);
  }
});

async function check(c: HostileCase, cleanups: (() => Promise<void>)[]): Promise<void> {
  const { broker, sim, ok, trail, errors } = await play(c, cleanups);
  expect(ok, `reported ${c.expect ? JSON.stringify(c.expect) : "-"}, dropped, back online${trail}`).toBe(true);
  expect(broker.scriptErrors, trail).toEqual([]);
  if (c.dropsLink ?? true) expect(broker.links[0].closed, trail).toBe(true);
  else expect(broker.deviceLinks, trail).toBe(1);
  expect(sim.clock.errors).toEqual([]);
  expect(errors().filter((e) => e.code === "internal-error" || e.code === "handler-failed"), trail).toEqual([]);
}
