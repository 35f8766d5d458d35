/*
 * The MQTT session inside Moddable's XS engine (xsnap): it runs there unchanged, comes online, and
 * its per-packet paths (inbound QoS 0/1/2 with acks, outbound QoS 0/1/2 with acks, PINGREQ/PINGRESP
 * through the timer) leave no garbage on the XS heap.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slotsPerRun } from "../xs/support.js";
import { bundleForXs } from "../../host-sim/xs/bundle.js";
import { XsWorker } from "../../host-sim/xs/worker.js";

let worker: XsWorker;
const json = <T>(expression: string) => worker.evaluateJson<T>(expression).value;

beforeAll(() => {
  const bundle = bundleForXs({ modules: { client: "firmware/mqtt/client.ts" } });
  worker = new XsWorker({ name: "mqtt-client-xs-test" });
  worker.evaluate(bundle.code);
  // A clock, a transport and a broker's answers, all preallocated inside XS.
  worker.evaluate(`
    globalThis.M = xsHarness.modules;
    globalThis.NOW = 0;
    globalThis.TIMER = { cb: null, at: Infinity };
    const clock = {
      now: () => NOW,
      wallTime: () => -1,
      createTimer(cb) { TIMER.cb = cb; return { schedule(ms) { TIMER.at = NOW + ms; }, cancel() { TIMER.at = Infinity; } }; },
    };
    globalThis.SENT = new Uint8Array(2048);
    globalThis.SENT_LEN = 0;
    globalThis.SENT_COUNT = 0;
    globalThis.EVENTS = null;
    globalThis.TRANSPORT = {
      sendSpace: 4096,
      open(events) { EVENTS = events; },
      send(b, o, l) { for (let i = 0; i < l; i++) SENT[i] = b[o + i]; SENT_LEN = l; SENT_COUNT++; return true; },
      close() {},
    };
    globalThis.H = { online: 0, messages: 0, acked: 0, errors: [], onOnline() { this.online++; }, onOffline() {},
      onMessage(p, buf) { this.messages++; }, onPublishAcked() { this.acked++; }, onError(code, detail) { this.errors.push(code + " " + detail); } };
    globalThis.C = new M.client.MqttClient({ clock, log: () => {}, random: () => 0.5 }, TRANSPORT,
      { clientId: "test1", username: "L14FCC38pq", keepaliveS: 60, subscriptions: [{ topic: "$sys/L14FCC38pq/test1/thing/#", qos: 1 }],
        writePassword: (out, off) => { out[off] = 0x70; return 1; } }, H);
    globalThis.tick = (ms) => { NOW += ms; if (NOW >= TIMER.at) { TIMER.at = Infinity; TIMER.cb(); } };
    globalThis.feed = (bytes) => EVENTS.onData(bytes, 0, bytes.length);
    globalThis.CONNACK = Uint8Array.of(0x20, 2, 0, 0);
    globalThis.SUBACK = Uint8Array.of(0x90, 3, 0, 0, 1);
    globalThis.IN_Q0 = Uint8Array.of(0x30, 7, 0, 3, 0x61, 0x2f, 0x62, 0x68, 0x69);
    globalThis.IN_Q1 = Uint8Array.of(0x32, 9, 0, 3, 0x61, 0x2f, 0x62, 0, 7, 0x68, 0x69);
    globalThis.IN_Q2 = Uint8Array.of(0x34, 9, 0, 3, 0x61, 0x2f, 0x62, 0, 8, 0x68, 0x69);
    globalThis.PUBREL_8 = Uint8Array.of(0x62, 2, 0, 8);
    globalThis.ACK = Uint8Array.of(0x40, 2, 0, 0);
    globalThis.PINGRESP = Uint8Array.of(0xd0, 0);
    globalThis.PAYLOAD = new Uint8Array(100);
    // The application passes topics as bytes (see firmware/app.ts); a string topic costs the
    // codec's string scan, measured apart.
    const post = "$sys/L14FCC38pq/test1/thing/property/post";
    globalThis.POST = { bytes: new Uint8Array(post.length), offset: 0, length: post.length };
    for (let i = 0; i < post.length; i++) POST.bytes[i] = post.charCodeAt(i);
    globalThis.ackLast = (type) => { ACK[0] = type; ACK[2] = C.lastPacketId >> 8; ACK[3] = C.lastPacketId & 255; feed(ACK); };
  `);
});
afterAll(() => worker?.close());

describe("MqttClient on XS", () => {
  it("comes online: CONNECT and SUBSCRIBE bytes as expected", () => {
    const got = json<[string, number[], number[], boolean, number]>(`(() => {
      C.start();
      EVENTS.onOpen();
      const connect = Array.from(SENT.subarray(0, SENT_LEN));
      feed(CONNACK);
      const subscribe = Array.from(SENT.subarray(0, SENT_LEN));
      SUBACK[2] = subscribe[2]; SUBACK[3] = subscribe[3];
      feed(SUBACK);
      return [C.state, connect, subscribe, C.online, H.online];
    })()`);
    expect(got[0]).toBe("online");
    // 10 <len> 00 04 MQTT 04 flags(user+pass+clean = C2) keepalive 00 3C, then the strings.
    expect(got[1].slice(2, 12)).toEqual([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0xc2, 0, 60]);
    expect(got[2][0]).toBe(0x82);
    expect(got[3]).toBe(true);
    expect(got[4]).toBe(1);
  });

  it("the per-packet paths allocate nothing on the XS heap", () => {
    const steps: Record<string, string> = {
      "inbound QoS 0": "feed(IN_Q0)",
      "inbound QoS 1 + PUBACK": "feed(IN_Q1)",
      "inbound QoS 2 + PUBREC, PUBREL + PUBCOMP": "feed(IN_Q2); feed(PUBREL_8)",
      "outbound QoS 0": 'C.publish(POST, PAYLOAD, 0, 100, 0)',
      "outbound QoS 1 + PUBACK": 'C.publish(POST, PAYLOAD, 0, 100, 1); ackLast(0x40)',
      "outbound QoS 2 + PUBREC/PUBREL/PUBCOMP": 'C.publish(POST, PAYLOAD, 0, 100, 2); ackLast(0x50); ackLast(0x70)',
      "keepalive: 46 s of silence, PINGREQ, PINGRESP": "tick(46000); feed(PINGRESP)",
    };
    for (const [name, body] of Object.entries(steps)) expect(slotsPerRun(worker, body, 200), name).toBe(0);
    const stats = json<Record<string, number>>("C.stats");
    expect(stats.pingsSent).toBeGreaterThan(200);
    expect(stats.pingResponses).toBe(stats.pingsSent);
    expect(stats.acked).toBeGreaterThan(400);
    expect(stats.unknownAcks).toBe(0);
    expect(json<string[]>("H.errors")).toEqual([]);
    expect(json<boolean>("C.online")).toBe(true);
  });
});
