/*
 * Mutations of recorded sessions: bit flips, byte sets, insertions (random bytes or protocol
 * tokens), deletions, duplications, splices from other sessions, truncation, and the length-field
 * corruptions each protocol is most sensitive to (MQTT remaining lengths and string lengths; AT
 * `+IPD` / `+CIPRECVDATA` lengths). Each mutation names itself so a failure says what was done.
 */
import type { Rng } from "./rng.js";

export type Protocol = "at" | "mqtt";

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 255);

const AT_TOKENS = [
  "\r\n", "\r", "\n", "OK\r\n", "ERROR\r\n", "FAIL\r\n", "SEND OK\r\n", "SEND FAIL\r\n", "ready\r\n", "busy p...\r\n",
  "busy s...\r\n", "CLOSED\r\n", "0,CLOSED\r\n", "CONNECT\r\n", "ALREADY CONNECTED\r\n", "WIFI DISCONNECT\r\n",
  "WIFI CONNECTED\r\n", "WIFI GOT IP\r\n", "+CWJAP:2\r\n", "DNS Fail\r\n", "no ip\r\n", "link is not valid\r\n",
  "UNLINK\r\n", "Recv 12 bytes\r\n", "AT version:1.7.4.0\r\n", "AT version:2.2.0.0\r\n", "> ", ">", "+IPD,", "+IPD,4:",
  "+IPD,0,4:", "+IPD,12\r\n", "+IPD,0,12\r\n", "+IPD,999999:", "+IPD,8192:", "+IPD,8193:", "+CIPRECVDATA,4:",
  "+CIPRECVDATA:4,", "+CIPRECVDATA:8193,", ",", ":", "+", "0", "9", "\x00", "\xff",
].map(ascii);

const MQTT_TOKENS = [
  [0x20, 0x02, 0x00, 0x00], [0x20, 0x02, 0x01, 0x00], [0x90, 0x03, 0x00, 0x01, 0x00], [0xd0, 0x00], [0x30], [0x32],
  [0x36], [0x3f], [0x62, 0x02, 0x00, 0x01], [0x40, 0x02, 0x00, 0x00], [0x00], [0xf0, 0x00], [0x10, 0x00], [0x80],
  [0xff, 0xff, 0xff, 0x7f], [0xff, 0xff, 0xff, 0xff, 0x01], [0x80, 0x00], [0x80, 0x80, 0x80, 0x00], [0xc0, 0x80],
  [0xed, 0xa0, 0x80], [0x2b], [0x23], [0x00, 0x00],
].map((a) => Uint8Array.from(a));

/** Remaining-length encodings a hostile peer would send. */
const RL_EVIL = [
  [0x00], [0x7f], [0x80, 0x01], [0xff, 0x7f], [0xff, 0xff, 0x7f], [0xff, 0xff, 0xff, 0x7f], [0xff, 0xff, 0xff, 0xff],
  [0xff, 0xff, 0xff, 0xff, 0x01], [0x80, 0x00], [0x80, 0x80, 0x00], [0x80, 0x80, 0x80, 0x00], [0x81, 0x80, 0x80, 0x00],
  [0x80, 0x08], [0x81, 0x08], [0xff, 0x07], [0x01], [0x02], [0x03],
].map((a) => Uint8Array.from(a));

/** Numbers for AT length fields: off by one around the limits, huge, empty, not a number. */
const AT_NUMBERS = ["0", "1", "8191", "8192", "8193", "65535", "99999", "999999", "9999999999", "", "-1", "1a", "007"];

