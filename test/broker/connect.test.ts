import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { OneNetBroker, type BrokerEvent } from "../../host-sim/broker/onenet-broker.js";
import { DEV, KEY, PID, RawClient, sleep, token } from "./support.js";

let broker: OneNetBroker | undefined;
const clients: { end(): void }[] = [];
/** The broker's wall clock: connackCode() moves it 2 s per login, within OneNET's 3 logins per 5 s. */
let now = Date.UTC(2030, 0, 1);
afterEach(async () => {
  for (const c of clients.splice(0)) c.end();
  await broker?.close();
  broker = undefined;
});

async function start(log?: (line: string) => void): Promise<number> {
  now = Date.UTC(2030, 0, 1);
  broker = new OneNetBroker({
    devices: [
      { productId: PID, deviceName: DEV, key: KEY },
      { productId: PID, deviceName: "other", key: "b3RoZXJrZXlvdGhlcmtleW90aGVya2V5b3RoZXJrZXk=" },
    ],
    wallTime: () => now,
    ...(log ? { log } : {}),
  });
  return broker.listen();
}

async function raw(port: number): Promise<RawClient> {
  const c = await RawClient.tcp(port);
  clients.push(c);
  return c;
}

async function connackCode(port: number, overrides: Record<string, unknown>, stepMs = 2_000): Promise<number> {
  now += stepMs;
  const c = await raw(port);
  c.connect(overrides);
  const ack = (await c.next("connack")) as { returnCode: number };
  if (ack.returnCode !== 0) await c.waitClosed();
  return ack.returnCode;
}

