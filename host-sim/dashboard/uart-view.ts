/*
 * Turns the UART tap (small chunks, both directions) into display entries for the dashboard: one
 * entry per AT line, with the raw data of a send or a receive (AT+CIPSEND=<n>, +IPD,<n>:,
 * +CIPRECVDATA) kept as one binary run shown in hex, so `+IPD,4:` reads as text and the MQTT bytes
 * after it as hex, however the UART split them.
 *
 * Secrets never leave: a CWJAP line loses its password (the emulator's own redaction) and a CONNECT
 * packet inside sent data has its password bytes (the OneNET token) replaced by a marker.
 *
 * Public API:
 *   const view = new UartView();
 *   view.feed(direction, bytes, t, wall?): void   bytes as tapped ("to-module": MCU -> ESP8266);
 *                                            t: board time; wall: performance.now() by default
 *   view.take(wallNow, idleMs): UartEntry[]  complete entries, plus unfinished ones idle for idleMs of
 *                                            wall time (a `>` prompt has no line end)
 *   view.onData = (direction, bytes) => ...  the raw data of each send / receive (before redaction),
 *                                            for framing MQTT when no broker reports its packets
 *   view.pending: boolean                    bytes are waiting for take()
 */
import { redact as redactAtLine } from "../esp8266/emulator.js";
import type { UartDirection } from "../uart.js";
import { dissect, toSpacedHex } from "../packet-dissect.js";

export type UartPart = { text: string } | { hex: string } | { redacted: number };

export interface UartEntry {
  /** Board time (ms) of the entry's first byte. */
  t: number;
  direction: UartDirection;
  parts: UartPart[];
  /** Bytes the entry stands for (redacted ones included). */
  size: number;
}

/** Longest text line or data run kept in one entry; longer input is cut into several entries. */
const MAX_ENTRY = 4096;

// `+IPD,<n>:`, `+IPD,<id>,<n>:`, with CIPDINFO `+IPD,<id>,<n>,"<ip>",<port>:`; `+CIPRECVDATA,<n>:` (1.7);
// `+CIPRECVDATA:<n>,` (2.x, optionally followed by ip and port).
const IPD = /\+IPD,(?:\d+,)?(\d+)(?:,"?[0-9a-fA-F.:]*"?,\d+)?:$/;
const RECV17 = /\+CIPRECVDATA,(\d+):$/;
const RECV2 = /\+CIPRECVDATA:(\d+),(?:"?[0-9a-fA-F.:]*"?,\d+,)?$/;
const CIPSEND = /^AT\+CIPSEND(?:EX)?=(?:\d+,)?(\d+)\s*$/i;
const CIPSEND_PASSTHROUGH = /^AT\+CIPSEND\s*$/i;

class Direction {
  private line: number[] = [];
  private entryT = 0;
  /** Raw data still expected (announced by a header); -1: unbounded (passthrough). */
  private dataLeft = 0;
  private data: number[] = [];
  /** Text that announced the data (`+IPD,4:`), shown in the same entry. */
  private header: UartPart[] = [];
  /** Bytes of a CONNECT cut by an idle flush that are still to come: they carry the token. */
  private hideNext = 0;
  /** to-module: AT+CIPSEND was written, its data will follow the prompt. */
  private awaitingSendData = false;
  lastByteAt = 0;
  readonly done: UartEntry[] = [];
  /** The other direction (a CIPSEND refused by the module sends no data). */
  peer: Direction | undefined;

  constructor(readonly direction: UartDirection) {}

  get pending(): boolean {
    return this.line.length > 0 || this.data.length > 0 || this.header.length > 0;
  }

  onData: ((direction: UartDirection, bytes: Uint8Array) => void) | undefined;

