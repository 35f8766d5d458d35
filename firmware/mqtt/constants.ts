/*
 * MQTT 3.1.1 packet types and limits, as plain numeric constants (no enums: they must erase to
 * nothing on XS and under esbuild's isolated-module builds).
 */

export const CONNECT = 1;
export const CONNACK = 2;
export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const SUBSCRIBE = 8;
export const SUBACK = 9;
export const UNSUBSCRIBE = 10;
export const UNSUBACK = 11;
export const PINGREQ = 12;
export const PINGRESP = 13;
export const DISCONNECT = 14;

/** Largest remaining length a 4-byte variable-length integer holds. */
export const MAX_REMAINING_LENGTH = 268_435_455;
/** Largest UTF-8 string or binary field (2-byte length prefix). */
export const MAX_STRING_LENGTH = 65_535;

// Frozen, like every constant table here: Moddable then keeps it in flash instead of copying it to RAM.
const names = Object.freeze([
  "reserved",
  "CONNECT",
  "CONNACK",
  "PUBLISH",
  "PUBACK",
  "PUBREC",
  "PUBREL",
  "PUBCOMP",
  "SUBSCRIBE",
  "SUBACK",
  "UNSUBSCRIBE",
  "UNSUBACK",
  "PINGREQ",
  "PINGRESP",
  "DISCONNECT",
  "reserved",
]);

/** "PUBLISH" for 3, "reserved" for 0 and 15. */
export function packetTypeName(type: number): string {
  return names[type & 15];
}

/** Bytes the variable-length encoding of `value` takes (1..4); `value` must be in 0..MAX_REMAINING_LENGTH. */
export function remainingLengthSize(value: number): number {
  return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4;
}

/** Writes `value` (0..MAX_REMAINING_LENGTH) as a variable-length integer at `pos`; returns the next position. */
export function writeRemainingLength(buf: Uint8Array, pos: number, value: number): number {
  do {
    let byte = value % 128;
    value = (value - byte) / 128;
    if (value > 0) byte |= 128;
    buf[pos++] = byte;
  } while (value > 0);
  return pos;
}
