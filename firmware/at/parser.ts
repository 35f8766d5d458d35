/*
 * Byte-level parser for everything an ESP8266 running Espressif AT firmware (NonOS 1.7.x or
 * ESP-AT 2.x) says on its UART. Modelled on RT-Thread's AT client: bytes are fed as they come,
 * in chunks of any size (1 byte up), and the parser calls its sink for each event:
 *
 *   onLine(kind, value)   a complete line, classified (`kind`); its text stays in `line[0..lineLength)`
 *                         for the duration of the call. `value` is the number the line carries
 *                         (+IPD,<n> notification, +CWJAP:<n>, Recv <n> bytes, AT version major), else -1.
 *   onPrompt()            the `>` of AT+CIPSEND, with or without its trailing space.
 *   onDataStart(kind, n)  `+IPD,<n>:` / `+IPD,<id>,<n>:` ("ipd"), `+CIPRECVDATA,<n>:` (1.7) or
 *                         `+CIPRECVDATA:<n>,` (2.x) ("recvdata"): exactly n raw bytes follow.
 *   onData(bytes, off, n) raw payload bytes, zero-copy slices of the fed chunk (valid only during the
 *                         call). Raw bytes are never scanned for lines, so a payload holding
 *                         `\r\nOK\r\n`, `CLOSED` or `+IPD` is delivered as data.
 *   onDataEnd(kind)       the n bytes are complete. The 2.x trailing `\r\n` then parses as an empty line.
 *
 * In raw mode (transparent/passthrough, `setRaw(true)`) every byte goes to onData, unannounced.
 *
 * Lines end in `\r*\n`; `\r` is dropped anywhere in a line. A line longer than the line buffer is
 * discarded up to its `\n` (counted in `overflows`), and a data header is recognised at the end of
 * a line even after garbage (`xx+IPD,5:`), so the parser regains sync after noise (boot output at
 * 74880 baud, corrupted bytes). It never throws and allocates nothing after construction.
 *
 * Lines are compared against byte arrays made once at module load, never against string literals:
 * on XS every read of a string's characters (`.length`, `charCodeAt`) allocates a String wrapper
 * (2 heap slots), which made classifying a line cost ~30 slots of garbage (test/at/xs-alloc.test.ts).
 *
 * The sink may call `reset()` or `setRaw()` from inside a callback: the feed loop re-reads state.
 */

import { utf8Bytes } from "../bytes.js";

export type LineKind =
  | "ok" // OK
  | "error" // ERROR
  | "fail" // FAIL (1.7 CWJAP failure)
  | "send-ok" // SEND OK
  | "send-fail" // SEND FAIL
  | "ready" // ready (boot finished: after AT+RST, or the module reset by itself)
  | "busy-p" // busy p... (input discarded)
  | "busy-s" // busy s... (1.7: send in progress)
  | "closed" // CLOSED or <id>,CLOSED
  | "connect" // CONNECT or <id>,CONNECT
  | "already-connected" // ALREADY CONNECTED
  | "wifi-disconnect" // WIFI DISCONNECT
  | "wifi-connected" // WIFI CONNECTED
  | "wifi-got-ip" // WIFI GOT IP
  | "ipd-notify" // +IPD,<n> (passive receive: n bytes wait in the module), value = n
  | "cwjap" // +CWJAP:<n> (join failure code), value = n
  | "dns-fail" // DNS Fail
  | "no-ip" // no ip
  | "link-invalid" // link is not valid
  | "unlink" // UNLINK
  | "recv-bytes" // Recv <n> bytes, value = n
  | "version" // AT version:<major>...., value = major
  | "sslcconf" // +CIPSSLCCONF:<mode> (1.7) or +CIPSSLCCONF:<link>,<mode>[,...] (2.x), value = mode
  | "echo" // an echoed command line (AT...)
  | "other";

export type DataKind = "ipd" | "recvdata" | "raw";

export interface AtParserSink {
  onLine(kind: LineKind, value: number): void;
  onPrompt(): void;
  onDataStart(kind: DataKind, length: number): void;
  onData(bytes: Uint8Array, offset: number, length: number): void;
  /** Optional: the data block is complete. */
  onDataEnd?(kind: DataKind): void;
}

const CR = 13;
const LF = 10;
const SP = 32;
const GT = 62;
const COLON = 58;
const COMMA = 44;
const D0 = 48;
const D9 = 57;

