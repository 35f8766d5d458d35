/*
 * OneJSON, OneNET's thing-model payloads: builders that write into a caller's buffer and a parser that
 * reads the payload where it lies in the packet buffer (no JSON.parse, no strings, no objects per message).
 *
 * ---- Builders: new OneJsonBuilder() once; every method writes at out[offset] and returns the length,
 * or ONEJSON_NO_ROOM (-1) when it does not fit, or ONEJSON_BAD_VALUE (-2) for a NaN/Infinity number or an
 * id outside 0..MAX_GENERATED_ID. They never throw. A message with members is begin...() + add...() + end():
 *   beginPropertyPost(out, offset, id, timeMs)   {"id":"7","version":"1.0","params":{"led":{"value":true,"time":T}}}
 *                                                `timeMs` < 0 (no trustworthy wall clock) leaves `time` out
 *   beginEventPost(out, offset, id, event, timeMs)  {"id":"7","version":"1.0","params":{"<event>":{"value":{...},"time":T}}}
 *   beginGetReply(out, offset, idBuf, idOffset, idLength)      {"id":"<echo>","code":200,"msg":"success","data":{...}}
 *   beginInvokeReply(out, offset, idBuf, idOffset, idLength)   same shape, for service/{id}/invoke_reply
 *   beginDesiredGet(out, offset, id)             {"id":"7","version":"1.0","params":["led",...]}
 *   addBoolean(identifier, v) / addNumber(identifier, v) / addString(identifier, v) / addIdentifier(identifier)
 *   end(): number
 *   reply(out, offset, idBuf, idOffset, idLength, code, msg)   {"id":"<echo>","code":200,"msg":"success"}
 *                                                (set_reply, and every error reply)
 *   errorReply(out, offset, parser, error)       reply() with the parser's id and replyCode/replyMessage(error)
 * Echoed ids are the raw bytes between the request's quotes (escapes kept), so the cloud gets back exactly
 * what it sent. `idBuf` null or `idLength` 0 echoes NO_ID ("0"). `out` must not overlap the id bytes.
 * Ids we generate: MessageIds.next(), a counter 1..9999999999999 (at most 13 digits, OneNET's limit).
 * Allocation on XS (checked in test/onenet/xs.test.ts): none, once each distinct identifier/message has been
 * seen (TextCache of TEXT_CACHE_SIZE); except addString (converts the string to UTF-8) and addNumber
 * with a fraction (formats through String()).
 *
 * ---- Parser: new OneJsonParser({ maxBytes, maxDepth }) once; parse(kind, buf, offset, length) returns a
 * OneJsonError and fills the parser's fields (reused object):
 *   idKind "string" | "number" | "missing" | "other"; idOffset/idLength (the raw bytes of a string id,
 *   or the digits of a numeric id); code (NaN when absent, Infinity when not a number); msgOffset/msgLength;
 *   containerKind/containerOffset/containerLength: `params` (requests) or `data` (replies)
 * then iterate the params (object members, or array elements for property/get):
 *   rewind(); while (next()) { keyOffset/keyLength, valueKind, valueOffset/valueLength }
 *   keyIs(name) (raw bytes compared; names cached as bytes, as in the builder),
 *   valueNumber(), unwrapValue() (desired/get/reply's {"value":..}),
 *   idEquals(n), checkParams(model) -> "ok" | "unknown-identifier" | "bad-value" (sets badKey*)
 * String values are reported as raw content between the quotes (escapes kept).
 *
 * ---- What the device answers (documented choice; OneNET leaves device codes to the product):
 *   200 "success"             ok
 *   400 "malformed json" / "json too deep" / "not a json object" / "missing id" / "id must be a string" /
 *       "bad id" / "missing params" / "params of wrong type" / "bad value"   (a bad request: nothing applied)
 *   404 "unknown identifier" / "unknown service"
 *   413 "payload too large"   (over the parser's maxBytes, or over the packet buffer: reported by MQTT)
 * A request without a usable id (missing, not a string or number, empty, longer than MAX_ECHO_ID bytes) is
 * still answered, with id "0" (a digit string as OneNET requires; our counter never yields 0). A numeric id
 * is answered with its digits as a string and code 400. Replies to the cloud's replies are never sent.
 */
