/*
 * The fuzzer's seed corpus: sessions recorded from the simulator (record.ts), stored as JSON with
 * hex under test/fixtures/sessions/. Loaded once and flattened into byte streams for the targets.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface RecordedSession {
  name: string;
  dialect: "1.7" | "2.x";
  receiveMode: "active" | "passive" | "transparent";
  /** Module -> MCU chunks as the UART delivered them; `after` = MCU -> module bytes sent before. */
  uart: { after: number; hex: string }[];
  /** Broker -> device MQTT packets, one list per TCP connection. */
  mqtt: string[][];
}

/** A session ready for the targets. */
export interface Corpus {
  name: string;
  dialect: "1.7" | "2.x";
  receiveMode: "active" | "passive" | "transparent";
  /** The whole module -> MCU stream. */
  uart: Uint8Array;
  /** Chunk boundaries of `uart` as recorded (end offsets). */
  uartChunks: number[];
  /** Broker -> device streams, one per connection, with the packet boundaries (end offsets). */
  mqtt: { bytes: Uint8Array; ends: number[] }[];
}

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return s;
}

export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

function concat(parts: Uint8Array[]): { bytes: Uint8Array; ends: number[] } {
  let n = 0;
  for (const p of parts) n += p.length;
  const bytes = new Uint8Array(n);
  const ends: number[] = [];
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
    ends.push(at);
  }
  return { bytes, ends };
}

export function corpusOf(s: RecordedSession): Corpus {
  const uart = concat(s.uart.map((c) => fromHex(c.hex)));
  return {
    name: s.name,
    dialect: s.dialect,
    receiveMode: s.receiveMode,
    uart: uart.bytes,
    uartChunks: uart.ends,
    mqtt: s.mqtt.filter((c) => c.length > 0).map((c) => concat(c.map(fromHex))),
  };
}

export const DEFAULT_SESSIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "test", "fixtures", "sessions");

export function loadCorpus(dir = DEFAULT_SESSIONS_DIR): Corpus[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort();
  if (files.length === 0) throw new Error(`no recorded sessions in ${dir} (run host-sim/fuzz/record.ts)`);
  return files.map((f) => corpusOf(JSON.parse(readFileSync(join(dir, f), "utf8")) as RecordedSession));
}
