/*
 * The session against a real broker nobody here wrote (Aedes, in-process on loopback TCP) and a
 * real MQTT client (npm mqtt) as the other party, in real time: interop, QoS 1/2 both ways, and a
 * broker restart in the middle.
 */
import { Aedes } from "aedes";
import mqtt from "mqtt";
import net from "node:net";
import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { RealTimeDriver, VirtualClock } from "../../host-sim/clock.js";
import type { LinkDownReason, Transport, TransportEvents } from "../../firmware/transport.js";
import { MqttClient } from "../../firmware/mqtt/client.js";
import { Recorder, bytes } from "./harness.js";

/** A Transport over a Node socket, events delivered on the virtual clock's loop like a board's. */
class SocketTransport implements Transport {
  private socket: net.Socket | undefined;
  sendSpace = 8192;
  constructor(private readonly clock: VirtualClock, private readonly port: () => number) {}
  open(events: TransportEvents): void {
    const socket = net.connect(this.port(), "127.0.0.1");
    this.socket = socket;
    let closed = false;
    const close = (reason: LinkDownReason, detail: string) => {
      if (closed) return;
      closed = true;
      if (this.socket === socket) this.socket = undefined;
      this.clock.setTimeout(() => events.onClose(reason, detail), 0);
    };
    socket.on("connect", () => this.clock.setTimeout(() => events.onOpen(), 0));
    socket.on("data", (data: Buffer) => {
      const copy = Uint8Array.from(data);
      this.clock.setTimeout(() => events.onData(copy, 0, copy.length), 0);
    });
    socket.on("error", (error) => close(socket.connecting ? "connect-failed" : "closed-by-peer", error.message));
    socket.on("close", () => close(this.socket === socket ? "closed-by-peer" : "closed-by-us", ""));
  }
  send(bytes: Uint8Array, offset: number, length: number): boolean {
    if (!this.socket || this.socket.connecting) return false;
    this.socket.write(Buffer.from(bytes.subarray(offset, offset + length)));
    return true;
  }
  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
  }
}

async function until(predicate: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function startBroker(port = 0): Promise<{ port: number; stop: () => Promise<void> }> {
  const aedes = new Aedes();
  await aedes.listen();
  const server = net.createServer((socket) => aedes.handle(socket));
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  const address = server.address() as net.AddressInfo;
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const socket of sockets) socket.destroy();
    await closed;
    await new Promise<void>((r) => aedes.close(() => r()));
  };
  return { port: address.port, stop };
}

describe("MqttClient against Aedes", () => {
  it("QoS 0/1/2 both ways with a real broker and client, and survives a broker restart", async () => {
    let broker = await startBroker();
    const port = broker.port;
    cleanups.push(() => broker.stop());
    const clock = new VirtualClock();
    const driver = new RealTimeDriver(clock, 2);
    driver.startDriving();
    cleanups.push(() => driver.stop());
    const handler = new Recorder(clock);
    const transport = new SocketTransport(clock, () => port);
    const client = new MqttClient(
      { clock, log: () => {}, random: Math.random },
      transport,
      {
        clientId: "device-1",
        username: "product",
        writePassword: (out, offset) => Buffer.from("secret").copy(out, offset),
        keepaliveS: 10,
        subscriptions: [{ topic: "cmd/#", qos: 2 }],
        backoff: { initialMs: 100, maxMs: 400 },
      },
      handler,
    );
    cleanups.push(() => client.stop());
    client.start();
    await until(() => client.online, 5000);

    const cloud = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: "cloud", reconnectPeriod: 100 });
    cleanups.push(() => cloud.endAsync(true));
    const got: { topic: string; payload: string; qos: number }[] = [];
    cloud.on("message", (topic, payload, packet) => got.push({ topic, payload: payload.toString(), qos: packet.qos }));
    await cloud.subscribeAsync("up/#", { qos: 2 });

    expect(client.publish("up/q0", bytes("zero"), 0, 4, 0)).toBe("sent");
    expect(client.publish("up/q1", bytes("one"), 0, 3, 1)).toBe("sent");
    expect(client.publish("up/q2", bytes("two"), 0, 3, 2)).toBe("sent");
    await until(() => got.length === 3 && handler.acked.length === 2, 5000);
    expect(got.map((m) => `${m.topic}:${m.payload}:${m.qos}`).sort()).toEqual(["up/q0:zero:0", "up/q1:one:1", "up/q2:two:2"]);

    await cloud.publishAsync("cmd/a", "A", { qos: 0 });
    await cloud.publishAsync("cmd/b", "B", { qos: 1 });
    await cloud.publishAsync("cmd/c", "C", { qos: 2 });
    await until(() => handler.messages.length === 3, 5000);
    expect(handler.messages.map((m) => `${m.topic}:${m.payload}:${m.qos}`)).toEqual(["cmd/a:A:0", "cmd/b:B:1", "cmd/c:C:2"]);

    // Broker restart: every link dropped, port closed for a moment, then back.
    await broker.stop();
    await until(() => !client.online, 5000);
    expect(client.publish("up/q1", bytes("while-down"), 0, 10, 1)).toBe("queued");
    await new Promise((r) => setTimeout(r, 300));
    broker = await startBroker(port);
    await until(() => client.online, 10_000);
    await until(() => cloud.connected, 5000);
    await cloud.subscribeAsync("up/#", { qos: 2 });
    // The message queued while the broker was down was resent on the new link; the cloud may have
    // subscribed after it arrived, so publish one more and check the session acknowledges both.
    await until(() => handler.acked.length === 3, 5000);
    expect(client.publish("up/q1", bytes("after"), 0, 5, 1)).toBe("sent");
    await until(() => got.some((m) => m.payload === "after"), 5000);
    expect(handler.offline.map((o) => o.reason)).toContain("closed-by-peer");
    expect(handler.errors.filter((e) => e.code !== "connect-failed")).toEqual([]);
    expect(clock.errors).toEqual([]);
  }, 30_000);
});