import { equalsBytes, utf8Bytes } from "../bytes.js";
import { TextCache, jsonStringBytes, jsonStringByteLength, writeJsonStringByte } from "./json-text.js";
import { JsonScanner } from "./json-scan.js";
import type { JsonValueKind } from "./json-scan.js";
import type { IncomingThingTopic } from "./thing.js";
import { writeDecimal } from "./token.js";

export type { JsonValueKind } from "./json-scan.js";

export const ONEJSON_NO_ROOM = -1;
export const ONEJSON_BAD_VALUE = -2;
export const MAX_GENERATED_ID = 9_999_999_999_999;
/** Longest id (raw bytes) echoed back; longer ones are answered with NO_ID. */
export const MAX_ECHO_ID = 64;
export const NO_ID = "0";
/** Distinct identifiers and messages each builder and parser keeps as bytes (see json-text.ts's TextCache). */
export const TEXT_CACHE_SIZE = 32;

// Fixed texts as bytes, made once: on XS, reading a string's characters allocates (see json-text.ts).
const T_ID_OPEN = utf8Bytes('{"id":"');
const T_VERSION_PARAMS = utf8Bytes('","version":"1.0","params":');
const T_CODE = utf8Bytes(',"code":');
const T_MSG = utf8Bytes(',"msg":');
const T_OK_DATA = utf8Bytes(',"code":200,"msg":"success","data":{');
const T_VALUE = utf8Bytes('{"value":');
const T_EVENT_VALUE = utf8Bytes(':{"value":{');
const T_TIME = utf8Bytes(',"time":');
const T_TRUE = utf8Bytes("true");
const T_FALSE = utf8Bytes("false");
const T_NO_ID = utf8Bytes(NO_ID);
const T_CLOSE_LIST = utf8Bytes("]}");
const T_CLOSE_2 = utf8Bytes("}}");
const T_CLOSE_3 = utf8Bytes("}}}");
const K_ID = utf8Bytes("id");
const K_PARAMS = utf8Bytes("params");
const K_DATA = utf8Bytes("data");
const K_CODE = utf8Bytes("code");
const K_MSG = utf8Bytes("msg");
const K_VALUE = utf8Bytes("value");

export type OneJsonError =
  | "ok"
  | "malformed"
  | "too-deep"
  | "too-large"
  | "not-object"
  | "missing-id"
  | "numeric-id"
  | "bad-id"
  | "missing-params"
  | "bad-params"
  | "missing-code"
  | "bad-code"
  | "unknown-identifier"
  | "unknown-service"
  | "bad-value";

export function replyCode(error: OneJsonError): number {
  switch (error) {
    case "ok":
      return 200;
    case "unknown-identifier":
    case "unknown-service":
      return 404;
    case "too-large":
      return 413;
    default:
      return 400;
  }
}

export function replyMessage(error: OneJsonError): string {
  switch (error) {
    case "ok":
      return "success";
    case "malformed":
      return "malformed json";
    case "too-deep":
      return "json too deep";
    case "too-large":
      return "payload too large";
    case "not-object":
      return "not a json object";
    case "missing-id":
      return "missing id";
    case "numeric-id":
      return "id must be a string";
    case "bad-id":
      return "bad id";
    case "missing-params":
      return "missing params";
    case "bad-params":
      return "params of wrong type";
    case "missing-code":
      return "missing code";
    case "bad-code":
      return "bad code";
    case "unknown-identifier":
      return "unknown identifier";
    case "unknown-service":
      return "unknown service";
    case "bad-value":
      return "bad value";
  }
}

/** Ids for the messages we originate: 1..MAX_GENERATED_ID, then 1 again. */
export class MessageIds {
  private last = 0;
  next(): number {
    this.last = this.last >= MAX_GENERATED_ID ? 1 : this.last + 1;
    return this.last;
  }
}

// ------------------------------------------------------------------------------------------ builder

const MODE_NONE = 0;
/** property/post: "id":{"value":v[,"time":t]} */
const MODE_WRAPPED = 1;
/** data of get_reply/invoke_reply, value of event/post: "id":v */
const MODE_RAW = 2;
/** params of desired/get: "id" */
const MODE_LIST = 3;

