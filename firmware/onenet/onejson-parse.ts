/*
 * The OneJSON parser (see onejson.ts for the API), the reply codes and messages the device answers
 * with, and the schema of the properties a device accepts: a property/set is read in one pass,
 * every member checked against the schema while the payload is validated, nothing applied when
 * one member is wrong. The payload is read where it lies in the packet buffer: no JSON.parse, no
 * strings, no objects per message.
 */
import { equalsBytes, utf8Bytes } from "../bytes.js";
import { TextCache } from "./json-text.js";
import { JsonScanner, type JsonValueKind, type MemberVisitor } from "./json-scan.js";
import type { IncomingThingTopic } from "./thing.js";

export type { JsonValueKind } from "./json-scan.js";

export const ONEJSON_NO_ROOM = -1;
export const ONEJSON_BAD_VALUE = -2;
export const MAX_GENERATED_ID = 9_999_999_999_999;
/** Longest id (raw bytes) echoed back; longer ones are answered with NO_ID. */
export const MAX_ECHO_ID = 64;
export const NO_ID = "0";
/** Distinct identifiers and messages each builder and parser keeps as bytes (see json-text.ts's TextCache). */
export const TEXT_CACHE_SIZE = 32;

const K_ID = utf8Bytes("id");
const K_PARAMS = utf8Bytes("params");
const K_DATA = utf8Bytes("data");
const K_CODE = utf8Bytes("code");
const K_MSG = utf8Bytes("msg");
const K_VALUE = utf8Bytes("value");
const K_VERSION = utf8Bytes("version");

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