function join(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Offsets where `needle` occurs in `hay` (at most 64). */
function findAll(hay: Uint8Array, needle: Uint8Array): number[] {
  const out: number[] = [];
  outer: for (let i = 0; i + needle.length <= hay.length && out.length < 64; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    out.push(i);
  }
  return out;
}

const IPD = ascii("+IPD,");
const RECV = ascii("+CIPRECVDATA");

/** AT: replace the number of a random data header (`+IPD,<n>`, `+CIPRECVDATA...<n>`) by an evil one. */
function corruptAtLength(rng: Rng, input: Uint8Array): Uint8Array {
  const hits = [...findAll(input, IPD).map((i) => i + IPD.length), ...findAll(input, RECV).map((i) => i + RECV.length + 1)];
  if (hits.length === 0) return join(input, ascii("+IPD," + rng.pick(AT_NUMBERS) + ":"));
  let start = rng.pick(hits);
  // Skip a link id (`+IPD,0,12`) half the time so both fields get hit.
  let end = start;
  while (end < input.length && input[end] >= 48 && input[end] <= 57) end++;
  if (input[end] === 44 && rng.chance(0.5)) {
    start = end + 1;
    end = start;
    while (end < input.length && input[end] >= 48 && input[end] <= 57) end++;
  }
  const n = rng.chance(0.7) ? rng.pick(AT_NUMBERS) : String(rng.int(10000));
  return join(input.subarray(0, start), ascii(n), input.subarray(end));
}

/** MQTT: replace the remaining length (or a string length) of a random packet. */
function corruptMqttLength(rng: Rng, input: Uint8Array, ends: readonly number[]): Uint8Array {
  const starts = [0, ...ends.filter((e) => e < input.length)];
  const s = rng.pick(starts);
  if (s + 1 >= input.length) return join(input, rng.pick(RL_EVIL));
  let e = s + 1;
  while (e < input.length && e - s <= 4 && input[e] & 128) e++;
  e = Math.min(e + 1, input.length);
  if (rng.chance(0.25) && e + 2 <= input.length) {
    // A topic / string length just after the fixed header.
    const out = input.slice();
    const v = rng.pick([0, 1, 0xffff, 0x7fff, rng.int(0x10000), input[e] * 256 + input[e + 1] + rng.range(-3, 3)]) & 0xffff;
    out[e] = v >> 8;
    out[e + 1] = v & 255;
    return out;
  }
  const rl = rng.chance(0.6) ? rng.pick(RL_EVIL) : Uint8Array.of(rng.u32() & 255);
  return join(input.subarray(0, s + 1), rl, input.subarray(e));
}

export interface Mutated {
  bytes: Uint8Array;
  /** Names of the mutations applied, in order. */
  steps: string[];
}

/**
 * Applies 1..`max` stacked mutations to `base`. `others` are other seeds for splices; `ends` the
 * packet boundaries of `base` (MQTT) for length corruption.
 */
export function mutate(rng: Rng, protocol: Protocol, base: Uint8Array, others: readonly Uint8Array[], ends: readonly number[] = [], max = 4): Mutated {
  let b = base;
  const steps: string[] = [];
  const count = rng.range(1, max);
  const tokens = protocol === "at" ? AT_TOKENS : MQTT_TOKENS;
  for (let k = 0; k < count; k++) {
    const n = b.length;
    const at = rng.int(n + 1);
    const op = rng.int(11);
    switch (op) {
      case 0: {
        if (n === 0) break;
        const out = b.slice();
        const flips = rng.range(1, 8);
        for (let i = 0; i < flips; i++) out[rng.int(n)] ^= 1 << rng.int(8);
        b = out;
        steps.push("bitflip");
        break;
      }
      case 1: {
        if (n === 0) break;
        const out = b.slice();
        out[rng.int(n)] = rng.pick([0, 255, 127, 128, 10, 13, 0x30, rng.u32() & 255]);
        b = out;
        steps.push("set-byte");
        break;
      }
      case 2:
        b = join(b.subarray(0, at), rng.bytes(rng.range(1, 32)), b.subarray(at));
        steps.push("insert-random");
        break;
      case 3:
        b = join(b.subarray(0, at), rng.pick(tokens), b.subarray(at));
        steps.push("insert-token");
        break;
      case 4: {
        const len = rng.range(1, Math.max(1, Math.min(64, n - at)));
        b = join(b.subarray(0, at), b.subarray(Math.min(n, at + len)));
        steps.push("delete");
        break;
      }
      case 5: {
        const len = rng.range(1, 64);
        b = join(b.subarray(0, at), b.subarray(at, at + len), b.subarray(at));
        steps.push("duplicate");
        break;
      }
      case 6: {
        const other = others.length ? rng.pick(others) : b;
        const from = rng.int(other.length + 1);
        const len = rng.range(1, 256);
        b = rng.chance(0.5)
          ? join(b.subarray(0, at), other.subarray(from, from + len), b.subarray(at))
          : join(b.subarray(0, at), other.subarray(from));
        steps.push("splice");
        break;
      }
      case 7:
        b = b.subarray(0, at);
        steps.push("truncate");
        break;
      case 8:
      case 9:
        b = protocol === "at" ? corruptAtLength(rng, b) : corruptMqttLength(rng, b, k === 0 ? ends : []);
        steps.push("length");
        break;
      default: {
        // Oversize: a header that announces far more than follows.
        const evil =
          protocol === "at"
            ? ascii(rng.pick(["\r\n+IPD,", "\r\n+IPD,0,", "+CIPRECVDATA:", "+CIPRECVDATA,"]) + rng.pick(AT_NUMBERS) + rng.pick([":", ","]))
            : join(Uint8Array.of(rng.pick([0x30, 0x32, 0x20, 0x90, 0xd0, 0x40, 0x60, 0x62])), rng.pick(RL_EVIL));
        b = join(b.subarray(0, at), evil, b.subarray(at));
        steps.push("oversize");
        break;
      }
    }
  }
  return { bytes: b, steps };
}

/** Random chunk sizes for feeding `n` bytes: one chunk, byte by byte, or a random mix. */
export function chunking(rng: Rng, n: number): number[] {
  const style = rng.int(5);
  if (style === 0 || n === 0) return [n];
  if (style === 1) return new Array<number>(n).fill(1);
  const out: number[] = [];
  let left = n;
  const max = style === 2 ? 4 : style === 3 ? 64 : 600;
  while (left > 0) {
    const c = Math.min(left, rng.range(1, max));
    out.push(c);
    left -= c;
  }
  return out;
}