export class OneJsonBuilder {
  private readonly texts = new TextCache(TEXT_CACHE_SIZE, jsonStringBytes);
  private out: Uint8Array = new Uint8Array(0);
  private start = 0;
  private pos = 0;
  private status = 0;
  private mode = MODE_NONE;
  private members = 0;
  private timeMs = -1;
  /** event/post closes with the event's time after its value object. */
  private eventClose = false;

  private open(out: Uint8Array, offset: number): void {
    this.out = out;
    this.start = offset;
    this.pos = offset;
    this.status = offset < 0 || offset > out.length ? ONEJSON_NO_ROOM : 0;
    this.members = 0;
    this.mode = MODE_NONE;
    this.eventClose = false;
    this.timeMs = -1;
  }

  private byte(c: number): void {
    if (this.status !== 0) return;
    if (this.pos >= this.out.length) {
      this.status = ONEJSON_NO_ROOM;
      return;
    }
    this.out[this.pos++] = c;
  }

  private raw(bytes: Uint8Array): void {
    if (this.status !== 0) return;
    const n = bytes.length;
    if (this.pos + n > this.out.length) {
      this.status = ONEJSON_NO_ROOM;
      return;
    }
    for (let i = 0; i < n; i++) this.out[this.pos + i] = bytes[i];
    this.pos += n;
  }

  /** Identifiers, event names, messages: converted once per distinct text, then copied. */
  private quoted(text: string): void {
    this.raw(this.texts.get(text));
  }

  /** An arbitrary string value, converted to UTF-8 first (this allocates). */
  private quotedValue(text: string): void {
    const bytes = utf8Bytes(text);
    this.byte(0x22);
    for (let i = 0; i < bytes.length; i++) this.escaped(bytes[i]);
    this.byte(0x22);
  }

  private escaped(c: number): void {
    if (this.status !== 0) return;
    if (this.pos + jsonStringByteLength(c) > this.out.length) {
      this.status = ONEJSON_NO_ROOM;
      return;
    }
    this.pos = writeJsonStringByte(c, this.out, this.pos);
  }

  private number(value: number): void {
    if (!Number.isFinite(value)) {
      if (this.status === 0) this.status = ONEJSON_BAD_VALUE;
      return;
    }
    if (Number.isInteger(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER) {
      if (value < 0 || Object.is(value, -0)) {
        if (value < 0) this.byte(0x2d);
        value = -value;
      }
      if (this.status !== 0) return;
      if (this.pos + 16 > this.out.length) {
        // Write the digits only when they surely fit; otherwise count them first.
        let digits = 1;
        for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
        if (this.pos + digits > this.out.length) {
          this.status = ONEJSON_NO_ROOM;
          return;
        }
      }
      this.pos += writeDecimal(this.out, this.pos, value);
      return;
    }
    // Fractions are rare here (sensor values): JavaScript's shortest round-trip form, at the cost of a string.
    const text = String(value);
    for (let i = 0; i < text.length; i++) this.byte(text.charCodeAt(i));
  }

  private id(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id > MAX_GENERATED_ID) {
      if (this.status === 0) this.status = ONEJSON_BAD_VALUE;
      return;
    }
    this.raw(T_ID_OPEN);
    this.number(id);
    this.raw(T_VERSION_PARAMS);
  }

  private echoId(idBuf: Uint8Array | null, idOffset: number, idLength: number): void {
    this.raw(T_ID_OPEN);
    if (idBuf === null || idLength <= 0 || idLength > MAX_ECHO_ID || idOffset < 0 || idOffset + idLength > idBuf.length) this.raw(T_NO_ID);
    else for (let i = 0; i < idLength; i++) this.byte(idBuf[idOffset + i]);
    this.byte(0x22);
  }

  private result(): number {
    this.mode = MODE_NONE;
    return this.status !== 0 ? this.status : this.pos - this.start;
  }

  beginPropertyPost(out: Uint8Array, offset: number, id: number, timeMs: number): void {
    this.open(out, offset);
    this.id(id);
    this.byte(0x7b);
    this.mode = MODE_WRAPPED;
    this.timeMs = timeMs;
  }

