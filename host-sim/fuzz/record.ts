/*
 * Records the fuzzer's seed corpus from the simulator: for each dialect and receive mode, a virtual-time
 * session (boot, online, a few property/sets, a TCP close, back online, one more set) and saves what
 * the fuzz targets read: the module -> MCU UART bytes as delivered (with how many MCU -> module bytes
 * preceded each chunk) and every broker -> device MQTT packet, per connection. Only those directions
 * are stored: the other ones carry the WiFi password and the token.
 *
 *   node --import tsx host-sim/fuzz/record.ts [outDir = test/fixtures/sessions]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ReceiveMode } from "../../firmware/config.js";
import type { Dialect } from "../esp8266/emulator.js";
import { Simulation } from "../sim.js";
import { toHex, type RecordedSession } from "./sessions.js";

export async function recordSession(dialect: Dialect, receiveMode: ReceiveMode, seed = 7): Promise<RecordedSession> {
  const uart: RecordedSession["uart"] = [];
  let toModule = 0;
  const sim = await Simulation.create({
    dialect,
    receiveMode,
    seed,
    wallClockStart: Date.UTC(2026, 10, 22, 12, 0, 0),
    keepaliveS: 60,
    onEvent: (e) => {
      if (e.type !== "uart") return;
      if (e.direction === "to-module") toModule += e.bytes.length;
      else uart.push({ after: toModule, hex: toHex(e.bytes) });
    },
  });
  try {
    sim.start();
    const must = async (what: string, p: () => boolean, ms: number) => {
      if (!(await sim.runUntil(p, ms))) throw new Error(`recording ${dialect}/${receiveMode}: ${what} did not happen`);
    };
    await must("online", () => sim.online, 120_000);
    for (let i = 0; i < 3; i++) {
      const id = await sim.setLed(i % 2 === 0);
      await must("set_reply", () => sim.replyTo(id) !== undefined, 30_000);
    }
    await sim.getLed();
    await sim.runFor(2_000);
    sim.tcpClose();
    await must("offline", () => !sim.online, 300_000);
    await must("back online", () => sim.online, 180_000);
    const id = await sim.setLed(false);
    await must("last set_reply", () => sim.replyTo(id) !== undefined, 30_000);
    await sim.runFor(1_000);
    const conns = new Map<number, string[]>();
    for (const e of sim.broker!.history) {
      if (e.type !== "packet" || e.dir !== "out") continue;
      const list = conns.get(e.conn) ?? [];
      list.push(toHex(e.bytes));
      conns.set(e.conn, list);
    }
    if (sim.clock.errors.length) throw new Error(`recording ${dialect}/${receiveMode}: clock errors ${String(sim.clock.errors[0])}`);
    return { name: `${dialect}-${receiveMode}`, dialect, receiveMode, uart, mqtt: [...conns.values()] };
  } finally {
    await sim.close();
  }
}

async function main(): Promise<void> {
  const out = process.argv[2] ?? "test/fixtures/sessions";
  mkdirSync(out, { recursive: true });
  for (const dialect of ["1.7", "2.x"] as const) {
    for (const mode of ["active", "passive", "transparent"] as const) {
      const s = await recordSession(dialect, mode);
      writeFileSync(join(out, `${s.name}.json`), JSON.stringify(s, null, 1) + "\n");
      console.log(`${s.name}: ${s.uart.length} UART chunks, ${s.mqtt.length} connections, ${s.mqtt.flat().length} packets`);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