describe("OneNetBroker CONNECT", () => {
  it("accepts a good token from the npm mqtt client with CONNACK 0 and reports the device online", async () => {
    const port = await start();
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 4,
      clientId: DEV,
      username: PID,
      password: token(),
      keepalive: 60,
      clean: true,
      reconnectPeriod: 0,
    });
    clients.push({ end: () => client.end(true) });
    const ev = await broker!.waitFor((e) => e.type === "connack", 2000, 0);
    expect(ev).toMatchObject({ type: "connack", productId: PID, deviceName: DEV, returnCode: 0 });
    expect(broker!.isOnline(PID, DEV)).toBe(true);
    client.end(true);
    await broker!.waitFor((e) => e.type === "disconnected", 2000, 0);
    expect(broker!.isOnline(PID, DEV)).toBe(false);
  });

  it("refuses wrong, expired and mismatched tokens with CONNACK 4 and closes", async () => {
    const port = await start();
    expect(await connackCode(port, {})).toBe(0);
    expect(await connackCode(port, { password: Buffer.from(token({ key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" })) })).toBe(4);
    expect(await connackCode(port, { password: Buffer.from(token({ et: Math.floor(now / 1000) + 1 })) })).toBe(4);
    // token for another device presented under this client id, and vice versa
    expect(await connackCode(port, { password: Buffer.from(token({ res: `products/${PID}/devices/other` })) })).toBe(4);
    expect(await connackCode(port, { clientId: "other" })).toBe(4);
    // user name must be the product id of res
    expect(await connackCode(port, { username: "WRONGPID00" })).toBe(4);
    // unknown device, missing password, garbage password
    expect(await connackCode(port, { clientId: "ghost", password: Buffer.from(token({ res: `products/${PID}/devices/ghost` })) })).toBe(4);
    expect(await connackCode(port, { password: undefined })).toBe(4);
    expect(await connackCode(port, { password: Buffer.from("hello") })).toBe(4);
    for (const method of ["md5", "sha256"] as const) expect(await connackCode(port, { password: Buffer.from(token({ method })) })).toBe(0);
    const refusals = broker!.history.filter((e) => e.type === "connack" && e.returnCode === 4);
    expect(refusals).toHaveLength(8);
    // the reason is named, and never carries the token or key
    for (const e of refusals) {
      expect((e as { reason?: string }).reason).toMatch(/^token: (bad_sign|expired|bad_res|malformed|no_key)$|^user name and password required$/);
      expect(JSON.stringify(e)).not.toContain("sign=");
      expect(JSON.stringify(e)).not.toContain(KEY);
    }
  });

  it("expires tokens by the injected wall time", async () => {
    const port = await start();
    const et = Math.floor(now / 1000) + 60;
    expect(await connackCode(port, { password: Buffer.from(token({ et })) })).toBe(0);
    now += 61_000;
    expect(await connackCode(port, { password: Buffer.from(token({ et })) })).toBe(4);
  });

  const violations: [string, Record<string, unknown>, RegExp][] = [
    ["clean session 0", { clean: false }, /clean session/],
    ["a will", { will: { topic: `$sys/${PID}/${DEV}/thing/event/post`, payload: Buffer.from("x"), qos: 0, retain: false } }, /will/],
    ["keepalive 0", { keepalive: 0 }, /keepalive/],
    ["keepalive 9", { keepalive: 9 }, /keepalive/],
    ["keepalive 1801", { keepalive: 1801 }, /keepalive/],
    ["protocol level 3", { protocolId: "MQIsdp", protocolVersion: 3 }, /protocol level/],
  ];
  for (const [name, overrides, reason] of violations) {
    it(`closes the link without CONNACK on ${name}`, async () => {
      const port = await start();
      const c = await raw(port);
      c.connect(overrides);
      await c.waitClosed();
      expect(c.packets).toEqual([]);
      const ev = (await broker!.waitFor((e) => e.type === "disconnected", 2000, 0)) as Extract<BrokerEvent, { type: "disconnected" }>;
      expect(ev.reason).toMatch(reason);
      expect(ev.wasOnline).toBe(false);
    });
  }

  it("accepts keepalive at both ends of 10..1800", async () => {
    const port = await start();
    expect(await connackCode(port, { keepalive: 10 })).toBe(0);
    expect(await connackCode(port, { keepalive: 1800 })).toBe(0);
  });

  it("closes the link on a second CONNECT", async () => {
    const port = await start();
    const c = await raw(port);
    await c.connectOk();
    c.connect();
    await c.waitClosed();
    expect(c.packets.filter((p) => p.cmd === "connack")).toHaveLength(1);
  });

  it("closes the link when a device publishes with QoS 2, with retain, or outside its own topics", async () => {
    const port = await start();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ qos: 2, messageId: 1, topic: `$sys/${PID}/${DEV}/thing/property/post` }, /QoS 2/],
      [{ qos: 0, retain: true, topic: `$sys/${PID}/${DEV}/thing/property/post` }, /retain/],
      [{ qos: 0, topic: `$sys/${PID}/other/thing/property/post` }, /may not use/],
      [{ qos: 0, topic: `$sys/${PID}/${DEV}/thing/property/set` }, /may not use/],
      [{ qos: 1, messageId: 2, topic: "anything/else" }, /may not use/],
    ];
    for (const [pub, reason] of cases) {
      now += 2_000;
      const c = await raw(port);
      await c.connectOk();
      const mark = broker!.mark();
      c.send({ cmd: "publish", retain: false, dup: false, payload: Buffer.from('{"id":"1","params":{}}'), ...pub });
      await c.waitClosed();
      expect(c.packets.map((p) => p.cmd)).toEqual(["connack"]);
      const ev = (await broker!.waitFor((e) => e.type === "disconnected", 2000, mark)) as Extract<BrokerEvent, { type: "disconnected" }>;
      expect(ev.reason).toMatch(reason);
      expect(ev.wasOnline).toBe(true);
    }
    expect(broker!.history.some((e) => e.type === "device-publish")).toBe(false);
  });

  it("refuses the 4th login in 5 s with CONNACK 3, naming OneNET's limit; bans for 5 minutes after more than 10", async () => {
    const lines: string[] = [];
    const port = await start((line) => lines.push(line));
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) codes.push(await connackCode(port, {}, 100));
    expect(codes).toEqual([0, 0, 0, 3, 3, 3, 3, 3, 3, 3]);
    const limits = broker!.history.filter((e) => e.type === "limit");
    expect(limits).toHaveLength(7);
    expect(limits[0]).toMatchObject({ limit: "login-rate", reaction: "refused with CONNACK 3", deviceName: DEV, detail: "login 4 in 5 s, OneNET allows 3" });
    expect(lines).toContain(`broker: ${DEV}: OneNET limit login-rate: refused with CONNACK 3 (login 4 in 5 s, OneNET allows 3)`);
    expect(broker!.history.find((e) => e.type === "connack" && e.returnCode === 3)).toMatchObject({ reason: "login rate: login 4 in 5 s, OneNET allows 3" });
    expect(broker!.history.some((e) => e.type === "ban")).toBe(false);
    expect(await connackCode(port, {}, 100)).toBe(3);
    expect(broker!.history.find((e) => e.type === "ban")).toMatchObject({ productId: PID, deviceName: DEV, untilMs: now + 5 * 60_000 });
    now += 4 * 60_000;
    expect(await connackCode(port, {})).toBe(3);
    // another device is not affected
    expect(await connackCode(port, { clientId: "other", password: Buffer.from(token({ key: "b3RoZXJrZXlvdGhlcmtleW90aGVya2V5b3RoZXJrZXk=", res: `products/${PID}/devices/other` })) })).toBe(0);
    now += 60_000 + 1;
    expect(await connackCode(port, {})).toBe(0);
  });

  it("admits 3 logins in 5 s, again once the window has moved on, and any number spread out", async () => {
    const port = await start();
    expect([await connackCode(port, {}, 0), await connackCode(port, {}, 1_000), await connackCode(port, {}, 1_000)]).toEqual([0, 0, 0]);
    expect(await connackCode(port, {}, 2_999)).toBe(3);
    // A refused attempt counts too: 5 s after it, the window holds only that one.
    expect(await connackCode(port, {}, 5_000)).toBe(0);
    now += 10_000;
    for (let i = 0; i < 30; i++) expect(await connackCode(port, {}, 1_700)).toBe(0);
    expect(broker!.history.some((e) => e.type === "ban")).toBe(false);
  });

  it("takes over a link when the same device connects again", async () => {
    const port = await start();
    const a = await raw(port);
    await a.connectOk();
    const b = await raw(port);
    await b.connectOk();
    await a.waitClosed();
    await sleep(20);
    expect(broker!.isOnline(PID, DEV)).toBe(true);
    expect(b.closed).toBe(false);
  });
});