// Fixed texts as bytes, made at module load. Moddable preloads modules, which makes these
// top-level typed arrays read-only in flash: they are only ever read.
const ascii = utf8Bytes;

const T_OK = ascii("OK");
const T_ERROR = ascii("ERROR");
const T_FAIL = ascii("FAIL");
const T_SEND_OK = ascii("SEND OK");
const T_SEND_FAIL = ascii("SEND FAIL");
const T_BUSY_P = ascii("busy p");
const T_BUSY_S = ascii("busy s");
const T_WIFI_DISCONNECT = ascii("WIFI DISCONNECT");
const T_WIFI_CONNECTED = ascii("WIFI CONNECTED");
const T_WIFI_GOT_IP = ascii("WIFI GOT IP");
const T_ALREADY_CONNECTED = ascii("ALREADY CONNECTED");
const T_ALREADY_CONNECT = ascii("ALREADY CONNECT");
const T_AT_VERSION = ascii("AT version:");
const T_AT = ascii("AT");
const T_IPD_COMMA = ascii("+IPD,");
const T_CWJAP = ascii("+CWJAP:");
const T_SSLCCONF = ascii("+CIPSSLCCONF:");
const T_DNS_FAIL = ascii("DNS Fail");
const T_DNS_FAIL_UPPER = ascii("DNS FAIL");
const T_NO_IP = ascii("no ip");
const T_LINK_INVALID = ascii("link is not valid");
const T_UNLINK = ascii("UNLINK");
const T_RECV = ascii("Recv ");
const T_CLOSED = ascii("CLOSED");
const T_CONNECT = ascii("CONNECT");
const T_READY = ascii("ready");
const T_IPD = ascii("+IPD");
const T_CIPRECVDATA = ascii("+CIPRECVDATA");

/** Largest data block announced by a header that we believe; beyond it the header is garbage. */
export const MAX_DATA_BLOCK = 8192;

export class AtParser {
  /** Text of the current line (valid during onLine). */
  readonly line: Uint8Array;
  lineLength = 0;
  /** Lines discarded because they were longer than the line buffer. */
  overflows = 0;
  private overflow = false;
  private afterPrompt = false;
  private raw = false;
  /**
   * Set with raw mode entered at the prompt: a space right after `>` is the prompt's, not data.
   * The driver clears it once it has written payload (a server answers only after that).
   */
  rawSkipSpace = false;
  private dataRemaining = 0;
  private dataKind: DataKind = "ipd";

  constructor(private readonly sink: AtParserSink, maxLine = 256) {
    this.line = new Uint8Array(maxLine);
  }

  /** Forgets any partial line or data block (after a module reset or a timeout). */
  reset(): void {
    this.lineLength = 0;
    this.overflow = false;
    this.afterPrompt = false;
    this.dataRemaining = 0;
  }

  /** Raw mode: every byte is data (transparent transmission). Leaving it starts a fresh line. */
  setRaw(on: boolean): void {
    this.raw = on;
    this.reset();
    this.rawSkipSpace = false;
  }

  get isRaw(): boolean {
    return this.raw;
  }

  /** Bytes of the current data block still to come (0 outside a block). */
  get pendingData(): number {
    return this.dataRemaining;
  }

  feed(bytes: Uint8Array, offset: number, length: number): void {
    let i = offset;
    const end = offset + length;
    while (i < end) {
      if (this.raw) {
        if (this.rawSkipSpace) {
          this.rawSkipSpace = false;
          if (bytes[i] === SP) {
            i++;
            continue;
          }
        }
        this.sink.onData(bytes, i, end - i);
        return;
      }
      if (this.dataRemaining > 0) {
        const n = Math.min(this.dataRemaining, end - i);
        this.dataRemaining -= n;
        const kind = this.dataKind;
        this.sink.onData(bytes, i, n);
        i += n;
        if (this.dataRemaining === 0) this.sink.onDataEnd?.(kind);
        continue;
      }
      const b = bytes[i++];
      if (this.afterPrompt) {
        this.afterPrompt = false;
        if (b === SP) continue;
      }
      if (b === LF) {
        this.endLine();
        continue;
      }
      if (b === CR) continue;
      if (this.overflow) continue;
      if (b === GT && this.lineLength === 0) {
        // The prompt is never followed by a line end: it must be recognised on its own.
        this.afterPrompt = true;
        this.sink.onPrompt();
        continue;
      }
      if (this.lineLength === this.line.length) {
        this.overflow = true;
        this.lineLength = 0;
        continue;
      }
      this.line[this.lineLength++] = b;
      if (b === COLON) this.dataHeaderColon();
      else if (b === COMMA) this.dataHeaderComma();
    }
  }

