import mqtt from "mqtt";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DeviceOfflineError, OneNetBroker, type BrokerEvent, type DevicePublishEvent } from "../../host-sim/broker/onenet-broker.js";
import { DEV, KEY, PID, RawClient, duplexPair, sleep, token } from "./support.js";

const T = `$sys/${PID}/${DEV}/thing/`;
let broker: OneNetBroker | undefined;
const ends: (() => void)[] = [];
afterEach(async () => {
  for (const e of ends.splice(0)) e();
  await broker?.close();
  broker = undefined;
});

async function start(wallTime?: () => number): Promise<number> {
  broker = new OneNetBroker({ devices: [{ productId: PID, deviceName: DEV, key: KEY }], ...(wallTime ? { wallTime } : {}) });
  return broker.listen();
}

interface Device {
  client: mqtt.MqttClient;
  messages: { topic: string; json: Record<string, unknown> }[];
  next(topicSuffix: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

async function device(port: number, subscribe: string[] | null = [T + "#"]): Promise<Device> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: 4,
    clientId: DEV,
    username: PID,
    password: token(),
    keepalive: 60,
    clean: true,
    reconnectPeriod: 0,
  });
  ends.push(() => client.end(true));
  const messages: Device["messages"] = [];
  const waiters: { suffix: string; resolve: (j: Record<string, unknown>) => void }[] = [];
  client.on("message", (topic, payload) => {
    const json = JSON.parse(payload.toString()) as Record<string, unknown>;
    messages.push({ topic, json });
    for (const w of [...waiters]) {
      if (topic === T + w.suffix) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(json);
      }
    }
  });
  if (subscribe) await client.subscribeAsync(subscribe, { qos: 0 });
  return {
    client,
    messages,
    next(suffix, timeoutMs = 2000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message on ${suffix}`)), timeoutMs);
        waiters.push({
          suffix,
          resolve: (j) => {
            clearTimeout(timer);
            resolve(j);
          },
        });
      });
    },
  };
}

describe("OneNetBroker subscriptions", () => {
  it("grants the device's own thing topics and refuses everything else with 0x80", async () => {
    const port = await start();
    const c = await RawClient.tcp(port);
    ends.push(() => c.end());
    await c.connectOk();
    const topics = [
      T + "#",
      T + "property/set",
      T + "property/+",
      T + "service/+/invoke",
      `$sys/${PID}/${DEV}/#`,
      `$sys/${PID}/other/thing/#`,
      "#",
      "$sys/#",
      `$sys/${PID}/${DEV}/thing`,
      T + "property/gev", // misspelt (a bit flipped on the UART): OneNET sends nothing there
    ];
    // Two SUBSCRIBEs: OneNET takes at most 8 filters in one.
    c.send({ cmd: "subscribe", messageId: 7, subscriptions: topics.slice(0, 5).map((topic) => ({ topic, qos: 0 })) });
    const ack = (await c.next("suback")) as { messageId: number; granted: number[] };
    expect(ack.messageId).toBe(7);
    expect(ack.granted).toEqual([0, 0, 0, 0, 0x80]);
    c.send({ cmd: "subscribe", messageId: 8, subscriptions: topics.slice(5).map((topic) => ({ topic, qos: 0 })) });
    const ack2 = (await c.next("suback", 3000, (p) => (p as { messageId?: number }).messageId === 8)) as { granted: number[] };
    expect(ack2.granted).toEqual([0x80, 0x80, 0x80, 0x80, 0x80]);
    const ev = broker!.history.find((e) => e.type === "subscribe");
    expect(ev).toMatchObject({ topics: topics.slice(0, 5), granted: [0, 0, 0, 0, 0x80] });
    expect(broker!.subscriptions(PID, DEV).sort()).toEqual(topics.slice(0, 4).sort());
  });

  it("grants the SDK's two filters, thing/# and ota/#", async () => {
    const port = await start();
    const c = await RawClient.tcp(port);
    ends.push(() => c.end());
    await c.connectOk();
    c.send({ cmd: "subscribe", messageId: 3, subscriptions: [T + "#", `$sys/${PID}/${DEV}/ota/#`, `$sys/${PID}/${DEV}/ota/nothing`].map((topic) => ({ topic, qos: 0 })) });
    expect(((await c.next("suback")) as { granted: number[] }).granted).toEqual([0, 0, 0x80]);
  });
});

