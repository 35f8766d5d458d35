import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";

const running: Mosquitto[] = [];
afterEach(async () => {
  for (const m of running.splice(0)) await m.dispose();
});

function connect(url: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, clean: true });
}

function nextMessage(client: mqtt.MqttClient): Promise<{ topic: string; payload: string }> {
  return new Promise((resolve) => client.once("message", (topic, payload) => resolve({ topic, payload: payload.toString() })));
}

describe("Mosquitto test helper", () => {
  it("starts a broker on a loopback port that carries publish/subscribe, restarts on the same port, stops", async () => {
    const m = await startMosquitto();
    running.push(m);
    expect(m.running).toBe(true);
    expect(m.port).toBeGreaterThan(0);
    expect(m.url).toBe(`mqtt://127.0.0.1:${m.port}`);

    const sub = await connect(m.url);
    const pub = await connect(m.url);
    await sub.subscribeAsync("$sys/p/d/thing/property/set", { qos: 1 });
    const got = nextMessage(sub);
    await pub.publishAsync("$sys/p/d/thing/property/set", '{"id":"1","version":"1.0","params":{"led":true}}', { qos: 1 });
    expect(await got).toEqual({ topic: "$sys/p/d/thing/property/set", payload: '{"id":"1","version":"1.0","params":{"led":true}}' });

    const port = m.port;
    const closed = new Promise<void>((resolve) => sub.once("close", () => resolve()));
    await m.restart(100);
    await closed;
    expect(m.port).toBe(port);
    expect(m.running).toBe(true);

    // persistence false: the old subscription is gone after a restart; a new session works on the same port.
    const again = await connect(m.url);
    await again.subscribeAsync("t/x", { qos: 0 });
    const got2 = nextMessage(again);
    await again.publishAsync("t/x", "hello", { qos: 0 });
    expect((await got2).payload).toBe("hello");
    await again.endAsync();
    sub.end(true);
    pub.end(true);

    await m.stop();
    expect(m.running).toBe(false);
    await expect(connect(m.url)).rejects.toThrow();
  });
});
