/*
 * Hex helpers for the labs (XS has no Buffer): test code passes packets in and out as hex text.
 * These allocate; they are for set-up and checks, never on a measured path.
 */

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[^0-9a-fA-F]/g, "");
  const out = new Uint8Array(clean.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.substr(i * 2, 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array, offset = 0, length = bytes.length - offset): string {
  let s = "";
  for (let i = offset; i < offset + length; i++) s += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
  return s;
}

/** Latin-1 view of bytes (ASCII payloads and topics in checks). */
export function toText(bytes: Uint8Array, offset: number, length: number): string {
  let s = "";
  for (let i = offset; i < offset + length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}
