// OneNET's limits on the embedded broker, each with OneNET's reaction, named in the broker's log and as a
// "limit" event: QoS 0 granted whatever was asked, SUBACK 0x80 past 8 filters in a SUBSCRIBE, 8 levels,
// 512 bytes a filter and 10 filters a device, the link closed past 256 KB of payload. (The login rate:
// connect.test.ts; desired/delete's version and 2402's message: cloud.test.ts.)
import { afterEach, describe, expect, it } from "vitest";
import { OneNetBroker, type BrokerEvent } from "../../host-sim/broker/onenet-broker.js";
import { DEV, KEY, PID, RawClient } from "./support.js";

const T = `$sys/${PID}/${DEV}/thing/`;
let broker: OneNetBroker | undefined;
let lines: string[] = [];
const ends: (() => void)[] = [];
afterEach(async () => {
  for (const e of ends.splice(0)) e();
  await broker?.close();
  broker = undefined;
});

async function online(): Promise<RawClient> {
  lines = [];
  broker = new OneNetBroker({ devices: [{ productId: PID, deviceName: DEV, key: KEY }], log: (line) => lines.push(line) });
  const c = await RawClient.tcp(await broker.listen());
  ends.push(() => c.end());
  await c.connectOk();
  return c;
}

let nextId = 1;
async function subscribe(c: RawClient, subscriptions: { topic: string; qos: number }[]): Promise<number[]> {
  const messageId = nextId++;
  c.send({ cmd: "subscribe", messageId, subscriptions });
  const ack = (await c.next("suback", 3000, (p) => (p as { messageId?: number }).messageId === messageId)) as { granted: number[] };
  return ack.granted;
}

const limits = () => broker!.history.filter((e): e is Extract<BrokerEvent, { type: "limit" }> => e.type === "limit");

describe("OneNET's limits, enforced with OneNET's reactions", () => {
  it("grants QoS 0 to a subscription that asks for QoS 1", async () => {
    const c = await online();
    expect(await subscribe(c, [{ topic: T + "property/set", qos: 1 }, { topic: T + "property/get", qos: 0 }])).toEqual([0, 0]);
    expect(limits()).toMatchObject([{ limit: "granted-qos", reaction: "QoS 0 granted", deviceName: DEV }]);
    expect(lines).toContain(`broker: ${DEV}: OneNET limit granted-qos: QoS 0 granted (${T}property/set asked QoS 1; OneNET delivers at QoS 0)`);
  });

  it("refuses every filter of a SUBSCRIBE that holds more than 8, and takes 8", async () => {
    const c = await online();
    const filters = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ topic: `${T}service/s${from + i}/invoke`, qos: 0 }));
    expect(await subscribe(c, filters(9))).toEqual(new Array(9).fill(0x80));
    expect(limits()).toMatchObject([{ limit: "filters-per-subscribe", reaction: "SUBACK 0x80 for every filter", detail: "9 filters in one SUBSCRIBE, OneNET allows 8" }]);
    expect(broker!.subscriptions(PID, DEV)).toEqual([]);
    expect(await subscribe(c, filters(8))).toEqual(new Array(8).fill(0));
    expect(limits()).toHaveLength(1);
  });

  it("refuses a filter of more than 8 levels or more than 512 bytes", async () => {
    const c = await online();
    const nine = `${T}property/desired/get/reply/x`;
    const eight = `${T}property/desired/get/reply`;
    const long = `${T}service/${"s".repeat(512 - `${T}service//invoke`.length + 1)}/invoke`;
    const fits = `${T}service/${"s".repeat(512 - `${T}service//invoke`.length)}/invoke`;
    expect([long.length, fits.length]).toEqual([513, 512]);
    expect(await subscribe(c, [nine, eight, long, fits].map((topic) => ({ topic, qos: 0 })))).toEqual([0x80, 0, 0x80, 0]);
    expect(limits().map((e) => [e.limit, e.reaction])).toEqual([
      ["topic-levels", "SUBACK 0x80"],
      ["filter-length", "SUBACK 0x80"],
    ]);
    expect(limits()[0]!.detail).toBe(`${nine}: 9 topic levels, OneNET allows 8`);
    expect(lines.some((l) => l.includes("OneNET limit filter-length: SUBACK 0x80") && l.includes("a 513-byte filter, OneNET allows 512"))).toBe(true);
  });

  it("refuses an 11th filter for the device", async () => {
    const c = await online();
    const filters = Array.from({ length: 11 }, (_, i) => ({ topic: `${T}service/s${i}/invoke`, qos: 0 }));
    expect(await subscribe(c, filters.slice(0, 6))).toEqual(new Array(6).fill(0));
    expect(await subscribe(c, filters.slice(6))).toEqual([0, 0, 0, 0, 0x80]);
    expect(limits()).toMatchObject([{ limit: "subscriptions", reaction: "SUBACK 0x80", detail: `${T}service/s10/invoke would be filter 11, OneNET allows 10 per device` }]);
    // A filter it already holds is no 11th.
    expect(await subscribe(c, [filters[0]!])).toEqual([0]);
  });

  it("closes the link on a payload over 256 KB, and takes one of 256 KB", async () => {
    const c = await online();
    const post = (size: number) => {
      const head = '{"id":"1","params":{"note":{"value":"';
      const tail = '"}}}';
      return Buffer.from(head + "x".repeat(size - head.length - tail.length) + tail);
    };
    c.send({ cmd: "publish", topic: T + "property/post", qos: 0, retain: false, dup: false, payload: post(256 * 1024) });
    await broker!.waitFor((e) => e.type === "device-publish");
    expect(c.closed).toBe(false);
    c.send({ cmd: "publish", topic: T + "property/post", qos: 0, retain: false, dup: false, payload: post(256 * 1024 + 1) });
    await c.waitClosed();
    const closed = (await broker!.waitFor((e) => e.type === "disconnected", 2000, 0)) as Extract<BrokerEvent, { type: "disconnected" }>;
    expect(closed.reason).toBe("rule: a 262145-byte payload, OneNET allows 262144");
    expect(limits()).toMatchObject([{ limit: "payload-size", reaction: "link closed" }]);
    expect(lines).toContain(`broker: ${DEV}: OneNET limit payload-size: link closed (a 262145-byte payload, OneNET allows 262144)`);
  });
});
