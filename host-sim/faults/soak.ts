/*
 * `npm run soak [-- --days 7 --seed 1]`: days of board time on the simulated bench with
 * keepalive 60 s, a property/set every minute and a fault every hour (the campaign's faults, UART
 * noise excepted: its checks need a clean wire). Checks, besides the campaign's: no keepalive
 * missed while the link was up (the broker never goes longer than the keepalive without a packet
 * from the device), every set answered, and a flat heap (measured on Node after a GC each day).
 */
import { intOption, parseArgs, UsageError } from "../cli/args.js";
import { DeviceOfflineError } from "../cloud.js";
import { Simulation, type SimDevice } from "../sim.js";
import { seededRandom } from "../uart.js";
import { FAULTS, injectFault } from "./inject.js";
import { liveSlots } from "../xs/board-host.js";
import { xsDevice } from "../xs/sim-device.js";

export interface SoakResult {
  days: number;
  sets: number;
  faults: number;
  connects: number;
  unanswered: string[];
  wrongLed: number;
  keepaliveGapsOver: number;
  longestGapMs: number;
  heapMb: number[];
  /** With `xs`: the firmware's live XS heap slots after a GC, each day. */
  xsSlots: number[];
  exceptions: number;
  realSeconds: number;
}

/** The campaign's faults but UART noise: the soak's checks need a clean wire. */
const SOAK_FAULTS = FAULTS.filter((fault) => fault !== "uart-noise" && fault !== "connack-refused");

export async function soak(
  days: number,
  seed: number,
  onDay?: (day: number, result: SoakResult) => void,
  options: { xs?: boolean } = {},
): Promise<SoakResult> {
  const started = Date.now();
  const random = seededRandom(seed);
  const keepaliveS = 60;
  const simOptions = { keepaliveS, seed, receiveMode: "passive" } as const;
  // On XS: the firmware runs in the real engine; its live heap is read after a GC each day.
  const xs = options.xs ? await Simulation.create(simOptions, xsDevice()) : undefined;
  const sim: Simulation<SimDevice> = xs ?? (await Simulation.create(simOptions));
  const result: SoakResult = { days, sets: 0, faults: 0, connects: 0, unanswered: [], wrongLed: 0, keepaliveGapsOver: 0, longestGapMs: 0, heapMb: [], xsSlots: [], exceptions: 0, realSeconds: 0 };
  const gc = (globalThis as { gc?: () => void }).gc;
  // The keepalive, the back-off and a WiFi rejoin may take a few minutes to heal a fault.
  let lastFault = Number.NEGATIVE_INFINITY;
  const faultNear = (t: number) => t - lastFault < 5 * 60_000;
  // Stalled-path windows (wall time as the broker stamps it): [from, to].
  const stalls: [number, number][] = [];
  // Inbound packet times per connection, as the broker saw them: the keepalive check.
  const lastPacket = new Map<number, number>();
  sim.broker!.onEvent((event) => {
    if (event.type === "packet" && event.dir === "in") {
      const previous = lastPacket.get(event.conn);
      // While the path is stalled the device's PINGREQs wait in the network: not a missed keepalive.
      const stalled = previous !== undefined && stalls.some(([from, to]) => previous <= to && event.t >= from);
      if (previous !== undefined && !stalled) {
        const gap = event.t - previous;
        result.longestGapMs = Math.max(result.longestGapMs, gap);
        if (gap > keepaliveS * 1000) result.keepaliveGapsOver++;
      }
      lastPacket.set(event.conn, event.t);
    } else if (event.type === "disconnected") {
      lastPacket.delete(event.conn);
    }
  });
  try {
    sim.start();
    if (!(await sim.runUntil(() => sim.online, 120_000))) throw new Error("never came online");
    const minute = 60_000;
    let pending: { id: string; on: boolean; at: number }[] = [];
    for (let m = 1; m <= days * 24 * 60; m++) {
      await sim.runFor(minute);
      // Sets from the previous minute must have been answered unless a fault hit in between.
      for (const set of pending) if (!sim.replyTo(set.id) && !faultNear(set.at)) result.unanswered.push(set.id);
      pending = [];
      if (m % 60 === 30) {
        result.faults++;
        lastFault = sim.clock.now();
        const fault = SOAK_FAULTS[Math.floor(random() * SOAK_FAULTS.length)];
        injectFault(sim, fault, random, keepaliveS);
        if (fault === "blackhole") stalls.push([sim.clock.wallTime(), sim.clock.wallTime() + 5_000 + keepaliveS * 2_000]);
        continue;
      }
      if (sim.online && !faultNear(sim.clock.now())) {
        const on = random() < 0.5;
        // Online as the device sees it but not yet as the broker does: OneNET would refuse the set too.
        const id = await sim.setLed(on).catch((error: unknown) => {
          if (error instanceof DeviceOfflineError) return undefined;
          throw error;
        });
        if (id !== undefined) {
          result.sets++;
          pending.push({ id, on, at: sim.clock.now() });
          await sim.runUntil(() => sim.replyTo(id) !== undefined, 10_000);
          if (sim.replyTo(id) && sim.ledOn !== on) result.wrongLed++;
        }
      }
      if (m % (24 * 60) === 0) {
        gc?.();
        result.heapMb.push(Math.round((process.memoryUsage().heapUsed / 1e6) * 10) / 10);
        if (xs) result.xsSlots.push(liveSlots(xs.device.worker));
        // On XS, reading the session's counters evaluates a script, and xsnap keeps a slot per
        // evaluation: read them once at the end instead, so the daily heap figure is the firmware's.
        else result.connects = sim.device.client.stats.connects;
        result.exceptions = sim.clock.errors.length;
        onDay?.(m / (24 * 60), result);
      }
    }
    result.connects = sim.device.client.stats.connects;
    result.exceptions = sim.clock.errors.length;
    result.realSeconds = Math.round((Date.now() - started) / 100) / 10;
    return result;
  } finally {
    await sim.close();
  }

}