  beginEventPost(out: Uint8Array, offset: number, id: number, event: string, timeMs: number): void {
    this.open(out, offset);
    this.id(id);
    this.byte(0x7b);
    this.quoted(event);
    this.raw(T_EVENT_VALUE);
    this.mode = MODE_RAW;
    this.eventClose = true;
    this.timeMs = timeMs;
  }

  beginGetReply(out: Uint8Array, offset: number, idBuf: Uint8Array | null, idOffset: number, idLength: number): void {
    this.open(out, offset);
    this.echoId(idBuf, idOffset, idLength);
    this.raw(T_OK_DATA);
    this.mode = MODE_RAW;
  }

  beginInvokeReply(out: Uint8Array, offset: number, idBuf: Uint8Array | null, idOffset: number, idLength: number): void {
    this.beginGetReply(out, offset, idBuf, idOffset, idLength);
  }

  beginDesiredGet(out: Uint8Array, offset: number, id: number): void {
    this.open(out, offset);
    this.id(id);
    this.byte(0x5b);
    this.mode = MODE_LIST;
  }

  private member(identifier: string): void {
    if (this.mode === MODE_NONE || this.mode === MODE_LIST) {
      if (this.status === 0) this.status = ONEJSON_BAD_VALUE;
      return;
    }
    if (this.members++ > 0) this.byte(0x2c);
    this.quoted(identifier);
    this.byte(0x3a);
    if (this.mode === MODE_WRAPPED) this.raw(T_VALUE);
  }

  private memberEnd(): void {
    if (this.mode !== MODE_WRAPPED) return;
    if (this.timeMs >= 0) {
      this.raw(T_TIME);
      this.number(Math.floor(this.timeMs));
    }
    this.byte(0x7d);
  }

  addBoolean(identifier: string, value: boolean): void {
    this.member(identifier);
    this.raw(value ? T_TRUE : T_FALSE);
    this.memberEnd();
  }

  addNumber(identifier: string, value: number): void {
    this.member(identifier);
    this.number(value);
    this.memberEnd();
  }

  /** Converts `value` to UTF-8 (allocates). */
  addString(identifier: string, value: string): void {
    this.member(identifier);
    this.quotedValue(value);
    this.memberEnd();
  }

  addIdentifier(identifier: string): void {
    if (this.mode !== MODE_LIST) {
      if (this.status === 0) this.status = ONEJSON_BAD_VALUE;
      return;
    }
    if (this.members++ > 0) this.byte(0x2c);
    this.quoted(identifier);
  }

  end(): number {
    if (this.mode === MODE_NONE) return this.status !== 0 ? this.status : ONEJSON_BAD_VALUE;
    if (this.mode === MODE_LIST) this.raw(T_CLOSE_LIST);
    else if (this.eventClose) {
      this.byte(0x7d);
      if (this.timeMs >= 0) {
        this.raw(T_TIME);
        this.number(Math.floor(this.timeMs));
      }
      this.raw(T_CLOSE_3);
    } else this.raw(T_CLOSE_2);
    return this.result();
  }

  reply(out: Uint8Array, offset: number, idBuf: Uint8Array | null, idOffset: number, idLength: number, code: number, msg: string): number {
    this.open(out, offset);
    this.echoId(idBuf, idOffset, idLength);
    this.raw(T_CODE);
    this.number(Number.isInteger(code) ? code : 500);
    this.raw(T_MSG);
    this.quoted(msg);
    this.byte(0x7d);
    return this.result();
  }

  /** The reply to a request the parser rejected (or accepted, with "ok"), echoing its id when it has one. */
  errorReply(out: Uint8Array, offset: number, parser: OneJsonParser, error: OneJsonError): number {
    const usable = parser.idKind === "string" || parser.idKind === "number";
    return this.reply(out, offset, usable ? parser.buf : null, parser.idOffset, usable ? parser.idLength : 0, replyCode(error), replyMessage(error));
  }
}

// ------------------------------------------------------------------------------------------- parser

export type IdKind = "string" | "number" | "missing" | "other";
export type PropertyType = "bool" | "number" | "string";
export interface PropertySpec {
  readonly identifier: string;
  readonly type: PropertyType;
}