export class OneJsonParser implements MemberVisitor {
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
  /** The "version" unwrapValue() found next to the value (desired/get/reply); -1 when none. */
  valueVersion = -1;
  badKeyOffset = 0;
  badKeyLength = 0;
  private cursor = 0;
  private containerEnd = 0;
  /** parseSet's schema while it runs, and the first member it refused. */
  private schema: PropertySchema | null = null;
  private paramsError: OneJsonError = "ok";

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
    const checked = this.check(kind);
    return (this.error = checked === "ok" && this.schema !== null ? this.paramsError : checked);
  }

  /**
   * A property/set read in one pass against `schema`: parse() with every params member checked
   * as it is scanned. "ok" means every member is a known property of the right type, their values
   * in schema (given(i), bool(i), number(i)); any other result means nothing may be applied (the
   * first offender in badKeyOffset/badKeyLength).
   */
  parseSet(buf: Uint8Array, offset: number, length: number, schema: PropertySchema): OneJsonError {
    schema.clear();
    this.schema = schema;
    this.paramsError = "ok";
    try {
      return this.parse("property/set", buf, offset, length);
    } finally {
      this.schema = null;
    }
  }

  /** @internal MemberVisitor: one member of a property/set's params, just scanned. */
  member(keyOffset: number, keyLength: number): void {
    const schema = this.schema;
    if (schema === null || this.paramsError !== "ok") return;
    const s = this.scan;
    const i = schema.indexOf(this.buf, keyOffset, keyLength);
    if (i >= 0 && schema.accept(i, s.kind, this.buf, s.start, s.valueEnd)) return;
    this.paramsError = i < 0 ? "unknown-identifier" : "bad-value";
    this.badKeyOffset = keyOffset;
    this.badKeyLength = keyLength;
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
    const wantsData = kind === "property/post/reply" || kind === "event/post/reply" || kind === "property/desired/get/reply" || kind === "property/desired/delete/reply";
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
      const isContainer = equalsBytes(buf, keyStart, keyLength, wantsData ? K_DATA : K_PARAMS);
      const vp = s.skipWs(p + 1);
      // With a schema, a property/set's params are checked member by member as they are scanned.
      p = isContainer && this.schema !== null && vp < end && buf[vp] === 0x7b ? s.scanObject(vp, 1, this) : s.scanValue(vp, 1);
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
      } else if (isContainer) {
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

  /**
   * When the current value is an object holding "value" (desired/get/reply's {"value":v,"version":n}),
   * makes that the current value, and its "version" valueVersion (-1 when absent or not a whole number).
   */
  unwrapValue(): boolean {
    this.valueVersion = -1;
    if (this.valueKind !== "object") return false;
    const s = this.scan;
    const buf = this.buf;
    const end = this.valueOffset + this.valueLength - 1;
    s.attach(buf, end);
    let p = s.skipWs(this.valueOffset + 1);
    let found = false;
    let kind: JsonValueKind = "null";
    let offset = 0;
    let length = 0;
    while (p < end) {
      const after = s.scanString(p);
      if (after < 0) break;
      const isValue = equalsBytes(buf, p + 1, after - 2 - p, K_VALUE);
      const isVersion = !isValue && equalsBytes(buf, p + 1, after - 2 - p, K_VERSION);
      p = s.skipWs(s.skipWs(after) + 1);
      p = s.scanValue(p, 1);
      if (p < 0) break;
      if (isValue) {
        kind = s.kind;
        offset = s.start;
        length = s.valueEnd - s.start;
        found = true;
      } else if (isVersion && s.kind === "number") {
        const v = numberAt(buf, s.start, s.valueEnd);
        this.valueVersion = Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER ? v : -1;
      }
      p = s.skipWs(p);
      if (p < end && buf[p] === 0x2c) p = s.skipWs(p + 1);
    }
    if (found) {
      this.valueKind = kind;
      this.valueOffset = offset;
      this.valueLength = length;
    } else this.valueVersion = -1;
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
 * The properties a device accepts in a property/set, compiled once: each identifier as bytes, and
 * room for the values of one message (no allocation per message). OneJsonParser.parseSet fills it.
 */
export class PropertySchema {
  readonly specs: readonly PropertySpec[];
  private readonly keys: readonly Uint8Array[];
  private readonly givenFlags: Uint8Array;
  private readonly values: Float64Array;
  /** A string value's raw content (escapes kept) in the parsed buffer. */
  readonly textOffset: Int32Array;
  readonly textLength: Int32Array;

  constructor(specs: readonly PropertySpec[]) {
    this.specs = specs;
    const keys: Uint8Array[] = [];
    for (let i = 0; i < specs.length; i++) keys.push(utf8Bytes(specs[i].identifier));
    this.keys = keys;
    this.givenFlags = new Uint8Array(specs.length);
    this.values = new Float64Array(specs.length);
    this.textOffset = new Int32Array(specs.length);
    this.textLength = new Int32Array(specs.length);
  }

  clear(): void {
    this.givenFlags.fill(0);
  }

  /** Which property the raw key bytes name, or -1. */
  indexOf(buf: Uint8Array, offset: number, length: number): number {
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) if (equalsBytes(buf, offset, length, keys[i])) return i;
    return -1;
  }

  /** Records property i's value; false when its JSON kind does not fit the property's type. */
  accept(i: number, kind: JsonValueKind, buf: Uint8Array, start: number, end: number): boolean {
    switch (this.specs[i].type) {
      case "bool":
        if (kind !== "true" && kind !== "false") return false;
        this.values[i] = kind === "true" ? 1 : 0;
        break;
      case "number": {
        if (kind !== "number") return false;
        const v = numberAt(buf, start, end);
        if (!Number.isFinite(v)) return false;
        this.values[i] = v;
        break;
      }
      case "string":
        if (kind !== "string") return false;
        this.textOffset[i] = start;
        this.textLength[i] = end - start;
        break;
    }
    this.givenFlags[i] = 1;
    return true;
  }

  /** Whether the last message set property i (the last one given wins). */
  given(i: number): boolean {
    return this.givenFlags[i] === 1;
  }

  bool(i: number): boolean {
    return this.values[i] === 1;
  }

  number(i: number): number {
    return this.values[i];
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

