/*
 * What `npm run chip` runs on the emulated Pico, each scenario on a fresh bench (a new chip,
 * module and broker): boot to online, sets answered with GP25 following, faults recovered, and
 * the blink codes of a refused config and of a memory budget too small. Every figure is taken
 * from the chip's cycle count, so it repeats exactly.
 */
import type { Dialect } from "../esp8266/emulator.js";
import type { ReceiveMode } from "../../firmware/config.js";
import { DEFAULT_WIFI, SEED_DEVICE, Simulation } from "../sim.js";
import type { Creation } from "./build.js";
import { PICO_HZ } from "./pico-chip.js";
import { picoDevice, type PicoDevice } from "./pico-device.js";
import type { Uf2Image } from "./uf2.js";
import type { XsPeaks } from "./chip-console.js";

/** What every image is built with: the bench's own identity, so the emulator and broker admit it. */
export const BENCH_CONFIG = {
  ssid: DEFAULT_WIFI.ssid,
  password: DEFAULT_WIFI.password,
  product: SEED_DEVICE.productId,
  device: SEED_DEVICE.deviceName,
  key: SEED_DEVICE.key,
} as const;

/** The budget every platform carried before it was measured on the chip (it aborts at boot). */
export const OLD_BUDGET: Creation = { static: 32768, chunk: { initial: 1536, incremental: 512 }, heap: { initial: 512, incremental: 64 }, stack: 320 };

/**
 * A budget too small, as a user might set it (40 KB where the firmware needs ~48 KB): XS runs out
 * while the firmware starts, with a few bytes left, so its abort hook runs and blinks code 4.
 */
export const TIGHT_BUDGET: Creation = { static: 40960, chunk: { initial: 1536, incremental: 512 }, heap: { initial: 512, incremental: 64 }, stack: 512 };

/**
 * The budget the memory figures are measured with: room to spare, and XS's smallest first heaps
 * and increments, so XS grows a heap only when a collection cannot make room: what it reserves is
 * what the firmware needs (the committed budget then adds headroom and larger first heaps, which
 * XS would fill with garbage between collections).
 */
export const MEASURE_BUDGET: Creation = { static: 131072, chunk: { initial: 1536, incremental: 512 }, heap: { initial: 512, incremental: 64 }, stack: 512 };

export interface ChipImageUnderTest {
  image: Uf2Image;
  bootrom: Uint32Array;
}

export type ChipSim = Simulation<PicoDevice>;

export async function chipBench(under: ChipImageUnderTest, options: { dialect?: Dialect; receiveMode?: ReceiveMode; seed?: number } = {}): Promise<ChipSim> {
  return Simulation.create({ dialect: options.dialect ?? "2.x", receiveMode: options.receiveMode ?? "passive", seed: options.seed ?? 1 }, picoDevice(under));
}

export interface Outcome {
  name: string;
  ok: boolean;
  detail: string;
}

/** Runs `body` on a fresh bench and always frees it. */
export async function withBench<T>(under: ChipImageUnderTest, options: Parameters<typeof chipBench>[1], body: (sim: ChipSim) => Promise<T>): Promise<T> {
  const sim = await chipBench(under, options);
  try {
    return await body(sim);
  } finally {
    await sim.close();
  }
}

/** Powers on and waits for the session; the board time it took (ms), or undefined. */
export async function bootToOnline(sim: ChipSim, limitMs = 30_000): Promise<number | undefined> {
  const start = sim.clock.now();
  sim.start();
  return (await sim.runUntil(() => sim.online, limitMs)) ? sim.clock.now() - start : undefined;
}

export interface SetFigures {
  answered: number;
  followed: number;
  /** Cycles from the last UART byte of each property/set's PUBLISH to the GP25 edge. */
  setToLedCycles: number[];
  /** Board ms from the cloud's publish to the set_reply reaching it. */
  replyMs: number[];
}

/**
 * The cloud sets the LED `count` times, alternating; each set must switch GP25 and be answered.
 * For each edge, the cycle count since the set's last byte reached the chip's UART.
 */
