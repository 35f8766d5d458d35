/*
 * Unsolicited result codes: the lines an ESP8266 prints on its own, not as part of the answer to
 * a command (RT-Thread's AT client keeps them in a table of {prefix, suffix, handler}; so do we).
 *
 *   URCS                                  the table: each line's text, how it matches, its handler
 *   findUrc(line, length): Urc | null     the entry a complete line matches (null: unknown line)
 *   new StreamLines().scan(bytes, off, len)   finds the module's own lines inside a raw stream
 *                                         (transparent mode), entries marked `inStream` only
 *
 * A line no entry matches is ignored by the driver and counted (Esp8266Stats.unknownLines); it
 * never throws. Handlers are module-level functions on a UrcTarget (the link policy), so the
 * frozen table lives in flash on a device and nothing is allocated per line.
 */
import { utf8Bytes } from "../bytes.js";

/** What the unsolicited lines mean to the driver. */
export interface UrcTarget {
  /** `ready`: the module (re)booted, all its state is gone. */
  onModuleReady(): void;
  /** `WIFI DISCONNECT`. */
  onWifiDisconnect(): void;
  /** `WIFI GOT IP`. */
  onWifiGotIp(): void;
  /** `CLOSED` (or `<id>,CLOSED`): the server or the network closed the link. */
  onPeerClosed(): void;
  /** `+IPD,<n>` in passive receive: n bytes wait in the module (`n` is -1 when the line was garbled). */
  onDataWaiting(n: number): void;
}

/** The line starts with the text. */
export const URC_PREFIX = 0;
/** The line is the text, after an optional `<link id>,` (CIPMUX=1 forms). */
export const URC_LINE = 1;
/** The line ends with the text (boot noise may come before `ready` on the same line). */
export const URC_SUFFIX = 2;

export interface Urc {
  readonly text: Uint8Array;
  readonly match: number;
  /** The module prints it in transparent mode too, inside the data stream. */
  readonly inStream: boolean;
  readonly handle: (target: UrcTarget, value: number) => void;
}

function nothing(): void {}

// Most frequent first: in passive receive every packet from the server is announced by +IPD.
export const URCS: readonly Urc[] = Object.freeze([
  Object.freeze({ text: utf8Bytes("+IPD,"), match: URC_PREFIX, inStream: false, handle: (t: UrcTarget, n: number) => t.onDataWaiting(n) }),
  Object.freeze({ text: utf8Bytes("CLOSED"), match: URC_LINE, inStream: true, handle: (t: UrcTarget) => t.onPeerClosed() }),
  Object.freeze({ text: utf8Bytes("WIFI DISCONNECT"), match: URC_LINE, inStream: true, handle: (t: UrcTarget) => t.onWifiDisconnect() }),
  Object.freeze({ text: utf8Bytes("WIFI GOT IP"), match: URC_LINE, inStream: false, handle: (t: UrcTarget) => t.onWifiGotIp() }),
  Object.freeze({ text: utf8Bytes("WIFI CONNECTED"), match: URC_LINE, inStream: false, handle: nothing }),
  Object.freeze({ text: utf8Bytes("ready"), match: URC_SUFFIX, inStream: true, handle: (t: UrcTarget) => t.onModuleReady() }),
]);

function matchesAt(line: Uint8Array, at: number, text: Uint8Array): boolean {
  const n = text.length;
  for (let i = 0; i < n; i++) if (line[at + i] !== text[i]) return false;
  return true;
}

/** Whether line[0..length) matches `urc`. */
export function urcMatches(urc: Urc, line: Uint8Array, length: number): boolean {
  const text = urc.text;
  const n = text.length;
  if (length < n) return false;
  if (urc.match === URC_PREFIX) return matchesAt(line, 0, text);
  if (urc.match === URC_SUFFIX) return matchesAt(line, length - n, text);
  // URC_LINE: the text, or `<digits>,` then the text.
  if (length === n) return matchesAt(line, 0, text);
  let i = 0;
  while (i < length && line[i] >= 0x30 && line[i] <= 0x39) i++;
  return i > 0 && line[i] === 0x2c && length - i - 1 === n && matchesAt(line, i + 1, text);
}

/** The entry line[0..length) matches, or null. */
export function findUrc(line: Uint8Array, length: number, table: readonly Urc[] = URCS): Urc | null {
  for (let k = 0; k < table.length; k++) if (urcMatches(table[k], line, length)) return table[k];
  return null;
}

/**
 * The module's own lines inside a raw (transparent-mode) stream: bytes are cut into lines at `\n`
 * (`\r` dropped), and each complete line is held against the `inStream` entries of the table.
 * Lines longer than the buffer are skipped. Fed only with bytes no session takes, or that the
 * session could not parse, so a payload that happens to hold such text is never taken for it.
 */
export class StreamLines {
  private readonly line = new Uint8Array(40);
  private length = 0;
  private overflow = false;
  /** After scan() found a line: the index just past its `\n`. */
  end = 0;

  reset(): void {
    this.length = 0;
    this.overflow = false;
  }

  /** Feeds bytes[off..off+len); returns the first module line completed in them, or null. */
  scan(bytes: Uint8Array, off: number, len: number): Urc | null {
    const stop = off + len;
    for (let i = off; i < stop; i++) {
      const b = bytes[i];
      if (b === 10) {
        const urc = this.overflow ? null : findUrc(this.line, this.length);
        this.reset();
        if (urc !== null && urc.inStream) {
          this.end = i + 1;
          return urc;
        }
      } else if (b !== 13) {
        if (this.length === this.line.length) this.overflow = true;
        else this.line[this.length++] = b;
      }
    }
    return null;
  }
}