/** The verdict lines for a soak result: empty when every check held. */
export function soakFailures(result: SoakResult): string[] {
  const failures: string[] = [];
  if (result.unanswered.length) failures.push(`${result.unanswered.length} sets never answered: ${result.unanswered.slice(0, 5).join(", ")}`);
  if (result.wrongLed) failures.push(`${result.wrongLed} sets answered but the LED did not follow`);
  if (result.keepaliveGapsOver) failures.push(`${result.keepaliveGapsOver} gaps longer than the keepalive while connected (longest ${result.longestGapMs} ms)`);
  if (result.exceptions) failures.push(`${result.exceptions} exceptions escaped to the event loop`);
  const heap = result.heapMb;
  if (heap.length >= 3 && heap[heap.length - 1] - heap[1] > 20) failures.push(`heap grew from ${heap[1]} MB (day 2) to ${heap[heap.length - 1]} MB`);
  // XS counts are exact: the firmware's live heap must not grow from one day to the next.
  const slots = result.xsSlots;
  if (slots.some((n) => n > slots[0])) failures.push(`XS live heap grew: ${slots.join(" -> ")} slots`);
  return failures;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["days", "seed"], flags: ["xs"] });
  if (args.has("help")) {
    console.log("usage: npm run soak -- [--days N (7)] [--seed S (1)] [--xs]   (--xs: the firmware inside the XS engine)");
    return 0;
  }
  if (args.positional.length) throw new UsageError(`unexpected argument ${args.positional[0]}`);
  const days = intOption(args, "days", 1, 365) ?? 7;
  const seed = intOption(args, "seed", 0, 2 ** 31 - 1) ?? 1;
  const result = await soak(
    days,
    seed,
    (day, r) =>
      console.log(
        `day ${day}: ${r.sets} sets, ${r.faults} faults, ${r.connects} connects, longest silence ${r.longestGapMs} ms, heap ${r.heapMb.at(-1)} MB` +
          (r.xsSlots.length ? `, XS live slots ${r.xsSlots.at(-1)}` : ""),
      ),
    { xs: args.has("xs") },
  );
  const failures = soakFailures(result);
  console.log(`\n${days} days of board time in ${result.realSeconds} s: ${result.sets} sets, ${result.faults} faults, ${result.connects} connects, ` +
    `longest device silence while connected ${result.longestGapMs} ms (keepalive ${60_000} ms), heap by day ${JSON.stringify(result.heapMb)} MB`);
  for (const failure of failures) console.log(`FAILED: ${failure}`);
  console.log(failures.length ? "0 passed, 1 failed" : "1 passed, 0 failed");
  return failures.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  try {
    process.exitCode = await main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof UsageError ? `soak: ${error.message}` : error);
    process.exitCode = 1;
  }
}