  private endLine(): void {
    if (this.overflow) {
      this.overflow = false;
      this.overflows++;
      this.lineLength = 0;
      return;
    }
    if (this.lineLength === 0) return;
    const kind = this.classify();
    this.sink.onLine(kind, this.value);
    this.lineLength = 0;
  }

  private value = -1;

  private startData(kind: DataKind, length: number): void {
    this.lineLength = 0;
    this.dataKind = kind;
    this.dataRemaining = length;
    this.sink.onDataStart(kind, length);
    if (length === 0) this.sink.onDataEnd?.(kind);
  }

  /** `...+IPD,<n>:`, `...+IPD,<id>,<n>:` or `...+CIPRECVDATA,<n>:` just ended. */
  private dataHeaderColon(): void {
    const line = this.line;
    const colon = this.lineLength - 1;
    let k = colon - 1;
    let commas = 0;
    while (k >= 0) {
      const c = line[k];
      if (c === COMMA) commas++;
      else if (c < D0 || c > D9) break;
      k--;
    }
    // line[k+1] must be the comma right after the tag; fields non-empty.
    if (commas < 1 || commas > 2 || k < 0 || line[k + 1] !== COMMA) return;
    const length = this.lastNumber(k + 2, colon);
    if (length < 0 || length > MAX_DATA_BLOCK) return;
    if (this.endsWithAt(k, T_IPD)) {
      // With two fields the first is the link id: the length is the last one either way.
      this.startData("ipd", length);
    } else if (commas === 1 && this.endsWithAt(k, T_CIPRECVDATA)) {
      this.startData("recvdata", length);
    }
  }

  /** `...+CIPRECVDATA:<n>,` (ESP-AT 2.x) just ended. */
  private dataHeaderComma(): void {
    const line = this.line;
    const comma = this.lineLength - 1;
    let k = comma - 1;
    while (k >= 0 && line[k] >= D0 && line[k] <= D9) k--;
    if (k < 0 || k === comma - 1 || line[k] !== COLON) return;
    if (!this.endsWithAt(k - 1, T_CIPRECVDATA)) return;
    const length = this.lastNumber(k + 1, comma);
    if (length < 0 || length > MAX_DATA_BLOCK) return;
    this.startData("recvdata", length);
  }

  /** Decimal number in the last comma-separated field of line[from..to), or -1. */
  private lastNumber(from: number, to: number): number {
    let start = to;
    while (start > from && this.line[start - 1] !== COMMA) start--;
    if (start === to || to - start > 6) return -1;
    let n = 0;
    for (let i = start; i < to; i++) n = n * 10 + (this.line[i] - D0);
    return n;
  }

  /** Whether `tag` ends at index `last` (inclusive) of the line. */
  private endsWithAt(last: number, tag: Uint8Array): boolean {
    const n = tag.length;
    const start = last - n + 1;
    if (start < 0) return false;
    const line = this.line;
    for (let i = 0; i < n; i++) if (line[start + i] !== tag[i]) return false;
    return true;
  }

  private is(text: Uint8Array): boolean {
    return this.lineLength === text.length && this.startsWith(text, 0);
  }

  private startsWith(text: Uint8Array, at: number): boolean {
    const n = text.length;
    if (this.lineLength < at + n) return false;
    const line = this.line;
    for (let i = 0; i < n; i++) if (line[at + i] !== text[i]) return false;
    return true;
  }

  private endsWith(text: Uint8Array): boolean {
    return this.lineLength >= text.length && this.endsWithAt(this.lineLength - 1, text);
  }

  /** Index after an optional `<digits>,` link-id prefix (CIPMUX=1 forms). */
  private afterLinkId(): number {
    let i = 0;
    while (i < this.lineLength && this.line[i] >= D0 && this.line[i] <= D9) i++;
    return i > 0 && i < this.lineLength && this.line[i] === COMMA ? i + 1 : 0;
  }

