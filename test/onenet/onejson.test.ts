import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonScanner } from "../../firmware/onenet/json-scan.js";
import {
  MAX_GENERATED_ID,
  MessageIds,
  ONEJSON_BAD_VALUE,
  ONEJSON_NO_ROOM,
  OneJsonBuilder,
  OneJsonParser,
  numberAt,
  replyCode,
  replyMessage,
} from "../../firmware/onenet/onejson.js";
import type { OneJsonError, PropertySpec } from "../../firmware/onenet/onejson.js";
import type { IncomingThingTopic } from "../../firmware/onenet/thing.js";
import seed from "../fixtures/seed-vectors.json" with { type: "json" };

const bytes = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));
const text = (b: Uint8Array, o: number, n: number) => Buffer.from(b.subarray(o, o + n)).toString("utf8");
const model: PropertySpec[] = [
  { identifier: "led", type: "bool" },
  { identifier: "brightness", type: "number" },
  { identifier: "label", type: "string" },
];

describe("OneJsonBuilder", () => {
  const b = new OneJsonBuilder();
  const out = new Uint8Array(512);

  it("property/post with and without time", () => {
    b.beginPropertyPost(out, 2, 123, 1524448722123);
    b.addBoolean("led", true);
    let n = b.end();
    expect(text(out, 2, n)).toBe('{"id":"123","version":"1.0","params":{"led":{"value":true,"time":1524448722123}}}');
    b.beginPropertyPost(out, 0, 1, -1);
    b.addBoolean("led", false);
    b.addNumber("brightness", -42);
    b.addNumber("t", 21.5);
    b.addString("label", 'a "quoted" \\ 中文\n');
    n = b.end();
    const s = text(out, 0, n);
    expect(s).toBe('{"id":"1","version":"1.0","params":{"led":{"value":false},"brightness":{"value":-42},"t":{"value":21.5},"label":{"value":"a \\"quoted\\" \\\\ 中文\\u000a"}}}');
    expect(JSON.parse(s).params.label.value).toBe('a "quoted" \\ 中文\n');
  });

  it("reproduces the seed's property/post payload", () => {
    b.beginPropertyPost(out, 0, 1386772172, -1);
    b.addString("receive", "666666");
    expect(text(out, 0, b.end())).toBe(seed.packets.publish_qos0.fields.payload);
  });

  it("set_reply, get_reply, invoke_reply echo the id bytes exactly", () => {
    const req = bytes('{"id":"12\\u0033","params":{}}');
    const idOffset = 7;
    const idLength = 8;
    let n = b.reply(out, 0, req, idOffset, idLength, 200, "success");
    expect(text(out, 0, n)).toBe('{"id":"12\\u0033","code":200,"msg":"success"}');
    b.beginGetReply(out, 0, req, idOffset, idLength);
    b.addBoolean("led", true);
    b.addNumber("brightness", 7);
    n = b.end();
    expect(text(out, 0, n)).toBe('{"id":"12\\u0033","code":200,"msg":"success","data":{"led":true,"brightness":7}}');
    b.beginInvokeReply(out, 0, req, idOffset, idLength);
    n = b.end();
    expect(JSON.parse(text(out, 0, n))).toEqual({ id: "123", code: 200, msg: "success", data: {} });
    n = b.reply(out, 0, null, 0, 0, 400, "missing id");
    expect(text(out, 0, n)).toBe('{"id":"0","code":400,"msg":"missing id"}');
  });

  it("event/post and property/desired/get", () => {
    b.beginEventPost(out, 0, 9, "overheat", 1700000000000);
    b.addNumber("temp", 80);
    let n = b.end();
    expect(text(out, 0, n)).toBe('{"id":"9","version":"1.0","params":{"overheat":{"value":{"temp":80},"time":1700000000000}}}');
    b.beginEventPost(out, 0, 9, "boot", -1);
    n = b.end();
    expect(text(out, 0, n)).toBe('{"id":"9","version":"1.0","params":{"boot":{"value":{}}}}');
    b.beginDesiredGet(out, 0, MAX_GENERATED_ID);
    b.addIdentifier("led");
    b.addIdentifier("brightness");
    n = b.end();
    expect(text(out, 0, n)).toBe('{"id":"9999999999999","version":"1.0","params":["led","brightness"]}');
  });

  it("property/desired/delete: each identifier with the version it names, or {} for any", () => {
    b.beginDesiredDelete(out, 0, 12);
    b.addDesiredVersion("led", 3);
    b.addDesiredVersion("brightness", -1);
    let n = b.end();
    expect(text(out, 0, n)).toBe('{"id":"12","version":"1.0","params":{"led":{"version":3},"brightness":{}}}');
    expect(JSON.parse(text(out, 0, n))).toEqual({ id: "12", version: "1.0", params: { led: { version: 3 }, brightness: {} } });
    b.beginDesiredDelete(out, 0, 1);
    b.addDesiredVersion("led", 9_007_199_254_740_991);
    n = b.end();
    expect(text(out, 0, n)).toBe('{"id":"1","version":"1.0","params":{"led":{"version":9007199254740991}}}');
    // Only desired/delete takes versions, and it takes nothing else.
    b.beginDesiredDelete(out, 0, 1);
    b.addBoolean("led", true);
    expect(b.end()).toBe(ONEJSON_BAD_VALUE);
    b.beginPropertyPost(out, 0, 1, -1);
    b.addDesiredVersion("led", 1);
    expect(b.end()).toBe(ONEJSON_BAD_VALUE);
    for (let size = 0; size < 40; size++) {
      b.beginDesiredDelete(out.subarray(0, size), 0, 12);
      b.addDesiredVersion("led", 3);
      expect(b.end()).toBe(ONEJSON_NO_ROOM);
    }
  });

  it("returns ONEJSON_NO_ROOM for every buffer too small, and never writes past it", () => {
    const write = (buf: Uint8Array) => {
      b.beginPropertyPost(buf, 0, 77, 1524448722123);
      b.addBoolean("led", true);
      b.addNumber("brightness", 1234567);
      b.addString("label", "héllo");
      return b.end();
    };
    const full = write(new Uint8Array(512));
    for (let size = 0; size <= full + 1; size++) {
      const buf = new Uint8Array(size + 4).fill(0xab).subarray(0, size);
      expect(write(buf)).toBe(size < full ? ONEJSON_NO_ROOM : full);
      expect(new Uint8Array(buf.buffer).subarray(size).every((x) => x === 0xab)).toBe(true);
    }
    const reply = '{"id":"0","code":200,"msg":"success"}'.length;
    for (let size = 0; size < reply + 3; size++) expect(b.reply(new Uint8Array(size), 0, null, 0, 0, 200, "success")).toBe(size < reply ? ONEJSON_NO_ROOM : reply);
  });

  it("refuses values JSON cannot carry and ids out of range, with ONEJSON_BAD_VALUE", () => {
    b.beginPropertyPost(out, 0, 1, -1);
    b.addNumber("x", Number.NaN);
    expect(b.end()).toBe(ONEJSON_BAD_VALUE);
    b.beginPropertyPost(out, 0, 1, -1);
    b.addNumber("x", Number.POSITIVE_INFINITY);
    expect(b.end()).toBe(ONEJSON_BAD_VALUE);
    for (const id of [-1, 1.5, MAX_GENERATED_ID + 1]) {
      b.beginDesiredGet(out, 0, id);
      expect(b.end()).toBe(ONEJSON_BAD_VALUE);
    }
    b.beginDesiredGet(out, 0, 1);
    b.addBoolean("led", true);
    expect(b.end()).toBe(ONEJSON_BAD_VALUE);
    expect(new OneJsonBuilder().end()).toBe(ONEJSON_BAD_VALUE);
  });

  it("writes any string and number so that JSON.parse reads them back", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ unit: "grapheme", maxLength: 40 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), (key, value, d, i) => {
        const buf = new Uint8Array(1024);
        b.beginGetReply(buf, 0, null, 0, 0);
        b.addString(key, value);
        b.addNumber("d", d);
        b.addNumber("i", i);
        const parsed = JSON.parse(text(buf, 0, b.end()));
        const wellFormed = Buffer.from(key, "utf8").toString("utf8");
        expect(parsed.data[wellFormed]).toBe(wellFormed === "d" || wellFormed === "i" ? parsed.data[wellFormed] : value);
        expect(parsed.data.d).toBe(Object.is(d, -0) ? 0 : d);
        expect(parsed.data.i).toBe(i);
      }),
      { numRuns: 500, seed: 5 },
    );
  });

  it("MessageIds count from 1 and wrap within 13 digits", () => {
    const ids = new MessageIds();
    expect([ids.next(), ids.next()]).toEqual([1, 2]);
    (ids as unknown as { last: number }).last = MAX_GENERATED_ID - 1;
    expect([ids.next(), ids.next()]).toEqual([MAX_GENERATED_ID, 1]);
    expect(String(MAX_GENERATED_ID)).toHaveLength(13);
  });
});