export interface OneJsonLimits {
  /** Payloads longer than this get "too-large" (default 2048). */
  maxBytes?: number;
  /** Nesting limit, the top-level object counting as 1 (default 8). */
  maxDepth?: number;
}

// Frozen: Moddable keeps a frozen table in flash instead of copying it to RAM.
const POW10: readonly number[] = Object.freeze([1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]);

export class OneJsonParser {
  readonly maxBytes: number;
  private readonly texts = new TextCache(TEXT_CACHE_SIZE, utf8Bytes);
  private readonly scan: JsonScanner;

  buf: Uint8Array = new Uint8Array(0);
  error: OneJsonError = "ok";
  idKind: IdKind = "missing";
  idOffset = 0;
  idLength = 0;
  code = Number.NaN;
  msgOffset = 0;
  msgLength = 0;
  /** The `params` of a request, or the `data` of a reply: "null" when absent. */
  containerKind: JsonValueKind = "null";
  containerOffset = 0;
  containerLength = 0;

  keyOffset = 0;
  keyLength = 0;
  valueKind: JsonValueKind = "null";
  valueOffset = 0;
  valueLength = 0;
  badKeyOffset = 0;
  badKeyLength = 0;
  private cursor = 0;
  private containerEnd = 0;

  constructor(limits: OneJsonLimits = {}) {
    this.maxBytes = limits.maxBytes ?? 2048;
    this.scan = new JsonScanner(limits.maxDepth ?? 8);
  }

  parse(kind: IncomingThingTopic, buf: Uint8Array, offset: number, length: number): OneJsonError {
    this.buf = buf;
    this.error = "ok";
    this.idKind = "missing";
    this.idOffset = this.idLength = 0;
    this.code = Number.NaN;
    this.msgOffset = this.msgLength = 0;
    this.containerKind = "null";
    this.containerOffset = this.containerLength = 0;
    this.cursor = this.containerEnd = 0;
    this.badKeyOffset = this.badKeyLength = 0;
    if (offset < 0 || length < 0 || offset + length > buf.length) return (this.error = "malformed");
    const structural = this.scanTop(kind, offset, offset + length);
    if (length > this.maxBytes) return (this.error = "too-large");
    if (structural !== "ok") return (this.error = structural);
    return (this.error = this.check(kind));
  }

  /** Walks the top-level object, noting the members OneJSON defines; the scanner validates the rest. */
  private scanTop(kind: IncomingThingTopic, begin: number, end: number): OneJsonError {
    const s = this.scan;
    const buf = this.buf;
    s.attach(buf, end);
    let p = s.skipWs(begin);
    if (p >= end) return "malformed";
    if (buf[p] !== 0x7b) {
      const after = s.scanValue(p, 0);
      return after >= 0 && s.skipWs(after) === end ? "not-object" : s.error;
    }
    const wantsData = kind === "property/post/reply" || kind === "event/post/reply" || kind === "property/desired/get/reply";
    let seen = 0;
    p = s.skipWs(p + 1);
    if (p < end && buf[p] === 0x7d) return s.skipWs(p + 1) === end ? "ok" : "malformed";
    for (;;) {
      const keyStart = p + 1;
      p = s.scanString(p);
      if (p < 0) return s.error;
      const keyLength = p - 1 - keyStart;
      p = s.skipWs(p);
      if (p >= end || buf[p] !== 0x3a) return "malformed";
      p = s.scanValue(s.skipWs(p + 1), 1);
      if (p < 0) return s.error;
      const k = s.kind;
      const vs = s.start;
      const ve = s.valueEnd;
      let bit = 0;
      if (equalsBytes(buf, keyStart, keyLength, K_ID)) {
        bit = 1;
        this.idKind = k === "string" ? "string" : k === "number" ? "number" : "other";
        this.idOffset = vs;
        this.idLength = ve - vs;
      } else if (equalsBytes(buf, keyStart, keyLength, wantsData ? K_DATA : K_PARAMS)) {
        bit = 2;
        this.containerKind = k;
        this.containerOffset = vs;
        this.containerLength = ve - vs;
      } else if (equalsBytes(buf, keyStart, keyLength, K_CODE)) {
        bit = 4;
        // Infinity marks "present but not a number", apart from NaN for "absent".
        this.code = k === "number" ? numberAt(buf, vs, ve) : Number.POSITIVE_INFINITY;
      } else if (equalsBytes(buf, keyStart, keyLength, K_MSG)) {
        bit = 8;
        if (k === "string") {
          this.msgOffset = vs;
          this.msgLength = ve - vs;
        }
      }
      // A repeated member is ambiguous (which one did the sender mean?): refuse it.
      if (seen & bit) return "malformed";
      seen |= bit;
      p = s.skipWs(p);
      if (p >= end) return "malformed";
      if (buf[p] === 0x7d) return s.skipWs(p + 1) === end ? "ok" : "malformed";
      if (buf[p] !== 0x2c) return "malformed";
      p = s.skipWs(p + 1);
    }
  }

