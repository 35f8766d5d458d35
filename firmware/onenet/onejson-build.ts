/*
 * OneJSON builders (see onejson.ts for the formats and the API): each message written straight
 * into the caller's buffer, fixed texts as bytes made once, identifiers and messages converted
 * once each (TextCache). Nothing is allocated per message.
 */
import { utf8Bytes } from "../bytes.js";
import { TextCache, jsonStringBytes, jsonStringByteLength, writeJsonStringByte } from "./json-text.js";
import { MAX_ECHO_ID, MAX_GENERATED_ID, NO_ID, ONEJSON_BAD_VALUE, ONEJSON_NO_ROOM, TEXT_CACHE_SIZE, replyCode, replyMessage, type OneJsonError, type OneJsonParser } from "./onejson-parse.js";
import { writeDecimal } from "./token.js";

// Fixed texts as bytes, made once: on XS, reading a string's characters allocates (see json-text.ts).
const T_ID_OPEN = utf8Bytes('{"id":"');
const T_VERSION_PARAMS = utf8Bytes('","version":"1.0","params":');
const T_CODE = utf8Bytes(',"code":');
const T_MSG = utf8Bytes(',"msg":');
const T_OK_DATA = utf8Bytes(',"code":200,"msg":"success","data":{');
const T_VALUE = utf8Bytes('{"value":');
const T_VERSION = utf8Bytes('{"version":');
const T_EMPTY = utf8Bytes("{}");
const T_EVENT_VALUE = utf8Bytes(':{"value":{');
const T_TIME = utf8Bytes(',"time":');
const T_TRUE = utf8Bytes("true");
const T_FALSE = utf8Bytes("false");
const T_NO_ID = utf8Bytes(NO_ID);
const T_CLOSE_LIST = utf8Bytes("]}");
const T_CLOSE_2 = utf8Bytes("}}");
const T_CLOSE_3 = utf8Bytes("}}}");

/** Ids for the messages we originate: 1..MAX_GENERATED_ID, then 1 again. */
export class MessageIds {
  private last = 0;
  next(): number {
    this.last = this.last >= MAX_GENERATED_ID ? 1 : this.last + 1;
    return this.last;
  }
}


const MODE_NONE = 0;
/** property/post: "id":{"value":v[,"time":t]} */
const MODE_WRAPPED = 1;
/** data of get_reply/invoke_reply, value of event/post: "id":v */
const MODE_RAW = 2;
/** params of desired/get: "id" */
const MODE_LIST = 3;
/** params of desired/delete: "id":{"version":n} */
const MODE_DELETE = 4;

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

  /** {"id":"7","version":"1.0","params":{ ... }} of property/desired/delete: then addDesiredVersion(). */
  beginDesiredDelete(out: Uint8Array, offset: number, id: number): void {
    this.open(out, offset);
    this.id(id);
    this.byte(0x7b);
    this.mode = MODE_DELETE;
  }

  /** "led":{"version":3} (the delete is conditional on it), or "led":{} for any version when `version` < 0. */
  addDesiredVersion(identifier: string, version: number): void {
    if (this.mode !== MODE_DELETE) {
      if (this.status === 0) this.status = ONEJSON_BAD_VALUE;
      return;
    }
    if (this.members++ > 0) this.byte(0x2c);
    this.quoted(identifier);
    this.byte(0x3a);
    if (version < 0) {
      this.raw(T_EMPTY);
      return;
    }
    this.raw(T_VERSION);
    this.number(version);
    this.byte(0x7d);
  }

  private member(identifier: string): void {
    if (this.mode === MODE_NONE || this.mode === MODE_LIST || this.mode === MODE_DELETE) {
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