export async function setsFollowed(sim: ChipSim, count: number, limitMs = 10_000): Promise<SetFigures> {
  const rx: { byte: number; cycle: number }[] = [];
  sim.device.onRxByte = (byte, cycle) => {
    rx.push({ byte, cycle });
  };
  const figures: SetFigures = { answered: 0, followed: 0, setToLedCycles: [], replyMs: [] };
  try {
    for (let i = 0; i < count; i++) {
      const on = !sim.ledOn;
      const edgesBefore = sim.device.ledEdges.length;
      rx.length = 0;
      let payload = "";
      const off = sim.onEvent((e) => {
        if (e.type === "publish" && e.direction === "down" && e.kind === "property/set") payload = e.payload;
      });
      const sent = sim.clock.now();
      const id = await sim.setLed(on);
      const ok = await sim.runUntil(() => sim.replyTo(id) !== undefined && sim.ledOn === on, limitMs);
      off();
      if (sim.replyTo(id) !== undefined) {
        figures.answered++;
        figures.replyMs.push(sim.clock.now() - sent);
      }
      if (!ok) continue;
      figures.followed++;
      const edge = sim.device.ledEdges.slice(edgesBefore).find((e) => e.level === (sim.config.led.activeLow ? (on ? 0 : 1) : on ? 1 : 0));
      const last = lastByteOf(rx, payload);
      if (edge && last !== undefined) figures.setToLedCycles.push(edge.cycle - last);
      // Let the reply and the report go out before the next set.
      await sim.runFor(200);
    }
  } finally {
    sim.device.onRxByte = undefined;
  }
  return figures;
}

/** The cycle at which the last byte of `text` (the PUBLISH's payload, its last bytes) reached the chip. */
function lastByteOf(rx: { byte: number; cycle: number }[], text: string): number | undefined {
  if (!text) return undefined;
  const bytes = new TextEncoder().encode(text);
  for (let end = bytes.length - 1; end < rx.length; end++) {
    let match = true;
    for (let k = 0; k < bytes.length && match; k++) match = rx[end - bytes.length + 1 + k].byte === bytes[k];
    if (match) return rx[end].cycle;
  }
  return undefined;
}

export type Fault = "wifi-drop" | "tcp-close" | "reset-module";

/** Injects a fault on an online bench and waits for the session to come back and obey a set. */
export async function recovers(sim: ChipSim, fault: Fault, limitMs = 60_000): Promise<{ ok: boolean; downMs: number }> {
  const connacks = sim.device.client.stats.connacks;
  const start = sim.clock.now();
  if (fault === "wifi-drop") sim.wifiDrop(5000);
  else if (fault === "tcp-close") sim.tcpClose();
  else sim.resetModule();
  const back = await sim.runUntil(() => sim.device.client.stats.connacks > connacks && sim.online, limitMs);
  const downMs = sim.clock.now() - start;
  if (!back) return { ok: false, downMs };
  const after = await setsFollowed(sim, 1);
  return { ok: after.followed === 1 && after.answered === 1, downMs };
}

/**
 * The LED showed `code` for at least `cycles` whole cycles and nothing else; the last group may be
 * cut short by the end of the run.
 */
export function showsCode(groups: readonly number[], code: number, cycles = 3): boolean {
  const complete = groups.slice(0, -1);
  return complete.length >= cycles && complete.every((g) => g === code) && groups[groups.length - 1] <= code;
}

/** Pulse counts of the LED's complete cycles (pulses separated by a pause of a second or more). */
export function blinkGroups(edges: readonly { time: number; level: 0 | 1 }[], activeLow = false): number[] {
  const pulses: [number, number][] = [];
  let start: number | undefined;
  for (const { time, level } of edges) {
    const lit = activeLow ? level === 0 : level === 1;
    if (lit && start === undefined) start = time;
    else if (!lit && start !== undefined) {
      pulses.push([start, time]);
      start = undefined;
    }
  }
  const groups: number[] = [];
  let n = 0;
  for (let i = 0; i < pulses.length; i++) {
    n++;
    const gap = i + 1 < pulses.length ? pulses[i + 1][0] - pulses[i][1] : Infinity;
    if (gap >= 1000) {
      groups.push(n);
      n = 0;
    }
  }
  return groups;
}

/** Runs a board that should fail visibly: the pulse groups seen, the console's fatal line and its first 200 lines. */
export async function blinksOf(
  sim: ChipSim,
  runMs: number,
): Promise<{ groups: number[]; line: string | undefined; restarts: number; console: string[]; online: boolean }> {
  let line: string | undefined;
  const lines: string[] = [];
  let online = false;
  const off = sim.onEvent((e) => {
    if (e.type === "log" && line === undefined && /^fatal: /.test(e.message)) line = e.message;
    if (e.type === "log" && lines.length < 200) lines.push(e.message);
    if (sim.online) online = true;
  });
  sim.start();
  await sim.runFor(runMs);
  off();
  return { groups: blinkGroups(sim.device.ledEdges), line, restarts: sim.device.restarts, console: lines, online };
}

/** XS's peaks (from an instrumented or debug image) in slots / bytes. */
export function describePeaks(p: XsPeaks): string {
  return `chunks ${p.chunksUsed} used / ${p.chunksReserved} reserved B, slots ${p.slotsUsed / 16} used / ${p.slotsReserved / 16} reserved, stack ${p.stackPeak / 16} of ${p.stackSize / 16} slots`;
}

export function cyclesToMs(cycles: number): number {
  return (cycles / PICO_HZ) * 1000;
}