describe("OneNetBroker device -> cloud", () => {
  it("answers property/post with post/reply carrying the same id, records the values, never echoes the post", async () => {
    const port = await start();
    const d = await device(port);
    const reply = d.next("property/post/reply");
    await d.client.publishAsync(T + "property/post", JSON.stringify({ id: "42", version: "1.0", params: { led: { value: true, time: 1700000000123 } } }), { qos: 1 });
    expect(await reply).toEqual({ id: "42", code: 200, msg: "success" });
    expect(broker!.reported(PID, DEV)).toEqual({ led: { value: true, time: 1700000000123 } });
    const ev = broker!.history.find((e): e is DevicePublishEvent => e.type === "device-publish")!;
    expect(ev).toMatchObject({ kind: "property/post", id: "42", qos: 1, topic: T + "property/post" });
    expect(Buffer.from(ev.payload).toString()).toContain('"led"');
    await sleep(50);
    expect(d.messages.map((m) => m.topic)).toEqual([T + "property/post/reply"]);
  });

  it("answers a post without the value wrapper with 2402, and a non-JSON one with 2400", async () => {
    const port = await start();
    const d = await device(port);
    let reply = d.next("property/post/reply");
    await d.client.publishAsync(T + "property/post", JSON.stringify({ id: "7", version: "1.0", params: { led: true } }), { qos: 0 });
    expect(await reply).toEqual({ id: "7", code: 2402, msg: "request format error" });
    expect(broker!.reported(PID, DEV)).toEqual({});
    reply = d.next("property/post/reply");
    await d.client.publishAsync(T + "property/post", '{"id":"8", oops', { qos: 0 });
    expect(await reply).toMatchObject({ id: "8", code: 2400 });
    reply = d.next("property/post/reply");
    await d.client.publishAsync(T + "property/post", JSON.stringify({ id: 9, params: {} }), { qos: 0 });
    expect(await reply).toMatchObject({ code: 2400 });
  });

  it("answers event/post with event/post/reply", async () => {
    const port = await start();
    const d = await device(port);
    const reply = d.next("event/post/reply");
    await d.client.publishAsync(T + "event/post", JSON.stringify({ id: "5", version: "1.0", params: { alarm: { value: { level: 2 } } } }), { qos: 1 });
    expect(await reply).toEqual({ id: "5", code: 200, msg: "success" });
  });

  it("does not deliver replies to a device that did not subscribe to them", async () => {
    const port = await start();
    const d = await device(port, [T + "property/set"]);
    await d.client.publishAsync(T + "property/post", JSON.stringify({ id: "1", params: { led: { value: false } } }), { qos: 1 });
    const ev = await broker!.waitFor((e) => e.type === "cloud-publish", 2000, 0);
    expect(ev).toMatchObject({ kind: "reply", delivered: false, topic: T + "property/post/reply" });
    await sleep(50);
    expect(d.messages).toEqual([]);
  });
});

