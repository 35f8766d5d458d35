/*
 * The RP2040's mask ROM. rp2040js emulates the chip but does not ship Raspberry Pi's bootrom, and
 * neither do we (it is not ours to redistribute): the user points us at a copy.
 *
 * Accepted: a raw 16 KB binary (built from github.com/raspberrypi/pico-bootrom, revision B1), or
 * rp2040js's `demo/bootrom.ts` (the same bytes as a Uint32Array literal,
 * github.com/wokwi/rp2040js/blob/main/demo/bootrom.ts). Where from: `--bootrom PATH`, else the
 * environment variable RP2040_BOOTROM.
 */
import { readFileSync } from "node:fs";

export const BOOTROM_ENV = "RP2040_BOOTROM";
const BOOTROM_WORDS = 4096;
/** Word 0 of every RP2040 bootrom: the initial stack pointer, top of SRAM bank 4 minus 0x100. */
const INITIAL_SP = 0x20041f00;

export class BootromError extends Error {}

export function bootromPath(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const path = given ?? env[BOOTROM_ENV];
  if (!path) {
    throw new BootromError(
      `the RP2040 bootrom is needed: give --bootrom PATH or set ${BOOTROM_ENV} (a 16 KB bootrom binary, or rp2040js's demo/bootrom.ts; see the README, "The emulated Pico")`,
    );
  }
  return path;
}

export function loadBootrom(path: string): Uint32Array {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BootromError(`cannot read the bootrom ${path}: ${code === "ENOENT" ? "no such file" : code ?? String(error)}`);
  }
  const words = bytes.length === BOOTROM_WORDS * 4 ? wordsOfBinary(bytes) : wordsOfSource(bytes.toString("latin1"));
  if (words === undefined || words.length !== BOOTROM_WORDS) {
    throw new BootromError(`${path} is not an RP2040 bootrom: expected 16384 bytes, or rp2040js's bootrom.ts with 4096 words`);
  }
  if (words[0] !== INITIAL_SP) throw new BootromError(`${path} is not an RP2040 bootrom (its first word is not the RP2040's initial stack pointer)`);
  return words;
}

function wordsOfBinary(bytes: Buffer): Uint32Array {
  const words = new Uint32Array(BOOTROM_WORDS);
  for (let i = 0; i < BOOTROM_WORDS; i++) words[i] = bytes.readUInt32LE(i * 4);
  return words;
}

function wordsOfSource(text: string): Uint32Array | undefined {
  const start = text.indexOf("new Uint32Array([");
  if (start < 0) return undefined;
  const end = text.indexOf("])", start);
  const body = text.slice(start, end < 0 ? undefined : end);
  const found = body.match(/0x[0-9a-fA-F]{1,8}/g);
  return found ? Uint32Array.from(found, (h) => parseInt(h, 16)) : undefined;
}