  private check(kind: IncomingThingTopic): OneJsonError {
    if (this.idKind === "missing") return "missing-id";
    if (this.idKind === "number") return "numeric-id";
    if (this.idKind === "other" || this.idLength === 0 || this.idLength > MAX_ECHO_ID) {
      this.idKind = "other";
      return "bad-id";
    }
    const c = this.containerKind;
    switch (kind) {
      case "property/set":
        if (this.containerLength === 0) return "missing-params";
        return c === "object" ? "ok" : "bad-params";
      case "service/invoke":
        // A service without input parameters may come without params.
        if (this.containerLength === 0) return "ok";
        return c === "object" ? "ok" : "bad-params";
      case "property/get": {
        if (this.containerLength === 0) return "missing-params";
        if (c !== "array") return "bad-params";
        this.rewind();
        while (this.next()) if (this.valueKind !== "string") return "bad-params";
        this.rewind();
        return "ok";
      }
      default:
        if (Number.isNaN(this.code)) return "missing-code";
        if (!Number.isInteger(this.code)) return "bad-code";
        if (this.containerLength !== 0 && c !== "object" && c !== "null") return "bad-params";
        return "ok";
    }
  }

  /** Restarts iteration over the params (or data). */
  rewind(): void {
    this.cursor = this.containerOffset + 1;
    this.containerEnd = this.containerOffset + this.containerLength - 1;
    this.scan.attach(this.buf, this.containerEnd);
  }

  /** Moves to the next member (object) or element (array); false at the end or when there is no container. */
  next(): boolean {
    const k = this.containerKind;
    // The container was recorded only after the scanner validated all of it, so walking it is safe.
    if (k !== "object" && k !== "array") return false;
    const s = this.scan;
    const buf = this.buf;
    s.attach(buf, this.containerEnd);
    let p = s.skipWs(this.cursor);
    if (p >= this.containerEnd) return false;
    if (buf[p] === 0x2c) p = s.skipWs(p + 1);
    if (k === "object") {
      const after = s.scanString(p);
      if (after < 0) return false;
      this.keyOffset = p + 1;
      this.keyLength = after - 2 - p;
      p = s.skipWs(after);
      p = s.skipWs(p + 1); // the colon, validated by parse()
    }
    const after = s.scanValue(p, 1);
    if (after < 0) return false;
    this.valueKind = s.kind;
    this.valueOffset = s.start;
    this.valueLength = s.valueEnd - s.start;
    if (k === "array") {
      this.keyOffset = s.kind === "string" ? s.start : p;
      this.keyLength = s.kind === "string" ? this.valueLength : 0;
    }
    this.cursor = after;
    return true;
  }

  /** Compares the raw key bytes (escapes are not decoded) with `name`. */
  keyIs(name: string): boolean {
    return equalsBytes(this.buf, this.keyOffset, this.keyLength, this.texts.get(name));
  }

  /** The current value as a number (NaN unless it is a number). */
  valueNumber(): number {
    return this.valueKind === "number" ? numberAt(this.buf, this.valueOffset, this.valueOffset + this.valueLength) : Number.NaN;
  }