describe("OneJsonParser", () => {
  const p = new OneJsonParser({ maxBytes: 256 });
  const b = new OneJsonBuilder();
  const out = new Uint8Array(256);
  /** Parses `json` placed inside a larger buffer, as it would be in a packet. */
  const parse = (kind: IncomingThingTopic, json: string | Uint8Array) => {
    const payload = typeof json === "string" ? bytes(json) : json;
    const buf = new Uint8Array(payload.length + 10).fill(0x7d);
    buf.set(payload, 6);
    return p.parse(kind, buf, 6, payload.length);
  };
  const id = () => text(p.buf, p.idOffset, p.idLength);
  const replyFor = (error: OneJsonError) => text(out, 0, b.errorReply(out, 0, p, error));
  const params = () => {
    const list: [string, string, string][] = [];
    p.rewind();
    while (p.next()) list.push([text(p.buf, p.keyOffset, p.keyLength), p.valueKind, text(p.buf, p.valueOffset, p.valueLength)]);
    return list;
  };

  it("property/set: id, params, iteration, model check, success reply", () => {
    expect(parse("property/set", ' {"id":"12","version":"1.0","params":{"led":true,"brightness":-1.5e1,"label":"a\\"b"}} ')).toBe("ok");
    expect(id()).toBe("12");
    expect(p.idEquals(12)).toBe(true);
    expect(p.idEquals(1)).toBe(false);
    expect(params()).toEqual([
      ["led", "true", "true"],
      ["brightness", "number", "-1.5e1"],
      ["label", "string", 'a\\"b'],
    ]);
    p.rewind();
    p.next();
    p.next();
    expect(p.keyIs("brightness")).toBe(true);
    expect(p.valueNumber()).toBe(-15);
    expect(p.checkParams(model)).toBe("ok");
    expect(replyFor("ok")).toBe('{"id":"12","code":200,"msg":"success"}');
  });

  it('wrong type ("led":"yes") and unknown identifiers are refused as a whole, with 400 and 404', () => {
    expect(parse("property/set", '{"id":"13","version":"1.0","params":{"brightness":3,"led":"yes"}}')).toBe("ok");
    expect(p.checkParams(model)).toBe("bad-value");
    expect(text(p.buf, p.badKeyOffset, p.badKeyLength)).toBe("led");
    expect(replyFor("bad-value")).toBe('{"id":"13","code":400,"msg":"bad value"}');
    expect(parse("property/set", '{"id":"14","params":{"led":true,"fan":1}}')).toBe("ok");
    expect(p.checkParams(model)).toBe("unknown-identifier");
    expect(text(p.buf, p.badKeyOffset, p.badKeyLength)).toBe("fan");
    expect(replyFor("unknown-identifier")).toBe('{"id":"14","code":404,"msg":"unknown identifier"}');
    for (const bad of ['"led":1', '"led":null', '"brightness":true', '"brightness":"3"', '"label":5', '"led":{"value":true}', '"led":[true]']) {
      expect(parse("property/set", `{"id":"1","params":{${bad}}}`)).toBe("ok");
      expect(p.checkParams(model), bad).toBe("bad-value");
    }
    expect(parse("property/set", '{"id":"1","params":{}}')).toBe("ok");
    expect(p.checkParams(model)).toBe("ok");
  });

  it("missing and numeric ids are answered, never ignored", () => {
    expect(parse("property/set", '{"version":"1.0","params":{"led":true}}')).toBe("missing-id");
    expect(replyFor(p.error)).toBe('{"id":"0","code":400,"msg":"missing id"}');
    expect(parse("property/set", '{"id":12,"params":{"led":true}}')).toBe("numeric-id");
    expect(replyFor(p.error)).toBe('{"id":"12","code":400,"msg":"id must be a string"}');
    for (const bad of ['"id":null', '"id":true', '"id":{"a":1}', '"id":[1]', '"id":""', `"id":"${"1".repeat(65)}"`]) {
      expect(parse("property/set", `{${bad},"params":{}}`), bad).toBe("bad-id");
      expect(replyFor(p.error)).toBe('{"id":"0","code":400,"msg":"bad id"}');
    }
    expect(parse("property/set", `{"id":"${"1".repeat(64)}","params":{}}`)).toBe("ok");
  });

  it("malformed JSON of every kind is caught, and the id is echoed when it came before the damage", () => {
    const malformed = [
      "",
      "   ",
      "{",
      "}",
      '{"id":"1",}',
      '{"id":"1" "params":{}}',
      "{'id':'1'}",
      '{"id":"1","params":{"led":tru}}',
      '{"id":"1","params":{"led":True}}',
      '{"id":"1","params":{"led":01}}',
      '{"id":"1","params":{"led":1.}}',
      '{"id":"1","params":{"led":.5}}',
      '{"id":"1","params":{"led":-}}',
      '{"id":"1","params":{"led":1e}}',
      '{"id":"1","params":{"led":+1}}',
      '{"id":"1","params":{"led":NaN}}',
      '{"id":"1","params":{"led":[1,]}}',
      '{"id":"1","params":{"led":[1 2]}}',
      '{"id":"1","params":{"a\tb":1}}',
      '{"id":"1","params":{"x":"\\x"}}',
      '{"id":"1","params":{"x":"\\u12G4"}}',
      '{"id":"1","params":{"x":"abc}}',
      '{"id":"1","params":{}}x',
      '{"id":"1","params":{}}}',
      '{"id":"1","params":{}} {}',
      '{"id":"1","id":"2","params":{}}',
      '{"id":"1","params":{},"params":{}}',
      '{"id":"1","params":{}/*c*/}',
      '{"id":"1","params":{"x":1}',
    ];
    for (const json of malformed) {
      expect(parse("property/set", json), json).toBe("malformed");
      const reply = replyFor(p.error);
      expect(JSON.parse(reply).code).toBe(400);
      expect(JSON.parse(reply).msg).toBe("malformed json");
      if (json.startsWith('{"id":"1",') && !json.includes('"id":"2"')) expect(JSON.parse(reply).id).toBe("1");
    }
  });

  it("rejects bad UTF-8 (invalid bytes, overlongs, surrogates, truncation) inside strings", () => {
    const wrap = (...raw: number[]) => new Uint8Array([...bytes('{"id":"1","params":{"s":"'), ...raw, ...bytes('"}}')]);
    expect(parse("property/set", wrap(0xe4, 0xb8, 0xad))).toBe("ok");
    expect(parse("property/set", wrap(0xf0, 0x9f, 0x98, 0x80))).toBe("ok");
    for (const raw of [[0xff], [0x80], [0xc0, 0xaf], [0xc1, 0xbf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xe4, 0xb8], [0xe4, 0x41, 0xad]]) {
      expect(parse("property/set", wrap(...raw)), raw.join(",")).toBe("malformed");
    }
  });

  it("depth, size and shape limits", () => {
    const deep = (n: number) => `{"id":"5","params":{"x":${"[".repeat(n)}${"]".repeat(n)}}}`;
    // The limit counts the top-level object as 1: 8 levels pass, 9 do not.
    expect(parse("property/set", deep(6))).toBe("ok");
    expect(parse("property/set", deep(7))).toBe("too-deep");
    expect(replyFor(p.error)).toBe('{"id":"5","code":400,"msg":"json too deep"}');
    // A hostile 2000-level nesting ends at the limit, without deep recursion.
    const roomy = new OneJsonParser({ maxBytes: 10_000 });
    const hostile = bytes(deep(2000));
    expect(roomy.parse("property/set", hostile, 0, hostile.length)).toBe("too-deep");
    const big = `{"id":"6","params":{"label":"${"x".repeat(300)}"}}`;
    expect(parse("property/set", big)).toBe("too-large");
    expect(replyFor(p.error)).toBe('{"id":"6","code":413,"msg":"payload too large"}');
    for (const json of ["[1,2]", '"x"', "42", "null"]) {
      expect(parse("property/set", json)).toBe("not-object");
      expect(replyFor(p.error)).toBe('{"id":"0","code":400,"msg":"not a json object"}');
    }
    expect(parse("property/set", '{"id":"1"}')).toBe("missing-params");
    expect(parse("property/set", '{"id":"1","params":["led"]}')).toBe("bad-params");
    expect(parse("property/set", '{"id":"1","params":null}')).toBe("bad-params");
    expect(replyFor(p.error)).toBe('{"id":"1","code":400,"msg":"params of wrong type"}');
  });

  it("payloads over the packet buffer get a 413 reply with the NO_ID id", () => {
    // The MQTT layer cannot hand over what it could not store: it reports the size and the app replies.
    expect(text(out, 0, b.reply(out, 0, null, 0, 0, replyCode("too-large"), replyMessage("too-large")))).toBe('{"id":"0","code":413,"msg":"payload too large"}');
  });

  it("property/get: a list of identifiers", () => {
    expect(parse("property/get", '{"id":"123","version":"1.0","params":["led","brightness"]}')).toBe("ok");
    expect(params()).toEqual([
      ["led", "string", "led"],
      ["brightness", "string", "brightness"],
    ]);
    expect(parse("property/get", '{"id":"123","params":[]}')).toBe("ok");
    expect(params()).toEqual([]);
    expect(parse("property/get", '{"id":"123","params":["led",1]}')).toBe("bad-params");
    expect(parse("property/get", '{"id":"123","params":{"led":1}}')).toBe("bad-params");
    expect(parse("property/get", '{"id":"123"}')).toBe("missing-params");
  });

  it("post/reply: code, msg and id matching; a missing code is an error, not a crash", () => {
    expect(parse("property/post/reply", '{"id":"123","code":200,"msg":"success"}')).toBe("ok");
    expect(p.code).toBe(200);
    expect(p.idEquals(123)).toBe(true);
    expect(text(p.buf, p.msgOffset, p.msgLength)).toBe("success");
    expect(parse("event/post/reply", '{"id":"7","code":2402,"msg":"params format error"}')).toBe("ok");
    expect(p.code).toBe(2402);
    expect(parse("property/post/reply", '{"id":"123","msg":"success"}')).toBe("missing-code");
    expect(parse("property/post/reply", '{"id":"123","code":"200"}')).toBe("bad-code");
    expect(parse("property/post/reply", '{"id":"123","code":200.5}')).toBe("bad-code");
    expect(parse("property/post/reply", '{"id":"0123","code":200}')).toBe("ok");
    expect(p.idEquals(123)).toBe(false);
  });

  it("desired/get/reply: data members with their value wrapper", () => {
    expect(parse("property/desired/get/reply", '{"id":"3","code":200,"msg":"success","data":{"led":{"version":4,"value":true},"brightness":{"value":50}}}')).toBe("ok");
    p.rewind();
    expect(p.next()).toBe(true);
    expect(p.keyIs("led")).toBe(true);
    expect(p.unwrapValue()).toBe(true);
    expect(p.valueKind).toBe("true");
    expect(p.valueVersion).toBe(4);
    expect(p.next()).toBe(true);
    expect(p.keyIs("brightness")).toBe(true);
    expect(p.unwrapValue()).toBe(true);
    expect(p.valueNumber()).toBe(50);
    expect(p.valueVersion).toBe(-1); // no version: OneNET's docs make it optional
    expect(p.next()).toBe(false);
    // The version before or after the value, and versions that are no whole number.
    for (const [member, version] of [
      ['{"value":false,"version":12}', 12],
      ['{"version":0,"value":false}', 0],
      ['{"value":false,"version":1.5}', -1],
      ['{"value":false,"version":"3"}', -1],
      ['{"value":false,"version":-2}', -1],
    ] as const) {
      expect(parse("property/desired/get/reply", `{"id":"3","code":200,"data":{"led":${member}}}`)).toBe("ok");
      p.rewind();
      expect(p.next()).toBe(true);
      expect(p.unwrapValue()).toBe(true);
      expect([p.valueKind, p.valueVersion]).toEqual(["false", version]);
    }
    expect(parse("property/desired/get/reply", '{"id":"3","code":200,"data":{"led":{"version":3}}}')).toBe("ok");
    p.rewind();
    expect(p.next()).toBe(true);
    expect(p.unwrapValue()).toBe(false);
    expect(p.valueVersion).toBe(-1);
    expect(parse("property/desired/get/reply", '{"id":"3","code":200,"msg":"success","data":{}}')).toBe("ok");
    expect(params()).toEqual([]);
    expect(parse("property/desired/get/reply", '{"id":"3","code":200,"data":[1]}')).toBe("bad-params");
  });

  it("service/invoke: params optional, object when present", () => {
    expect(parse("service/invoke", '{"id":"8","version":"1.0","params":{"delay":5}}')).toBe("ok");
    expect(params()).toEqual([["delay", "number", "5"]]);
    expect(parse("service/invoke", '{"id":"8","version":"1.0"}')).toBe("ok");
    expect(params()).toEqual([]);
    expect(parse("service/invoke", '{"id":"8","params":"go"}')).toBe("bad-params");
  });

  it("the reused result carries nothing over from the previous message", () => {
    expect(parse("property/post/reply", '{"id":"123","code":200,"msg":"success","data":{"a":1}}')).toBe("ok");
    expect(parse("property/post/reply", '{"id":"124","code":201}')).toBe("ok");
    expect(p.msgLength).toBe(0);
    expect(params()).toEqual([]);
    expect(parse("property/set", "{")).toBe("malformed");
    expect(p.idKind).toBe("missing");
    expect(parse("property/get", '{"id":"1","params":["a",2]}')).toBe("bad-params");
  });
});

