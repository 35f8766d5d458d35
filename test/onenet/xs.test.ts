/*
 * The OneNET modules inside Moddable's XS engine (xsnap, with the harness removing what a device lacks):
 * the reference's token vectors, hashes against Node, OneJSON round trips, and no heap growth when a
 * token is rebuilt or a set request is parsed and answered.
 */
import { createHash, createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slotsPerRun } from "../xs/support.js";
import { bundleForXs } from "../../host-sim/xs/bundle.js";
import { XsWorker } from "../../host-sim/xs/worker.js";
import seed from "../fixtures/seed-vectors.json" with { type: "json" };

const KEY = "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=";
let worker: XsWorker;
const json = <T>(expression: string) => worker.evaluateJson<T>(expression).value;

beforeAll(() => {
  const bundle = bundleForXs({
    modules: {
      token: "host-sim/onenet/token-tools.ts",
      onejson: "firmware/onenet/onejson.ts",
      thing: "firmware/onenet/thing.ts",
      sha1: "firmware/onenet/sha1.ts",
      sha256: "firmware/onenet/sha256.ts",
      md5: "firmware/onenet/md5.ts",
      hmac: "firmware/onenet/hmac.ts",
    },
  });
  worker = new XsWorker({ name: "onenet-xs-test" });
  worker.evaluate(bundle.code);
  worker.evaluate(`
    globalThis.M = xsHarness.modules;
    globalThis.hexOf = (b, n) => { let s = ""; for (let i = 0; i < n; i++) s += (b[i] >> 4).toString(16) + (b[i] & 15).toString(16); return s; };
    globalThis.textOf = (b, o, n) => { let s = ""; for (let i = o; i < o + n; i++) s += String.fromCharCode(b[i]); return s; };
    globalThis.bytesOf = (s) => { const u = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i); return u; };
  `);
});
afterAll(() => worker?.close());

