/*
 * encodePublish inside Moddable's XS engine (xsnap): heap slots allocated per PUBLISH (garbage
 * included). The application passes the topic as bytes; a string topic must be cheap too when the
 * same one is published again, since on XS every read of a string's characters allocates a wrapper.
 * The bytes written must be those Node writes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slotsPerRun } from "../xs/support.js";
import { encodePublish, newPublishFields } from "../../host-sim/mqtt/index.js";
import { bundleForXs } from "../../host-sim/xs/bundle.js";
import { XsWorker } from "../../host-sim/xs/worker.js";

const POST = "$sys/L14FCC38pq/test1/thing/property/post";
const REPLY = "$sys/L14FCC38pq/test1/thing/property/set_reply";
const UNICODE = "$sys/产品/设备/thing/😀/post";

let worker: XsWorker;
const json = <T>(expression: string) => worker.evaluateJson<T>(expression).value;

beforeAll(() => {
  const bundle = bundleForXs({ modules: { mqtt: "host-sim/mqtt/index.ts" } });
  worker = new XsWorker({ name: "mqtt-encode-xs-alloc-test" });
  worker.evaluate(bundle.code);
  worker.evaluate(`
    globalThis.M = xsHarness.modules.mqtt;
    globalThis.F = M.newPublishFields();
    globalThis.OUT = new Uint8Array(512);
    globalThis.PAYLOAD = new Uint8Array(100);
    for (let i = 0; i < 100; i++) PAYLOAD[i] = 0x41 + (i % 26);
    globalThis.bytesOf = (s) => { const u = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i); return u; };
    globalThis.TOPIC_BYTES = bytesOf(${JSON.stringify(POST)});
    globalThis.hexOf = (n) => { let s = ""; for (let i = 0; i < n; i++) s += (OUT[i] >> 4).toString(16) + (OUT[i] & 15).toString(16); return s; };
    globalThis.pub = (topic, qos) => {
      F.topic = topic; F.payload = PAYLOAD; F.payloadOffset = 0; F.payloadLength = 100; F.qos = qos; F.packetId = qos ? 7 : 0;
      return M.encodePublish(OUT, 0, F);
    };
    globalThis.pubBytes = () => {
      F.topic = TOPIC_BYTES; F.topicOffset = 0; F.topicLength = TOPIC_BYTES.length;
      F.payload = PAYLOAD; F.payloadOffset = 0; F.payloadLength = 100; F.qos = 1; F.packetId = 7;
      return M.encodePublish(OUT, 0, F);
    };
  `);
});
afterAll(() => worker?.close());

const allocatedPer = (body: string): number => slotsPerRun(worker, body);

function onNode(topic: string, qos: number): string {
  const f = newPublishFields();
  f.topic = topic;
  f.payload = Uint8Array.from({ length: 100 }, (_, i) => 0x41 + (i % 26));
  f.payloadOffset = 0;
  f.payloadLength = 100;
  f.qos = qos;
  f.packetId = qos ? 7 : 0;
  const out = new Uint8Array(512);
  return Buffer.from(out.subarray(0, encodePublish(out, 0, f))).toString("hex");
}

describe("encodePublish on XS: allocation per PUBLISH", () => {
  it("writes the same bytes as Node for string topics, switching between them", () => {
    for (const [topic, qos] of [[POST, 0], [REPLY, 1], [POST, 1], [UNICODE, 2], [POST, 0], [UNICODE, 1]] as const) {
      expect(json<string>(`hexOf(pub(${JSON.stringify(topic)}, ${qos}))`), topic).toBe(onNode(topic, qos));
    }
  });

  it("a bytes topic allocates nothing", () => {
    expect(json<string>("hexOf(pubBytes())")).toBe(onNode(POST, 1));
    expect(allocatedPer("pubBytes()")).toBe(0);
  });

  it("the same string topic again allocates nothing, ASCII or not", () => {
    for (const topic of [POST, REPLY, UNICODE]) {
      worker.evaluate(`globalThis.TOPIC = ${JSON.stringify(topic)};`);
      expect(allocatedPer("pub(TOPIC, 1)"), topic).toBe(0);
    }
  });

  it("a string topic that changes at every PUBLISH costs a few slots, whatever its length", () => {
    // Each switch checks and encodes the new topic again; no slots per character.
    const long = (c: string) => `$sys/${c.repeat(40)}/${"设备".repeat(30)}/thing/property/post`;
    worker.evaluate(`globalThis.A = ${JSON.stringify(POST)}; globalThis.B = ${JSON.stringify(REPLY)};
      globalThis.LA = ${JSON.stringify(long("a"))}; globalThis.LB = ${JSON.stringify(long("b"))};`);
    const short = allocatedPer("pub(A, 0); pub(B, 0)");
    expect(short).toBeLessThanOrEqual(8);
    expect(allocatedPer("pub(LA, 0); pub(LB, 0)")).toBe(short);
    expect(json<string>("hexOf(pub(B, 0))")).toBe(onNode(REPLY, 0));
    expect(json<string>("hexOf(pub(LA, 2))")).toBe(onNode(long("a"), 2));
    expect(json<string>("hexOf(pub(A, 0))")).toBe(onNode(POST, 0));
  });

  it("a string payload costs a few slots, whatever its length", () => {
    worker.evaluate(`globalThis.pubText = (text) => { F.topic = TOPIC_BYTES; F.topicOffset = 0; F.topicLength = TOPIC_BYTES.length;
      F.payload = text; F.qos = 0; F.packetId = 0; return M.encodePublish(OUT, 0, F); };
      globalThis.SHORT = '{"id":"1","params":{"led":true}}'; globalThis.LONG = SHORT.repeat(8) + "灯😀";`);
    const short = allocatedPer("pubText(SHORT)");
    expect(short).toBeLessThanOrEqual(8);
    expect(allocatedPer("pubText(LONG)")).toBe(short);
    const text = '{"id":"1","params":{"led":true}}'.repeat(8) + "灯😀";
    const f = newPublishFields();
    f.topic = POST;
    f.payload = text;
    const out = new Uint8Array(512);
    expect(json<string>("hexOf(pubText(LONG))")).toBe(Buffer.from(out.subarray(0, encodePublish(out, 0, f))).toString("hex"));
  });

  it("matching a received topic against a string filter or topic allocates nothing per character", () => {
    worker.evaluate(`globalThis.IN = bytesOf(${JSON.stringify(REPLY)});
      globalThis.match = (filter, topic) => M.topicMatches(IN, 0, IN.length, filter) && M.topicEquals(IN, 0, IN.length, topic);`);
    expect(json<boolean>(`match("$sys/+/test1/thing/#", ${JSON.stringify(REPLY)})`)).toBe(true);
    expect(json<boolean>(`match("$sys/+/test1/thing/property/post", ${JSON.stringify(REPLY)})`)).toBe(false);
    const short = allocatedPer(`match("$sys/+/test1/thing/#", ${JSON.stringify(REPLY)})`);
    expect(short).toBeLessThanOrEqual(8);
    expect(allocatedPer(`match("$sys/L14FCC38pq/test1/thing/property/+", ${JSON.stringify(REPLY)})`)).toBe(short);
  });
});