describe("robustness", () => {
  const kinds: IncomingThingTopic[] = ["property/set", "property/get", "service/invoke", "property/post/reply", "event/post/reply", "property/desired/get/reply"];
  const parser = new OneJsonParser({ maxBytes: 300 });
  const builder = new OneJsonBuilder();
  const out = new Uint8Array(512);
  const model: PropertySpec[] = [{ identifier: "led", type: "bool" }];
  // Near-OneJSON: real messages cut, spliced and sprinkled with noise, plus plain random bytes.
  const fragments = fc.constantFrom('{"id":"12"', '"id":', "12", '"params":', '{"led":true}', '["led"]', '"code":200', ",", "}", "{", "[", "]", '"', "\\", ":", "null", "-1e5", "\xff", "\u00e9", " ");
  const payload = fc.oneof(
    fc.uint8Array({ maxLength: 400 }),
    fc.array(fragments, { maxLength: 30 }).map((parts) => bytes(parts.join(""))),
  );

  it("never throws on any input, always names an error, and always yields a valid JSON reply", () => {
    fc.assert(
      fc.property(payload, fc.constantFrom(...kinds), (data, kind) => {
        const error = parser.parse(kind, data, 0, data.length);
        expect(typeof replyCode(error)).toBe("number");
        let checked: OneJsonError = error;
        if (error === "ok") {
          if (kind === "property/set") checked = parser.checkParams(model);
          parser.rewind();
          let guard = 0;
          while (parser.next() && guard++ < 1000) parser.unwrapValue();
          expect(guard).toBeLessThan(1000);
        }
        const n = builder.errorReply(out, 0, parser, checked);
        expect(n).toBeGreaterThan(0);
        const reply = JSON.parse(text(out, 0, n));
        expect(reply.code).toBe(replyCode(checked));
        expect(typeof reply.id).toBe("string");
      }),
      { numRuns: 4000, seed: 31 },
    );
  });
});