describe("OneNetBroker cloud -> device", () => {
  it("round-trips property/set and property/get through the cloud API", async () => {
    const port = await start();
    const d = await device(port);
    const got = d.next("property/set");
    const id = broker!.setProperty(PID, DEV, { led: true });
    expect(id).toMatch(/^[0-9]{1,13}$/);
    expect(await got).toEqual({ id, version: "1.0", params: { led: true } });
    const replied = broker!.waitForReply(id);
    await d.client.publishAsync(T + "property/set_reply", JSON.stringify({ id, code: 200, msg: "success" }), { qos: 0 });
    expect((await replied).json).toEqual({ id, code: 200, msg: "success" });
    expect((await replied).kind).toBe("set_reply");

    const gotGet = d.next("property/get");
    const gid = broker!.getProperty(PID, DEV, ["led"]);
    expect(gid).not.toBe(id);
    expect(await gotGet).toEqual({ id: gid, version: "1.0", params: ["led"] });
    const greply = broker!.waitForReply(gid);
    await d.client.publishAsync(T + "property/get_reply", JSON.stringify({ id: gid, code: 200, msg: "success", data: { led: true } }), { qos: 0 });
    expect((await greply).kind).toBe("get_reply");

    const gotInvoke = d.next("service/blink/invoke");
    const sid = broker!.invokeService(PID, DEV, "blink", { times: 3 });
    expect(await gotInvoke).toEqual({ id: sid, version: "1.0", params: { times: 3 } });
    const sreply = broker!.waitForReply(sid);
    await d.client.publishAsync(T + "service/blink/invoke_reply", JSON.stringify({ id: sid, code: 200, msg: "success", data: {} }), { qos: 0 });
    expect(await sreply).toMatchObject({ kind: "invoke_reply", serviceId: "blink" });

    const sets = broker!.history.filter((e) => e.type === "cloud-publish" && e.kind === "property/set");
    expect(sets).toMatchObject([{ delivered: true, id }]);
  });

  it("fails a set, a get and an invoke to an offline device with \"device not online\", keeping nothing", async () => {
    const lines: string[] = [];
    broker = new OneNetBroker({ devices: [{ productId: PID, deviceName: DEV, key: KEY }], log: (line) => lines.push(line) });
    await broker.listen();
    expect(() => broker!.setProperty(PID, DEV, { led: true })).toThrow(DeviceOfflineError);
    expect(() => broker!.setProperty(PID, DEV, { led: true })).toThrow("device not online");
    expect(() => broker!.getProperty(PID, DEV, ["led"])).toThrow(DeviceOfflineError);
    expect(() => broker!.invokeService(PID, DEV, "blink", {})).toThrow(DeviceOfflineError);
    // A set does not become a desired value, and nothing went out.
    expect(broker.desired(PID, DEV)).toEqual({});
    expect(broker.history.some((e) => e.type === "cloud-publish")).toBe(false);
    expect(lines).toContain(`broker: property/set to ${DEV} refused: device not online`);
  });

  it("keeps desired values with versions, returns them on desired/get, deletes them only at their version", async () => {
    const port = await start();
    expect(broker!.setDesired(PID, DEV, { led: true })).toEqual({ led: 1 });
    broker!.setDesired(PID, DEV, { led: false });
    expect(broker!.setDesired(PID, DEV, { led: true, level: 3 })).toEqual({ led: 3, level: 1 });
    expect(broker!.desired(PID, DEV)).toEqual({ led: { value: true, version: 3 }, level: { value: 3, version: 1 } });
    expect(broker!.history.filter((e) => e.type === "desired").map((e) => (e as { version?: number }).version)).toEqual([1, 2, 3, 1]);

    const d = await device(port);
    expect(d.messages).toEqual([]); // nothing is pushed: the device asks
    let reply = d.next("property/desired/get/reply");
    await d.client.publishAsync(T + "property/desired/get", JSON.stringify({ id: "11", version: "1.0", params: ["led", "absent"] }), { qos: 0 });
    expect(await reply).toEqual({ id: "11", code: 200, msg: "success", data: { led: { value: true, version: 3 } } });

    // A delete naming an older version keeps the newer value (it was set after the device read it).
    reply = d.next("property/desired/delete/reply");
    await d.client.publishAsync(T + "property/desired/delete", JSON.stringify({ id: "12", version: "1.0", params: { led: { version: 2 } } }), { qos: 0 });
    expect(await reply).toEqual({ id: "12", code: 200, msg: "success" });
    expect(broker!.desired(PID, DEV)["led"]).toEqual({ value: true, version: 3 });
    expect(broker!.history.find((e) => e.type === "desired" && e.action !== "set")).toMatchObject({ action: "kept-newer", name: "led", version: 2 });

    reply = d.next("property/desired/delete/reply");
    await d.client.publishAsync(T + "property/desired/delete", JSON.stringify({ id: "13", params: { led: { version: 3 } } }), { qos: 1 });
    expect(await reply).toMatchObject({ id: "13", code: 200 });
    expect(broker!.desired(PID, DEV)).toEqual({ level: { value: 3, version: 1 } });

    // No version: deleted whatever it is. Versions go on counting after a delete.
    reply = d.next("property/desired/delete/reply");
    await d.client.publishAsync(T + "property/desired/delete", JSON.stringify({ id: "14", params: { level: {} } }), { qos: 0 });
    expect(await reply).toMatchObject({ id: "14", code: 200 });
    expect(broker!.desired(PID, DEV)).toEqual({});
    expect(broker!.setDesired(PID, DEV, { led: false })).toEqual({ led: 4 });

    // Malformed requests: OneNET's 2402 "request format error".
    for (const params of [["led"], { led: true }, { led: { version: "3" } }]) {
      reply = d.next("property/desired/delete/reply");
      await d.client.publishAsync(T + "property/desired/delete", JSON.stringify({ id: "15", params }), { qos: 0 });
      expect(await reply).toEqual({ id: "15", code: 2402, msg: "request format error" });
    }
    expect(broker!.desired(PID, DEV)).toEqual({ led: { value: false, version: 4 } });
  });

  it("kick() closes the device's link", async () => {
    const port = await start();
    const d = await device(port);
    const closed = new Promise<void>((r) => d.client.once("close", () => r()));
    expect(broker!.kick(PID, DEV)).toBe(true);
    await closed;
    const ev = await broker!.waitFor((e) => e.type === "disconnected", 2000, 0);
    expect(ev).toMatchObject({ wasOnline: true, reason: "closed by the cloud" });
    expect(broker!.kick(PID, DEV)).toBe(false);
  });
});

