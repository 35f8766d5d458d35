/*
 * UF2, the format `mcconfig -p pico` (and the Pico SDK's picotool) writes: 512-byte blocks, each
 * carrying up to 476 bytes for one flash address. https://github.com/microsoft/uf2
 *
 *   const image = parseUf2(bytes);          // throws Uf2Error naming what is wrong
 *   image.blocks, image.flashBytes          // what goes where; how much flash it fills
 *   writeUf2(flashImage, 0x10000000)        // our own bare-metal program, as the loader takes it
 */

const MAGIC_START0 = 0x0a324655;
const MAGIC_START1 = 0x9e5d5157;
const MAGIC_END = 0x0ab16f30;
const FLAG_NOT_MAIN_FLASH = 0x00000001;
const FLAG_FAMILY_ID = 0x00002000;
/** The RP2040's family id. Other families (the RP2350's "absolute" block, 0xe48bff57) are skipped. */
export const RP2040_FAMILY = 0xe48bff56;
const BLOCK = 512;
const PAYLOAD = 256;

export class Uf2Error extends Error {}

export interface Uf2Block {
  address: number;
  data: Uint8Array;
}

export interface Uf2Image {
  blocks: Uf2Block[];
  /** Bytes of RP2040 payload. */
  flashBytes: number;
  /** Blocks of other families (e.g. picotool's RP2350-E10 workaround block), ignored. */
  skipped: number;
}

export function parseUf2(bytes: Uint8Array, family = RP2040_FAMILY): Uf2Image {
  if (bytes.length === 0) throw new Uf2Error("the image is empty");
  if (bytes.length % BLOCK !== 0) throw new Uf2Error(`not a UF2 image: ${bytes.length} bytes is not a whole number of 512-byte blocks`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const blocks: Uf2Block[] = [];
  let skipped = 0;
  let flashBytes = 0;
  for (let offset = 0; offset < bytes.length; offset += BLOCK) {
    const n = offset / BLOCK;
    if (view.getUint32(offset, true) !== MAGIC_START0 || view.getUint32(offset + 4, true) !== MAGIC_START1 || view.getUint32(offset + BLOCK - 4, true) !== MAGIC_END) {
      throw new Uf2Error(`not a UF2 image: block ${n} has no UF2 magic numbers`);
    }
    const flags = view.getUint32(offset + 8, true);
    const address = view.getUint32(offset + 12, true);
    const size = view.getUint32(offset + 16, true);
    const blockFamily = view.getUint32(offset + 28, true);
    if (flags & FLAG_NOT_MAIN_FLASH) {
      skipped++;
      continue;
    }
    if ((flags & FLAG_FAMILY_ID) !== 0 && blockFamily !== family) {
      skipped++;
      continue;
    }
    if (size > 476) throw new Uf2Error(`block ${n} claims ${size} bytes of payload (at most 476)`);
    blocks.push({ address, data: bytes.subarray(offset + 32, offset + 32 + size) });
    flashBytes += size;
  }
  if (blocks.length === 0) throw new Uf2Error("the UF2 image holds no RP2040 blocks (built for another chip?)");
  return { blocks, flashBytes, skipped };
}

/** A flash image (starting at `base`) as UF2 blocks of 256 bytes, the way picotool writes them. */
export function writeUf2(image: Uint8Array, base: number, family = RP2040_FAMILY): Uint8Array {
  const count = Math.ceil(image.length / PAYLOAD);
  const out = new Uint8Array(count * BLOCK);
  const view = new DataView(out.buffer);
  for (let i = 0; i < count; i++) {
    const o = i * BLOCK;
    view.setUint32(o, MAGIC_START0, true);
    view.setUint32(o + 4, MAGIC_START1, true);
    view.setUint32(o + 8, FLAG_FAMILY_ID, true);
    view.setUint32(o + 12, base + i * PAYLOAD, true);
    view.setUint32(o + 16, PAYLOAD, true);
    view.setUint32(o + 20, i, true);
    view.setUint32(o + 24, count, true);
    view.setUint32(o + 28, family, true);
    out.set(image.subarray(i * PAYLOAD, (i + 1) * PAYLOAD), o + 32);
    view.setUint32(o + BLOCK - 4, MAGIC_END, true);
  }
  return out;
}