  feed(bytes: Uint8Array, t: number, wall: number): void {
    this.lastByteAt = wall;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (!this.pending) this.entryT = t;
      if (this.dataLeft !== 0) {
        this.awaitingSendData = false;
        this.data.push(b);
        if (this.dataLeft > 0) this.dataLeft--;
        if (this.dataLeft < 0 && this.data.length === 3 && b === 0x2b && this.data[0] === 0x2b && this.data[1] === 0x2b) this.leavePassthrough();
        else if (this.dataLeft === 0 || this.data.length >= MAX_ENTRY) this.emitData();
        continue;
      }
      this.line.push(b);
      if (b === 0x0a || this.line.length >= MAX_ENTRY) this.endLine();
      else if (this.direction === "to-mcu" && (b === 0x3a || b === 0x2c)) this.checkDataHeader();
    }
  }

  /** Closes what is open (idle flush): a prompt, a partial line, or data that stalled. */
  flushOpen(): void {
    if (this.data.length > 0 || this.header.length > 0) this.emitData();
    if (this.line.length > 0) this.endLine();
  }

  cancelSend(): void {
    if (this.awaitingSendData && this.data.length === 0) {
      this.awaitingSendData = false;
      this.dataLeft = 0;
    }
  }

  private checkDataHeader(): void {
    const text = latin1(this.line);
    const m = IPD.exec(text) ?? RECV17.exec(text) ?? RECV2.exec(text);
    if (!m) return;
    const n = Number(m[1]);
    if (!(n > 0)) return;
    this.header = lineParts(this.line, false);
    this.line = [];
    this.dataLeft = n;
  }

  private endLine(): void {
    const size = this.line.length;
    const text = latin1(this.line).replace(/[\r\n]+$/, "");
    this.line = [];
    if (this.direction === "to-module" && /^AT\+CW(?:JAP|SAP)/i.test(text)) {
      // The WiFi password is never shown, not even as bytes.
      this.finish(size, [{ text: redactAtLine(text) }]);
      return;
    }
    this.finish(size, lineParts(Array.from(text, (c) => c.charCodeAt(0)), false));
    if (this.direction === "to-module") {
      const m = CIPSEND.exec(text);
      // The host waits for the prompt, then writes exactly n raw bytes (or streams, passthrough).
      if (m) this.dataLeft = Number(m[1]);
      else if (CIPSEND_PASSTHROUGH.test(text)) this.dataLeft = -1;
      this.awaitingSendData = this.dataLeft !== 0;
    } else if (/^(?:ERROR|link is not valid|busy [ps]\.\.\.|SEND FAIL)$/.test(text)) {
      this.peer?.cancelSend();
    }
  }

  private leavePassthrough(): void {
    this.dataLeft = 0;
    const size = this.data.length;
    this.data = [];
    this.finish(size, [{ text: "+++" }]);
  }

  private emitData(): void {
    const bytes = Uint8Array.from(this.data);
    this.data = [];
    if (bytes.length) this.onData?.(this.direction, bytes);
    let parts: UartPart[];
    if (this.hideNext > 0) {
      const hidden = Math.min(this.hideNext, bytes.length);
      this.hideNext -= hidden;
      parts = [{ redacted: hidden }];
      if (hidden < bytes.length) parts.push({ hex: toSpacedHex(bytes, hidden) });
    } else if (this.direction === "to-module") {
      const r = redactConnect(bytes);
      parts = r.parts;
      this.hideNext = r.hideNext;
    } else parts = bytes.length ? [{ hex: toSpacedHex(bytes) }] : [];
    this.finish(bytes.length, parts);
  }

  private finish(size: number, parts: UartPart[]): void {
    // Blank lines (AT answers are framed by them) carry nothing to read.
    if (parts.length === 0 && this.header.length === 0) return;
    const all = this.header.length ? [...this.header, ...parts] : parts;
    this.header = [];
    this.done.push({ t: this.entryT, direction: this.direction, parts: all, size });
  }
}

export class UartView {
  private readonly dirs = { "to-module": new Direction("to-module"), "to-mcu": new Direction("to-mcu") };

  constructor() {
    this.dirs["to-mcu"].peer = this.dirs["to-module"];
  }

  set onData(fn: ((direction: UartDirection, bytes: Uint8Array) => void) | undefined) {
    this.dirs["to-module"].onData = fn;
    this.dirs["to-mcu"].onData = fn;
  }

  feed(direction: UartDirection, bytes: Uint8Array, t: number, wall = performance.now()): void {
    this.dirs[direction].feed(bytes, t, wall);
  }

  get pending(): boolean {
    for (const d of Object.values(this.dirs)) if (d.pending || d.done.length) return true;
    return false;
  }

  take(wallNow: number, idleMs: number): UartEntry[] {
    const out: UartEntry[] = [];
    for (const d of Object.values(this.dirs)) {
      if (d.pending && wallNow - d.lastByteAt >= idleMs) d.flushOpen();
      out.push(...d.done.splice(0));
    }
    return out.sort((a, b) => a.t - b.t);
  }
}