describe("OneNET modules on XS", () => {
  it("the four token vectors", () => {
    const token = (method: string, extra = "") =>
      json<string>(`M.token.buildTokenString({ productId: "L14FCC38pq", deviceName: "test1", key: "${KEY}", method: "${method}", et: 2017881776 ${extra} })`);
    expect(token("sha1")).toBe(seed.onenet.token);
    expect(token("md5")).toMatch(/&sign=IWc62R%2FPfsibkYMxCRuD8g%3D%3D$/);
    expect(token("sha256")).toMatch(/&sign=aXnhD5A%2B2%2FOLsA%2BlVLa7C5XCwoiISGkdFOs6nFpQhOA%3D$/);
    expect(
      json<string>(
        `M.token.buildTokenString({ productId: "238322", deviceName: "mqtts-test-device", key: "EnW4T71eIE55xOIQMN6pFMKuqel5T5HTzsGJRPiDhlM=", method: "sha1", et: 7557387130 })`,
      ),
    ).toMatch(/&sign=Rs0u%2FKnyoK5%2FMuKo5xKa0tW%2BWqY%3D$/);
  });

  it("hashes and HMACs agree with node:crypto for lengths 0..300", () => {
    const got = json<Record<string, string[]>>(`(() => {
      const out = { sha1: [], sha256: [], md5: [], hmac: [] };
      const hashes = { sha1: new M.sha1.Sha1(), sha256: new M.sha256.Sha256(), md5: new M.md5.Md5() };
      const mac = new M.hmac.Hmac(new M.sha256.Sha256());
      const d = new Uint8Array(32);
      for (let n = 0; n <= 300; n += 7) {
        const data = new Uint8Array(n);
        for (let i = 0; i < n; i++) data[i] = (i * 31 + n) & 255;
        for (const k of ["sha1", "sha256", "md5"]) { hashes[k].update(data, 0, n); out[k].push(hexOf(d, hashes[k].finish(d, 0))); }
        mac.setKey(data, 0, n); mac.update(data, 0, n); out.hmac.push(hexOf(d, mac.finish(d, 0)));
      }
      return out;
    })()`);
    let i = 0;
    for (let n = 0; n <= 300; n += 7, i++) {
      const data = Uint8Array.from({ length: n }, (_, j) => (j * 31 + n) & 255);
      for (const k of ["sha1", "sha256", "md5"]) expect(got[k][i]).toBe(createHash(k).update(data).digest("hex"));
      expect(got.hmac[i]).toBe(createHmac("sha256", data).update(data).digest("hex"));
    }
  });

  it("parses a set and builds its reply, and matches the topic", () => {
    const got = json<[string, string, string, string]>(`(() => {
      const topics = new M.thing.ThingTopics("L14FCC38pq", "test1");
      const topic = bytesOf("$sys/L14FCC38pq/test1/thing/property/set");
      const kind = topics.matchThingTopic(topic, 0, topic.length);
      const p = new M.onejson.OneJsonParser();
      const b = new M.onejson.OneJsonBuilder();
      const msg = bytesOf('{"id":"12","version":"1.0","params":{"led":"yes"}}');
      const error = p.parse(kind, msg, 0, msg.length);
      const check = p.checkParams([{ identifier: "led", type: "bool" }]);
      const out = new Uint8Array(128);
      return [kind, error, check, textOf(out, 0, b.errorReply(out, 0, p, check))];
    })()`);
    expect(got).toEqual(["property/set", "ok", "bad-value", '{"id":"12","code":400,"msg":"bad value"}']);
  });

  it("a hostile 2000-level nesting stops at the depth limit without exhausting XS's stack", () => {
    const got = json<string>(`(() => {
      let s = '{"id":"5","params":{"x":';
      for (let i = 0; i < 2000; i++) s += "[";
      for (let i = 0; i < 2000; i++) s += "]";
      s += "}}";
      const msg = bytesOf(s);
      return new M.onejson.OneJsonParser({ maxBytes: 10000 }).parse("property/set", msg, 0, msg.length);
    })()`);
    expect(got).toBe("too-deep");
  });

  it("rebuilding the token, matching, parsing and answering allocate nothing on the XS heap", () => {
    worker.evaluate(`
      globalThis.B = new M.token.TokenBuilder({ productId: "L14FCC38pq", deviceName: "test1", key: "${KEY}", method: "sha1" });
      globalThis.OUT = new Uint8Array(B.maxLength);
      globalThis.T = new M.thing.ThingTopics("L14FCC38pq", "test1");
      globalThis.P = new M.onejson.OneJsonParser();
      globalThis.J = new M.onejson.OneJsonBuilder();
      globalThis.IDS = new M.onejson.MessageIds();
      globalThis.MODEL = [{ identifier: "led", type: "bool" }, { identifier: "brightness", type: "number" }];
      globalThis.TOPIC = bytesOf("$sys/L14FCC38pq/test1/thing/property/set");
      globalThis.SVC = bytesOf("$sys/L14FCC38pq/test1/thing/service/reboot/invoke");
      globalThis.MSG = bytesOf('{"id":"1234567890123","version":"1.0","params":{"led":true,"brightness":12.5}}');
      globalThis.BAD = bytesOf('{"id":"77","version":"1.0","params":{"led":"yes"}}');
      globalThis.REPLY = new Uint8Array(256);
      globalThis.TOPIC_OUT = new Uint8Array(128);
    `);
    const steps: Record<string, string> = {
      "token build": "B.build(OUT, 0, 2017881776 + i)",
      "topic match": "T.matchThingTopic(TOPIC, 0, TOPIC.length); T.matchThingTopic(SVC, 0, SVC.length)",
      "topic write": 'T.write("property/set_reply", TOPIC_OUT, 0); T.writeService("service/invoke_reply", SVC, T.serviceIdOffset, T.serviceIdLength, TOPIC_OUT, 0)',
      "set parse + check + apply": 'if (P.parse("property/set", MSG, 0, MSG.length) === "ok" && P.checkParams(MODEL) === "ok") { P.rewind(); while (P.next()) if (P.keyIs("brightness")) P.valueNumber(); }',
      "set reply": 'J.reply(REPLY, 0, P.buf, P.idOffset, P.idLength, 200, "success")',
      "bad set + error reply": 'P.parse("property/set", BAD, 0, BAD.length); J.errorReply(REPLY, 0, P, P.checkParams(MODEL))',
      "property/post": 'J.beginPropertyPost(REPLY, 0, IDS.next(), 1700000000000 + i); J.addBoolean("led", true); J.addNumber("brightness", 40 + i); J.end()',
      "desired/get": 'J.beginDesiredGet(REPLY, 0, IDS.next()); J.addIdentifier("led"); J.end()',
    };
    for (const [name, body] of Object.entries(steps)) expect(slotsPerRun(worker, body, 200), name).toBe(0);
    expect(textOfOut()).toBe(seed.onenet.token.replace("et=2017881776", `et=${2017881776 + 199}`).replace(/&sign=.*$/, textSign()));
  });
});

function textOfOut(): string {
  return json<string>("textOf(OUT, 0, B.build(OUT, 0, 2017881776 + 199))");
}

function textSign(): string {
  const et = 2017881776 + 199;
  const sign = createHmac("sha1", Buffer.from(KEY, "base64")).update(`${et}\nsha1\nproducts/L14FCC38pq/devices/test1\n2018-10-31`).digest("base64");
  return `&sign=${encodeURIComponent(sign)}`;
}
