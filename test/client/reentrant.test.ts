/*
 * A transport that calls back from inside the client's own calls (onOpen from open(), the server's
 * answer from inside send(), onClose from close()). The board seam forbids this, but a transport
 * written without care might do it: the session must stay correct.
 */
import mqttPacket from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../host-sim/clock.js";
import type { Transport, TransportEvents } from "../../firmware/transport.js";
import { MqttClient } from "../../firmware/mqtt/client.js";
import { Recorder, bytes } from "./harness.js";

class SyncTransport implements Transport {
  events: TransportEvents | undefined;
  up = false;
  sendSpace = 4096;
  sent: Packet[] = [];
  answerPing = true;
  private parser = mqttPacket.parser({ protocolVersion: 4 });
  constructor() {
    this.parser.on("packet", (p: Packet & Record<string, any>) => {
      this.sent.push(p);
      const reply = (packet: Record<string, unknown>) => {
        const b = mqttPacket.generate(packet as unknown as Packet);
        this.events?.onData(Uint8Array.from(b), 0, b.length);
      };
      if (p.cmd === "connect") reply({ cmd: "connack", returnCode: 0, sessionPresent: false });
      if (p.cmd === "subscribe") reply({ cmd: "suback", messageId: p.messageId, granted: [0] });
      if (p.cmd === "pingreq" && this.answerPing) reply({ cmd: "pingresp" });
      if (p.cmd === "publish" && p.qos === 1) reply({ cmd: "puback", messageId: p.messageId });
      if (p.cmd === "publish" && p.qos === 2) reply({ cmd: "pubrec", messageId: p.messageId });
      if (p.cmd === "pubrel") reply({ cmd: "pubcomp", messageId: p.messageId });
    });
  }
  open(events: TransportEvents): void {
    this.events = events;
    this.up = true;
    events.onOpen();
  }
  private queue: Buffer[] = [];
  private parsing = false;
  send(b: Uint8Array, offset: number, length: number): boolean {
    if (!this.up) return false;
    // mqtt-packet's parser is not re-entrant: packets the client sends while the parser is busy
    // wait for it, but the answers still come back from inside the client's own send() call.
    this.queue.push(Buffer.from(b.subarray(offset, offset + length)));
    if (this.parsing) return true;
    this.parsing = true;
    try {
      while (this.queue.length) this.parser.parse(this.queue.shift()!);
    } finally {
      this.parsing = false;
    }
    return true;
  }
  close(): void {
    if (!this.up) return;
    this.up = false;
    this.events?.onClose("closed-by-us", "");
  }
}

describe("MqttClient with a re-entrant transport", () => {
  it("connects, publishes QoS 0/1/2, pings and recovers without confusion", () => {
    const clock = new VirtualClock();
    const transport = new SyncTransport();
    const handler = new Recorder(clock);
    const client = new MqttClient({ clock, log: () => {}, random: () => 0.5 }, transport, {
      clientId: "d",
      keepaliveS: 10,
      subscriptions: [{ topic: "t/#", qos: 0 }],
    }, handler);
    client.start();
    expect(client.online).toBe(true); // all of it happened inside start()
    expect(client.publish("a", bytes("1"), 0, 1, 1)).toBe("sent");
    expect(client.publish("a", bytes("2"), 0, 1, 2)).toBe("sent");
    expect(handler.acked).toHaveLength(2);
    expect(client.inflight.used).toBe(0);
    expect(client.stats.published).toBe(2);
    expect(client.stats.retransmissions).toBe(0);
    clock.advance(600_000);
    expect(client.online).toBe(true);
    expect(client.stats.pingsSent).toBeGreaterThan(70);
    expect(handler.errors).toEqual([]);
    // A dead link is still found, and the close from inside close() is handled.
    transport.answerPing = false;
    clock.advance(20_000);
    expect(handler.offline.map((o) => o.reason)).toEqual(["keepalive-timeout"]);
    transport.answerPing = true;
    clock.advance(5_000);
    expect(client.online).toBe(true);
    client.stop();
    expect(client.state).toBe("stopped");
    expect(clock.errors).toEqual([]);
  });
});