describe("strict scanner against JSON.parse", () => {
  const validates = (json: string) => {
    const s = new JsonScanner(64);
    const buf = bytes(json);
    s.attach(buf, buf.length);
    const end = s.scanValue(s.skipWs(0), 0);
    return end >= 0 && s.skipWs(end) === buf.length;
  };
  const parses = (json: string) => {
    try {
      JSON.parse(json);
      return true;
    } catch {
      return false;
    }
  };

  it("accepts every JSON document", () => {
    fc.assert(fc.property(fc.json({ depthSize: "small" }), (json) => {
      expect(validates(json)).toBe(true);
    }), { numRuns: 1000, seed: 21 });
  });

  it("agrees with JSON.parse on random near-JSON text", () => {
    const unit = fc.constantFrom(..."{}[]:,\"\\ 0123-+.eEtrufalsn\tu/bx".split(""), "true", "null", '"a"', "1.5", "\\u00e9");
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 30 }), (json) => {
        expect(validates(json), json).toBe(parses(json));
      }),
      { numRuns: 5000, seed: 22 },
    );
  });

  it("agrees with JSON.parse on mutations of valid documents", () => {
    fc.assert(
      fc.property(fc.json({ depthSize: "small" }), fc.nat(), fc.constantFrom("", ",", "}", "]", '"', "\\", "0", "-", ".", "e", " "), (json, at, insert) => {
        const i = at % (json.length + 1);
        const mutated = json.slice(0, i) + insert + json.slice(i + (insert === " " ? 0 : 1));
        expect(validates(mutated), mutated).toBe(parses(mutated));
      }),
      { numRuns: 3000, seed: 23 },
    );
  });

  it("numberAt reads numbers like Number()", () => {
    fc.assert(
      fc.property(fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.integer({ min: -1e6, max: 1e6 }).map((x) => x / 100)), (v) => {
        const t = JSON.stringify(v);
        expect(numberAt(bytes(t), 0, t.length)).toBe(Number(t));
      }),
      { numRuns: 3000, seed: 24 },
    );
    for (const t of ["0", "-0", "1e3", "1E+3", "25e-1", "0.1", "123456789012345678", "1.7976931348623157e308", "1e400", "5e-324"]) {
      expect(numberAt(bytes(t), 0, t.length), t).toBe(Number(t));
    }
  });
});
