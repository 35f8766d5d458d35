/*
 * The fault campaign: random, seeded, reproducible fault schedules against the whole simulated
 * bench (firmware, emulated ESP8266, virtual UART, embedded broker), in virtual time.
 *
 *   const result = await runSchedule(seed, { chaosMs });    // one schedule
 *   result.failures                                         // [] when every invariant held
 *
 * A schedule picks an AT dialect, a receive mode and a keepalive, brings the board online, then for
 * `chaosMs` of board time mixes property/set commands from the cloud with faults: WiFi drops, TCP
 * closes, module resets, broker restarts, UART bytes dropped or corrupted, `busy p...` bursts,
 * SEND FAIL, a black-holed link (PINGRESP withheld), CONNACK refusals. Then the faults stop and
 * the invariants are checked:
 * - the board is back online within the back-off bound;
 * - the LED equals the cloud's last command: a property/set, or, when OneNET refused the set because
 *   the device was offline, the desired value set instead (applied through property/desired/get);
 *   unless that last set was lost on a link that died under it (QoS 0: OneNET loses it too);
 * - every set the firmware handled got at most one set_reply with its id, and exactly one when the
 *   link stayed up long enough to carry it (a QoS 0 reply in flight when a fault cuts the link can
 *   be lost: that is MQTT, not a firmware fault);
 * - no set was handled twice; every QoS 1 property/post the firmware queued reached the broker;
 * - no exception escaped the firmware (no error thrown out of a callback, no internal-error);
 * - no secret (WiFi password, device key, token) appears in any log line, event or error.
 */
import type { ReceiveMode } from "../../firmware/config.js";
import type { Dialect } from "../esp8266/emulator.js";
import { DeviceOfflineError } from "../cloud.js";
import { Simulation, type SimEvent } from "../sim.js";
import { seededRandom } from "../uart.js";
import { FAULTS, injectFault } from "./inject.js";

export interface ScheduleOptions {
  /** Board time with faults and commands (default 10 minutes). */
  chaosMs?: number;
  /** Forces a dialect / receive mode instead of picking one at random. */
  dialect?: Dialect;
  receiveMode?: ReceiveMode;
}

export interface ScheduleResult {
  seed: number;
  dialect: Dialect;
  receiveMode: ReceiveMode;
  keepaliveS: number;
  failures: string[];
  faults: Record<string, number>;
  sets: number;
  /** Sets OneNET refused (device offline) that were set desired instead. */
  desired: number;
  boardMs: number;
  connects: number;
}


/** The longest time back online may take after the last fault: the session's normal back-off cap
 * (60 s, plus jitter), a WiFi join and a connect, with margin; a CONNACK 4/5 refusal uses the long
 * back-off (up to 30 min). */
const RECOVERY_BOUND_MS = 5 * 60_000;
const REFUSED_RECOVERY_BOUND_MS = 35 * 60_000;