function latin1(bytes: number[]): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function printable(b: number): boolean {
  return b >= 0x20 && b < 0x7f;
}

/**
 * A line as text where it is printable ASCII (line ends dropped when `trimEnd`), other bytes as
 * hex runs (a UTF-8 SSID or noise from a corrupted byte shows as what it is).
 */
function lineParts(bytes: number[], trimEnd: boolean): UartPart[] {
  let end = bytes.length;
  if (trimEnd) while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  const parts: UartPart[] = [];
  let i = 0;
  while (i < end) {
    const start = i;
    if (printable(bytes[i]!)) {
      while (i < end && printable(bytes[i]!)) i++;
      parts.push({ text: latin1(bytes.slice(start, i)) });
    } else {
      while (i < end && !printable(bytes[i]!)) i++;
      parts.push({ hex: toSpacedHex(Uint8Array.from(bytes.slice(start, i))) });
    }
  }
  return parts;
}

/**
 * Hex of data the MCU sends, with a CONNECT's password bytes (the token) replaced by a marker.
 * A CONNECT that cannot be dissected far enough to find its password hides everything after its
 * fixed header: a secret shown by mistake cannot be taken back.
 */
export function redactConnect(bytes: Uint8Array): { parts: UartPart[]; hideNext: number } {
  if (bytes.length === 0) return { parts: [], hideNext: 0 };
  try {
    return redactByDissection(bytes);
  } catch {
    // The dissector gave up on these bytes: a leading CONNECT is hidden after its fixed header.
    if (bytes[0] !== 0x10) return { parts: [{ hex: toSpacedHex(bytes) }], hideNext: 0 };
    const header = fixedHeader(bytes);
    const shown = header ? header.length : 1;
    const parts: UartPart[] = [{ hex: toSpacedHex(bytes, 0, Math.min(shown, bytes.length)) }];
    if (bytes.length > shown) parts.push({ redacted: bytes.length - shown });
    const hideNext = header ? Math.max(0, header.length + header.remaining - bytes.length) : 0;
    return { parts, hideNext };
  }
}

/** An MQTT fixed header's size and remaining length, when its length bytes are all there. */
export function fixedHeader(bytes: Uint8Array): { length: number; remaining: number } | undefined {
  let remaining = 0;
  let multiplier = 1;
  for (let i = 1; i < 5 && i < bytes.length; i++) {
    remaining += (bytes[i]! & 0x7f) * multiplier;
    multiplier *= 128;
    if ((bytes[i]! & 0x80) === 0) return { length: i + 1, remaining };
  }
  return undefined;
}

function redactByDissection(bytes: Uint8Array): { parts: UartPart[]; hideNext: number } {
  const parts: UartPart[] = [];
  let hideNext = 0;
  let at = 0;
  const d = dissect(bytes, { role: "server" });
  for (const p of d.packets) {
    if (p.typeNumber !== 1 || p.length === 0) continue;
    const password = p.fields.find((f) => f.name === "password");
    const lengthField = p.fields.find((f) => f.name === "remaining length");
    let from: number;
    let to: number;
    if (password && !p.error) {
      from = password.offset;
      to = password.offset + password.length;
    } else {
      from = lengthField ? lengthField.offset + lengthField.length : p.offset + Math.min(p.length, 1);
      to = p.offset + p.length;
      // A CONNECT cut short: the rest of it (its declared length) is still to come.
      if (p.error?.code === "truncated-packet" && lengthField && typeof lengthField.value === "number")
        hideNext = Math.max(0, lengthField.offset + lengthField.length + lengthField.value - (p.offset + p.length));
    }
    if (from > at) parts.push({ hex: toSpacedHex(bytes, at, from - at) });
    if (to > from) parts.push({ redacted: to - from });
    at = Math.max(at, to);
  }
  // Bytes after a framing error: a CONNECT could hide in them, so a leading 0x10 hides them all.
  if (d.unparsed > 0 && bytes[bytes.length - d.unparsed] === 0x10) {
    const from = bytes.length - d.unparsed;
    if (from > at) parts.push({ hex: toSpacedHex(bytes, at, from - at) });
    parts.push({ redacted: d.unparsed });
    at = bytes.length;
  }
  if (at < bytes.length) parts.push({ hex: toSpacedHex(bytes, at, bytes.length - at) });
  return { parts, hideNext };
}