  /** Decimal digits starting at `at` (up to 9), or -1 when there are none. */
  private numberAt(at: number): number {
    let n = 0;
    let i = at;
    while (i < this.lineLength && i - at < 9 && this.line[i] >= D0 && this.line[i] <= D9) {
      n = n * 10 + (this.line[i] - D0);
      i++;
    }
    return i === at ? -1 : n;
  }

  /** The mode in `+CIPSSLCCONF:<mode>` (1.7) or `+CIPSSLCCONF:<link>,<mode>[,<pki>,<ca>]` (2.x). */
  private sslMode(): number {
    const first = this.numberAt(13);
    let i = 13;
    while (i < this.lineLength && this.line[i] >= D0 && this.line[i] <= D9) i++;
    if (first < 0 || i === this.lineLength) return first;
    return this.line[i] === COMMA ? this.numberAt(i + 1) : -1;
  }

  /** The whole line is `+IPD,<n>` or `+IPD,<id>,<n>`: sets `value` to n. */
  private notification(): boolean {
    let i = 5;
    let fields = 0;
    while (i < this.lineLength) {
      const start = i;
      const n = this.numberAt(i);
      while (i < this.lineLength && this.line[i] >= D0 && this.line[i] <= D9) i++;
      if (n < 0 || i - start > 6) return false;
      this.value = n;
      fields++;
      if (i === this.lineLength) break;
      if (this.line[i] !== COMMA || fields === 2) return false;
      i++;
      if (i === this.lineLength) return false;
    }
    return fields > 0;
  }

  private classify(): LineKind {
    this.value = -1;
    switch (this.line[0]) {
      case 79: // O
        if (this.is(T_OK)) return "ok";
        break;
      case 69: // E
        if (this.is(T_ERROR)) return "error";
        break;
      case 70: // F
        if (this.is(T_FAIL)) return "fail";
        break;
      case 83: // S
        if (this.is(T_SEND_OK)) return "send-ok";
        if (this.is(T_SEND_FAIL)) return "send-fail";
        break;
      case 98: // b
        if (this.startsWith(T_BUSY_P, 0)) return "busy-p";
        if (this.startsWith(T_BUSY_S, 0)) return "busy-s";
        break;
      case 87: // W
        if (this.is(T_WIFI_DISCONNECT)) return "wifi-disconnect";
        if (this.is(T_WIFI_CONNECTED)) return "wifi-connected";
        if (this.is(T_WIFI_GOT_IP)) return "wifi-got-ip";
        break;
      case 65: // A
        if (this.is(T_ALREADY_CONNECTED) || this.is(T_ALREADY_CONNECT)) return "already-connected";
        if (this.startsWith(T_AT_VERSION, 0)) {
          this.value = this.numberAt(11);
          return "version";
        }
        if (this.startsWith(T_AT, 0)) return "echo";
        break;
      case 43: // +
        if (this.startsWith(T_IPD_COMMA, 0)) {
          // Passive notification: +IPD,<n> or +IPD,<id>,<n>; the length is the last field.
          if (this.notification()) return "ipd-notify";
          break;
        }
        if (this.startsWith(T_CWJAP, 0)) {
          this.value = this.numberAt(7);
          if (this.value >= 0) return "cwjap";
        }
        if (this.startsWith(T_SSLCCONF, 0)) {
          this.value = this.sslMode();
          if (this.value >= 0) return "sslcconf";
        }
        break;
      case 68: // D
        if (this.startsWith(T_DNS_FAIL, 0) || this.startsWith(T_DNS_FAIL_UPPER, 0)) return "dns-fail";
        break;
      case 110: // n
        if (this.is(T_NO_IP)) return "no-ip";
        break;
      case 108: // l
        if (this.is(T_LINK_INVALID)) return "link-invalid";
        break;
      case 85: // U
        if (this.is(T_UNLINK)) return "unlink";
        break;
      case 82: // R
        if (this.startsWith(T_RECV, 0)) {
          this.value = this.numberAt(5);
          return "recv-bytes";
        }
        break;
      default:
        break;
    }
    const id = this.afterLinkId();
    if (this.startsWith(T_CLOSED, id) && this.lineLength === id + 6) return "closed";
    if (this.startsWith(T_CONNECT, id) && this.lineLength === id + 7) return "connect";
    // Boot noise may precede `ready` on the same line.
    if (this.endsWith(T_READY)) return "ready";
    return "other";
  }
}