  /** When the current value is an object holding "value" (desired/get/reply), makes that the current value. */
  unwrapValue(): boolean {
    if (this.valueKind !== "object") return false;
    const s = this.scan;
    const buf = this.buf;
    const end = this.valueOffset + this.valueLength - 1;
    s.attach(buf, end);
    let p = s.skipWs(this.valueOffset + 1);
    let found = false;
    while (p < end) {
      const after = s.scanString(p);
      if (after < 0) break;
      const isValue = equalsBytes(buf, p + 1, after - 2 - p, K_VALUE);
      p = s.skipWs(s.skipWs(after) + 1);
      p = s.scanValue(p, 1);
      if (p < 0) break;
      if (isValue) {
        this.valueKind = s.kind;
        this.valueOffset = s.start;
        this.valueLength = s.valueEnd - s.start;
        found = true;
        break;
      }
      p = s.skipWs(p);
      if (p < end && buf[p] === 0x2c) p = s.skipWs(p + 1);
    }
    s.attach(buf, this.containerEnd);
    return found;
  }

  /** Whether the id is the string of digits of `n` (to match a post/reply to our post). */
  idEquals(n: number): boolean {
    if (this.idKind !== "string" || !Number.isInteger(n) || n < 0) return false;
    let v = n;
    for (let i = this.idOffset + this.idLength - 1; i >= this.idOffset; i--) {
      const q = Math.floor(v / 10);
      if (this.buf[i] !== 0x30 + (v - q * 10)) return false;
      v = q;
    }
    return v === 0 && this.idLength > 0 && (this.idLength === 1 || this.buf[this.idOffset] !== 0x30);
  }

  /**
   * Checks every member of an object container against the model before anything is applied, so a set
   * with one bad member changes nothing. The first offender is in badKeyOffset/badKeyLength.
   */
  checkParams(model: readonly PropertySpec[]): OneJsonError {
    this.rewind();
    while (this.next()) {
      let spec: PropertySpec | undefined;
      for (let i = 0; i < model.length; i++) if (this.keyIs(model[i].identifier)) spec = model[i];
      if (spec === undefined) return this.bad("unknown-identifier");
      const k = this.valueKind;
      const ok = spec.type === "bool" ? k === "true" || k === "false" : spec.type === "number" ? k === "number" && Number.isFinite(this.valueNumber()) : k === "string";
      if (!ok) return this.bad("bad-value");
    }
    this.rewind();
    return "ok";
  }

  private bad(error: OneJsonError): OneJsonError {
    this.badKeyOffset = this.keyOffset;
    this.badKeyLength = this.keyLength;
    this.rewind();
    return error;
  }
}

/**
 * A JSON number (already validated) from bytes. Exact for integers up to 2^53 and, via the classic fast path
 * (mantissa < 2^53, |exponent| <= 22), correctly rounded for ordinary decimals; others fall back to Number().
 */
export function numberAt(buf: Uint8Array, begin: number, end: number): number {
  let p = begin;
  let negative = false;
  if (buf[p] === 0x2d) {
    negative = true;
    p++;
  }
  let mantissa = 0;
  let digits = 0;
  let exponent = 0;
  for (; p < end && buf[p] >= 0x30 && buf[p] <= 0x39; p++) {
    mantissa = mantissa * 10 + (buf[p] - 0x30);
    if (mantissa > 0) digits++;
  }
  if (p < end && buf[p] === 0x2e) {
    for (p++; p < end && buf[p] >= 0x30 && buf[p] <= 0x39; p++) {
      mantissa = mantissa * 10 + (buf[p] - 0x30);
      if (mantissa > 0) digits++;
      exponent--;
    }
  }
  if (p < end && (buf[p] === 0x65 || buf[p] === 0x45)) {
    p++;
    let sign = 1;
    if (buf[p] === 0x2d) sign = -1;
    if (buf[p] === 0x2d || buf[p] === 0x2b) p++;
    let e = 0;
    for (; p < end; p++) e = Math.min(e * 10 + (buf[p] - 0x30), 100000);
    exponent += sign * e;
  }
  let value: number;
  if (mantissa === 0) value = 0;
  else if (digits <= 15 && mantissa <= Number.MAX_SAFE_INTEGER && exponent >= -22 && exponent <= 22) {
    value = exponent < 0 ? mantissa / POW10[-exponent] : mantissa * POW10[exponent];
  } else {
    let text = "";
    for (let i = begin; i < end; i++) text += String.fromCharCode(buf[i]);
    return Number(text);
  }
  return negative ? -value : value;
}
