/*
 * The chip scenarios on the STM32 image in QEMU (`npm run chip -- --chip stm32`): the same as on
 * the emulated Pico (../scenarios.ts), on a fresh bench each (a new QEMU, module and broker). QEMU
 * runs in wall time, so the bench runs in real mode and the figures are wall-clock milliseconds
 * (they vary from run to run with the machine's load, unlike the Pico's cycle counts).
 */
import type { ReceiveMode } from "../../../firmware/config.js";
import type { Dialect } from "../../esp8266/emulator.js";
import { Simulation } from "../../sim.js";
import type { ConsoleEvent } from "../chip-console.js";
import { blinkGroups, type Fault } from "../scenarios.js";
import { stm32Device, type Stm32Device } from "./stm32-device.js";
import { EMULATED_PLATFORM, stm32Wiring } from "./wiring.js";

export type Stm32Sim = Simulation<Stm32Device>;

export interface Stm32BenchOptions {
  dialect?: Dialect;
  receiveMode?: ReceiveMode;
  seed?: number;
  onConsole?: (event: ConsoleEvent, timeMs: number) => void;
}

export async function stm32Bench(elf: string, options: Stm32BenchOptions = {}): Promise<Stm32Sim> {
  const wiring = stm32Wiring(EMULATED_PLATFORM);
  return Simulation.create(
    {
      mode: "real",
      dialect: options.dialect ?? "2.x",
      receiveMode: options.receiveMode ?? "passive",
      seed: options.seed ?? 1,
      ledActiveLow: wiring.led.activeLow,
      baud: wiring.baud,
    },
    stm32Device({ elf, usarts: wiring.usarts, led: wiring.led, onConsole: options.onConsole }),
  );
}

/** Runs `body` on a fresh bench and always frees it (QEMU included). */
export async function withStm32Bench<T>(elf: string, options: Stm32BenchOptions, body: (sim: Stm32Sim) => Promise<T>): Promise<T> {
  const sim = await stm32Bench(elf, options);
  try {
    return await body(sim);
  } finally {
    await sim.device.shutdown();
    await sim.close();
  }
}

/** Waits (wall time) until `predicate` holds; whether it did within `limitMs`. */
export async function waitFor(predicate: () => boolean, limitMs: number, stepMs = 10): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() >= end) return false;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  return true;
}

/** Powers on and waits for the session; the ms it took from QEMU's start, or undefined. */
export async function bootToOnline(sim: Stm32Sim, limitMs = 30_000): Promise<number | undefined> {
  sim.start();
  await sim.device.started;
  const start = sim.clock.now();
  const ok = await waitFor(() => sim.online || sim.device.failure !== undefined, limitMs);
  return ok && sim.online ? sim.clock.now() - start : undefined;
}

export interface SetFigures {
  answered: number;
  followed: number;
  /** ms from the cloud's property/set to the LED pin's edge. */
  setToLedMs: number[];
  /** ms from the cloud's property/set to the set_reply reaching it. */
  replyMs: number[];
}

/** The cloud sets the LED `count` times, alternating; each set must switch the LED pin and be answered. */
export async function setsFollowed(sim: Stm32Sim, count: number, limitMs = 10_000): Promise<SetFigures> {
  const figures: SetFigures = { answered: 0, followed: 0, setToLedMs: [], replyMs: [] };
  const activeLow = sim.config.led.activeLow;
  for (let i = 0; i < count; i++) {
    const on = !sim.ledOn;
    const edgesBefore = sim.device.ledEdges.length;
    const replies: { t: number; payload: string }[] = [];
    const off = sim.onEvent((e) => {
      if (e.type === "publish" && e.direction === "up" && e.kind === "set_reply") replies.push(e);
    });
    const sent = sim.clock.now();
    const id = await sim.setLed(on);
    const ok = await waitFor(() => sim.replyTo(id) !== undefined && sim.ledOn === on, limitMs);
    off();
    if (sim.replyTo(id) !== undefined) {
      figures.answered++;
      const reply = replies.find((r) => (JSON.parse(r.payload) as { id?: string }).id === id);
      if (reply) figures.replyMs.push(reply.t - sent);
    }
    if (!ok) continue;
    figures.followed++;
    const edge = sim.device.ledEdges.slice(edgesBefore).find((e) => e.level === (activeLow ? (on ? 0 : 1) : on ? 1 : 0));
    if (edge) figures.setToLedMs.push(edge.time - sent);
    // Let the report go out before the next set.
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return figures;
}

/** Injects a fault on an online bench and waits for the session to come back and obey a set. */
export async function recovers(sim: Stm32Sim, fault: Fault, limitMs = 60_000): Promise<{ ok: boolean; downMs: number }> {
  const connacks = sim.device.client.stats.connacks;
  const start = sim.clock.now();
  if (fault === "wifi-drop") sim.wifiDrop(5000);
  else if (fault === "tcp-close") sim.tcpClose();
  else sim.resetModule();
  const back = await waitFor(() => sim.device.client.stats.connacks > connacks && sim.online, limitMs);
  const downMs = sim.clock.now() - start;
  if (!back) return { ok: false, downMs };
  const after = await setsFollowed(sim, 1);
  return { ok: after.followed === 1 && after.answered === 1, downMs };
}

/** Shorter LED pulses are not a code but the GPIO set-up at boot (microseconds on the chip, stretched by QEMU's logging). */
export const GLITCH_MS = 50;

/** LED edges without the pulses shorter than `GLITCH_MS`. */
export function withoutGlitches(edges: readonly { time: number; level: 0 | 1 }[], activeLow: boolean): { time: number; level: 0 | 1 }[] {
  const out: { time: number; level: 0 | 1 }[] = [];
  const lit = (level: 0 | 1) => (activeLow ? level === 0 : level === 1);
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i];
    const next = edges[i + 1];
    if (lit(e.level) && next && !lit(next.level) && next.time - e.time < GLITCH_MS) {
      i++; // the pulse and its end
      continue;
    }
    out.push(e);
  }
  return out;
}

/** Runs a board that should fail visibly: the LED's pulse groups, the console's fatal line, and the boots and XS aborts seen. */
export async function blinksOf(sim: Stm32Sim, runMs: number): Promise<{ groups: number[]; line: string | undefined; boots: number; aborts: string[] }> {
  let line: string | undefined;
  let boots = 0;
  const aborts: string[] = [];
  const off = sim.onEvent((e) => {
    if (e.type !== "log") return;
    if (line === undefined && /^fatal: /.test(e.message)) line = e.message;
    // After an abort Zephyr restarts at once: XS's message and the next banner share a line.
    if (e.message.includes("*** Booting Zephyr")) boots++;
    const abort = /fxAbort ([^:]+)/.exec(e.message) ?? /XS abort: ([^;(]+)/.exec(e.message);
    if (abort) aborts.push(abort[1].trim());
  });
  sim.start();
  await sim.device.started;
  await new Promise((resolve) => setTimeout(resolve, runMs));
  off();
  const activeLow = sim.config.led.activeLow;
  return { groups: blinkGroups(withoutGlitches(sim.device.ledEdges, activeLow), activeLow), line, boots, aborts };
}