export async function runSchedule(seed: number, options: ScheduleOptions = {}): Promise<ScheduleResult> {
  const random = seededRandom(seed * 2654435761);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const dialect = options.dialect ?? pick(["1.7", "2.x"] as const);
  const receiveMode = options.receiveMode ?? pick(["active", "passive", "passive", "transparent"] as const);
  const keepaliveS = pick([30, 60, 120]);
  const chaosMs = options.chaosMs ?? 10 * 60_000;
  const password = `pw-${seed}-Secret`;
  const result: ScheduleResult = { seed, dialect, receiveMode, keepaliveS, failures: [], faults: {}, sets: 0, desired: 0, boardMs: 0, connects: 0 };
  const fail = (what: string) => result.failures.push(what);

  const sim = await Simulation.create({ dialect, receiveMode, keepaliveS, seed, password, chunkSize: 1 + Math.floor(random() * 64) });
  try {
    sim.start();
    if (!(await sim.runUntil(() => sim.online, 120_000))) {
      fail("never came online before any fault");
      return result;
    }

    const sets: { id: string; on: boolean; at: number }[] = [];
    /** The cloud's last command: a set (its id), or a desired value where the set found the device offline. */
    let last: { id?: string; on: boolean; at: number } | undefined;
    // The UART has no checksum: a byte corrupted there can spoil a set or its reply beyond anything
    // the firmware can detect. What happens in these windows is exempt from the reply checks.
    const noise: [number, number][] = [];
    // Stalled-path windows: a reply made in one waits in the network and dies if the link does.
    const stalls: [number, number][] = [];
    // A byte lost in one direction also desynchronises the MQTT framing of that link (the far end
    // waits for bytes that never come and swallows the next packets), so a noise window taints the
    // link until the next CONNECT.
    const reconnects = () => sim.events.filter((e) => e.type === "link" && e.layer === "mqtt" && e.state === "connecting").map((e) => e.t);
    const noisy = (t: number) => {
      const starts = reconnects();
      return noise.some(([from, to]) => {
        const clean = starts.find((c) => c > to) ?? Number.POSITIVE_INFINITY;
        return t >= from - 1_000 && t <= clean;
      });
    };
    let lastFaultAt = 0;
    let refusedLong = false;
    const chaosEnd = sim.clock.now() + chaosMs;
    while (sim.clock.now() < chaosEnd) {
      await sim.runFor(Math.min(chaosEnd - sim.clock.now(), 1_000 + Math.floor(random() * 20_000)));
      if (sim.clock.now() >= chaosEnd) break;
      if (random() < 0.6) {
        const on = random() < 0.5;
        try {
          const set = { id: await sim.setLed(on), on, at: sim.clock.now() };
          sets.push(set);
          last = set;
        } catch (error) {
          if (!(error instanceof DeviceOfflineError)) throw error;
          // What a OneNET user does then: set it desired, for the device to apply when it is back.
          await sim.setLedDesired(on);
          result.desired++;
          last = { on, at: sim.clock.now() };
        }
        continue;
      }
      const fault = pick(FAULTS);
      result.faults[fault] = (result.faults[fault] ?? 0) + 1;
      lastFaultAt = sim.clock.now();
      const left = injectFault(sim, fault, random, keepaliveS);
      if (left.noise) noise.push(left.noise);
      if (left.stall) stalls.push(left.stall);
      if (left.refusedLong) refusedLong = true;
    }

    // The faults stop: every injected condition is lifted.
    sim.uart.setFaults({});
    sim.emulator.wifiRestore();
    sim.emulator.unresponsive(false);
    sim.gate.blackhole = false;
    const quietFrom = sim.clock.now();
    const bound = refusedLong ? REFUSED_RECOVERY_BOUND_MS : RECOVERY_BOUND_MS;
    // Give a fault injected just before the end time to take effect before judging recovery.
    await sim.runFor(Math.max(0, lastFaultAt + 2_000 - sim.clock.now()));
    // Online as the firmware sees it is not enough (a dead link is found only by the keepalive):
    // back online means a property/get from the cloud is answered.
    const recovered = await waitForRoundTrip(sim, bound);
    if (!recovered) {
      fail(`not back online ${bound / 1000} s after the last fault (wifi ${sim.link.wifi}, tcp ${sim.link.tcp}, mqtt ${sim.link.mqtt})`);
    } else {
      // Let desired/get, replies and queued posts land.
      await sim.runFor(15_000);
      // The last command reaches the LED, a set directly, a desired value through desired/get after a
      // reconnect: noise any time after it was sent may have garbled either way; a set the device never
      // answered was lost with its link (QoS 0, as on OneNET).
      const lost = last?.id !== undefined && !sim.events.some((e) => e.type === "app" && (e.event === "set-applied" || e.event === "set-rejected") && e.detail.startsWith(`${last!.id} `));
      if (last && !lost && sim.ledOn !== last.on && !noisy(last.at) && !noise.some(([, to]) => to >= last!.at)) {
        fail(`LED is ${sim.ledOn ? "on" : "off"} but the cloud's last command (${last.id !== undefined ? `set ${last.id}` : "a desired value"}) was ${last.on ? "on" : "off"}`);
      }
      checkReplies(sim, sets, noisy, (t) => stalls.some(([from, to]) => t >= from && t <= to), fail);
      // A queued QoS 1 post is retransmitted until acknowledged: any noise after it was queued may
      // have garbled the copy the broker acknowledged.
      checkPosts(sim, (t) => noisy(t) || noise.some(([, to]) => to >= t), fail);
    }
    checkHealth(sim, fail);
    checkSecrets(sim, password, fail);
    result.sets = sets.length;
    result.boardMs = Math.round(sim.clock.now() - quietFrom + chaosMs);
    result.connects = sim.device.client.stats.connects;
    return result;
  } catch (error) {
    fail(`harness error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    return result;
  } finally {
    await sim.close();
  }
}

/** Sends property/get every 10 s until one is answered; false when `limitMs` passes first. */
async function waitForRoundTrip(sim: Simulation, limitMs: number): Promise<boolean> {
  const end = sim.clock.now() + limitMs;
  while (sim.clock.now() < end) {
    if (!(await sim.runUntil(() => sim.online, end - sim.clock.now()))) return false;
    let id: string;
    try {
      id = await sim.getLed();
    } catch (error) {
      // Online as the device sees it, not yet as the broker does (it has not noticed the old link die).
      if (!(error instanceof DeviceOfflineError)) throw error;
      await sim.runFor(1_000);
      continue;
    }
    if (await sim.runUntil(() => sim.replyTo(id) !== undefined, 10_000)) return true;
  }
  return false;
}

/** Handled sets (the firmware's own record) against the replies the cloud saw. */
function checkReplies(
  sim: Simulation,
  sets: { id: string; on: boolean; at: number }[],
  noisy: (t: number) => boolean,
  stalled: (t: number) => boolean,
  fail: (what: string) => void,
): void {
  const handled = new Map<string, number>();
  const handledAt = new Map<string, number>();
  for (const event of sim.events) {
    if (event.type !== "app" || (event.event !== "set-applied" && event.event !== "set-rejected")) continue;
    // A bit flipped on the UART can turn one set's id into another's.
    if (noisy(event.t)) continue;
    const id = event.detail.split(" ")[0];
    handled.set(id, (handled.get(id) ?? 0) + 1);
    handledAt.set(id, event.t);
  }
  // Every set_reply the cloud saw, outside UART noise (garbled replies can carry another set's id).
  const cleanReplies = new Map<string, unknown[]>();
  const anyReply = new Set<string>();
  for (const event of sim.events) {
    if (event.type !== "publish" || event.direction !== "up" || event.kind !== "set_reply") continue;
    const id = /"id":"([^"]*)"/.exec(event.payload)?.[1];
    if (id !== undefined) anyReply.add(id);
    if (noisy(event.t)) continue;
    const code = /"code":(\d+)/.exec(event.payload)?.[1];
    if (id !== undefined) cleanReplies.set(id, [...(cleanReplies.get(id) ?? []), code === undefined ? undefined : Number(code)]);
  }
  const downTimes = sim.events.filter((e): e is Extract<SimEvent, { type: "link" }> => e.type === "link" && e.layer === "mqtt" && e.state !== "online").map((e) => e.t);
  for (const { id, at: sentAt } of sets) {
    // A byte lost on the UART can hold a packet back until later bytes complete its length.
    const exempt = noisy(sentAt) || noisy(handledAt.get(id) ?? sentAt);
    const codes = cleanReplies.get(id) ?? [];
    const replies = codes.length;
    const times = handled.get(id) ?? 0;
    if (times > 1) fail(`set ${id} was handled ${times} times`);
    if (replies > 1) fail(`set ${id} got ${replies} set_replies`);
    if (times === 1 && !anyReply.has(id) && !exempt) {
      const at = handledAt.get(id)!;
      // The reply is QoS 0: queued behind a busy module (busy p, a stalled path), it dies with a
      // link that goes down within seconds. A link that stayed up 10 s after must have carried it.
      const linkLost = downTimes.find((t) => t >= at) ?? Number.POSITIVE_INFINITY;
      if (linkLost - at > 10_000 && !stalled(at)) fail(`set ${id} was handled but no set_reply reached the cloud, and the link stayed up`);
    }
    for (const code of codes) if (code !== 200 && !exempt) fail(`set ${id} answered with code ${String(code)}`);
  }
}

/** Every QoS 1 property/post the firmware queued reached the broker at least once. */
function checkPosts(sim: Simulation, noisy: (t: number) => boolean, fail: (what: string) => void): void {
  const received = new Set<string>();
  for (const message of sim.deviceMessages) {
    if (message.kind !== "property/post") continue;
    const id = (message.json as { id?: unknown } | undefined)?.id;
    if (typeof id === "string") received.add(id);
  }
  for (const event of sim.events) {
    // A post whose bytes crossed a noisy UART may reach the broker garbled (OneNET answers 2400).
    if (event.type === "app" && event.event === "post-queued" && !received.has(event.detail) && !noisy(event.t)) {
      fail(`property/post ${event.detail} was queued at QoS 1 but never reached the broker`);
    }
  }
}

function checkHealth(sim: Simulation, fail: (what: string) => void): void {
  for (const error of sim.clock.errors) fail(`exception escaped to the event loop: ${error instanceof Error ? error.message : String(error)}`);
  for (const event of sim.events) {
    if (event.type === "error" && (event.code === "internal-error" || event.code === "handler-failed")) fail(`firmware reported ${event.code}: ${event.detail}`);
  }
  const inflight = sim.device.client.inflight.used;
  if (inflight > 4) fail(`in-flight store holds ${inflight} messages`);
}

function checkSecrets(sim: Simulation, password: string, fail: (what: string) => void): void {
  const key = sim.config.onenet.key;
  const text = JSON.stringify(sim.events.filter((e) => e.type !== "uart")) + JSON.stringify(sim.board.logLines);
  if (text.includes(password)) fail("the WiFi password appears in the logs or events");
  if (text.includes(key)) fail("the device key appears in the logs or events");
  if (text.includes("sign=")) fail("a token appears in the logs or events");
}

export interface CampaignSummary {
  schedules: number;
  failed: ScheduleResult[];
  faults: Record<string, number>;
  sets: number;
  desired: number;
  boardHours: number;
  connects: number;
  realSeconds: number;
  heapGrowthMb: number;
}

/** Runs `count` schedules with seeds `seed`, `seed + 1`, ...; calls `onResult` after each. */
export async function runCampaign(
  count: number,
  seed: number,
  options: ScheduleOptions & { onResult?: (result: ScheduleResult, index: number) => void } = {},
): Promise<CampaignSummary> {
  const started = Date.now();
  const gc = (globalThis as { gc?: () => void }).gc;
  const heap = () => {
    gc?.();
    return process.memoryUsage().heapUsed;
  };
  const summary: CampaignSummary = { schedules: 0, failed: [], faults: {}, sets: 0, desired: 0, boardHours: 0, connects: 0, realSeconds: 0, heapGrowthMb: 0 };
  let heapAfterWarmup = 0;
  for (let i = 0; i < count; i++) {
    const result = await runSchedule(seed + i, options);
    summary.schedules++;
    summary.sets += result.sets;
    summary.desired += result.desired;
    summary.connects += result.connects;
    summary.boardHours += result.boardMs / 3_600_000;
    for (const [fault, n] of Object.entries(result.faults)) summary.faults[fault] = (summary.faults[fault] ?? 0) + n;
    if (result.failures.length) summary.failed.push(result);
    options.onResult?.(result, i);
    if (i === Math.min(9, count - 1)) heapAfterWarmup = heap();
  }
  if (count > 10) summary.heapGrowthMb = Math.round(((heap() - heapAfterWarmup) / 1e6) * 10) / 10;
  summary.realSeconds = Math.round((Date.now() - started) / 100) / 10;
  summary.boardHours = Math.round(summary.boardHours * 10) / 10;
  return summary;
}
