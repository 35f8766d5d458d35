// The broker behind the emulator's in-memory network, as the simulator wires it.
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../host-sim/clock.js";
import { MemoryNetwork, pumpUntil } from "../../host-sim/network.js";
import { OneNetBroker } from "../../host-sim/broker/onenet-broker.js";
import seed from "../fixtures/seed-vectors.json" with { type: "json" };

const hex = (s: string) => Uint8Array.from(s.split(/\s+/).filter(Boolean).map((h) => parseInt(h, 16)));

describe("OneNetBroker on the MemoryNetwork", () => {
  it("answers the seed CONNECT and SUBSCRIBE over an in-memory link, in virtual time", async () => {
    const clock = new VirtualClock();
    const broker = new OneNetBroker({
      devices: [{ productId: seed.onenet.product_id, deviceName: seed.onenet.device_name, key: seed.onenet.device_key }],
      wallTime: () => Date.UTC(2026, 0, 1) + clock.now(),
    });
    try {
      const network = new MemoryNetwork().listen("mqtts.heclouds.com", 1883, (s) => broker.handle(s));
      const received: number[] = [];
      let connected = false;
      let closed = false;
      const link = network.connect(
        { host: "mqtts.heclouds.com", port: 1883, tls: false },
        {
          onConnect: () => (connected = true),
          onData: (b) => received.push(...b),
          onClose: () => (closed = true),
        },
      );
      expect(await pumpUntil(clock, () => connected, 1000)).toBe(true);
      link.write(hex(seed.packets.connect.hex));
      expect(await pumpUntil(clock, () => received.length >= 4, 1000)).toBe(true);
      expect(received.slice(0, 4)).toEqual(Array.from(hex(seed.packets.connack_accepted.hex)));
      link.write(hex(seed.packets.subscribe.hex));
      expect(await pumpUntil(clock, () => received.length >= 9, 1000)).toBe(true);
      expect(received.slice(4)).toEqual(Array.from(hex(seed.packets.suback.hex)));

      const setId = broker.setProperty(seed.onenet.product_id, seed.onenet.device_name, { led: true });
      // the PUBLISH arrives in pieces (header, topic, payload): wait for all of it
      expect(await pumpUntil(clock, () => Buffer.from(received).toString("latin1").endsWith("}}"), 1000)).toBe(true);
      expect(received[9]).toBe(0x30); // QoS 0, no retain, no DUP
      expect(Buffer.from(received.slice(9)).toString("latin1")).toContain(`{"id":"${setId}","version":"1.0","params":{"led":true}}`);

      link.close();
      expect(await pumpUntil(clock, () => !broker.isOnline(seed.onenet.product_id, seed.onenet.device_name), 1000)).toBe(true);
      expect(closed).toBe(false); // we closed it: no event for our own close
    } finally {
      await broker.close();
    }
  });
});