describe("OneNetBroker restart", () => {
  it("drops every client, refuses TCP while down, comes back on the same port", async () => {
    const port = await start();
    const d = await device(port);
    const closed = new Promise<void>((r) => d.client.once("close", () => r()));
    const up = broker!.restart(300);
    await closed;
    expect(broker!.isOnline(PID, DEV)).toBe(false);
    expect(broker!.history.find((e) => e.type === "disconnected")).toMatchObject({ reason: "broker restart", wasOnline: true });
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => {
        s.destroy();
        resolve("connected");
      });
      s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    });
    expect(refused).toBe("ECONNREFUSED");
    await up;
    expect(broker!.history.some((e) => e.type === "up")).toBe(true);
    const again = await device(port);
    const reply = again.next("property/post/reply");
    await again.client.publishAsync(T + "property/post", JSON.stringify({ id: "3", params: { led: { value: true } } }), { qos: 1 });
    expect(await reply).toMatchObject({ id: "3", code: 200 });
  });

  it("refuses in-process links until the wall time passes the down window", async () => {
    let now = Date.UTC(2030, 0, 1);
    await start(() => now);
    void broker!.restart(5000);
    const [a, b] = duplexPair();
    const closedA = new Promise<void>((r) => b.once("close", () => r()));
    broker!.handle(a);
    await closedA;
    expect(broker!.history.filter((e) => e.type === "refused")).toHaveLength(1);
    now += 5000;
    const [c, dd] = duplexPair();
    broker!.handle(c);
    const raw = new RawClient(dd);
    ends.push(() => raw.end());
    await raw.connectOk();
    expect(broker!.isOnline(PID, DEV)).toBe(true);
  });
});

describe("OneNetBroker events", () => {
  it("waitFor looks back from a mark and times out", async () => {
    await start();
    const mark = broker!.mark();
    broker!.setDesired(PID, DEV, { led: true });
    const e = await broker!.waitFor((x: BrokerEvent) => x.type === "desired", 100, mark);
    expect(e.type).toBe("desired");
    await expect(broker!.waitFor((x) => x.type === "ban", 50)).rejects.toThrow(/no matching event/);
    const seen: string[] = [];
    const off = broker!.onEvent((x) => seen.push(x.type));
    broker!.setDesired(PID, DEV, { led: false });
    off();
    broker!.setDesired(PID, DEV, { led: true });
    expect(seen).toEqual(["desired"]);
  });
});
