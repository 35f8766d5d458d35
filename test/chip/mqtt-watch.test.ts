/*
 * The session of a device we cannot look inside, read off its TCP link (host-sim/chip/mqtt-watch.ts).
 */
import mqttPacket from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { MqttWatch } from "../../host-sim/chip/mqtt-watch.js";

const bytes = (packet: mqttPacket.Packet) => new Uint8Array(mqttPacket.generate(packet));

describe("MqttWatch", () => {
  it("follows open -> CONNECT -> CONNACK -> SUBACK -> online -> close, split anywhere, and counts", () => {
    const states: string[] = [];
    const watch = new MqttWatch((s) => states.push(s));
    watch.open(1);
    const up = bytes({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId: "test1", clean: true, keepalive: 120, username: "p", password: Buffer.from("secret") });
    for (const b of up) watch.up(1, Uint8Array.of(b));
    const down = new Uint8Array([...bytes({ cmd: "connack", returnCode: 0, sessionPresent: false }), ...bytes({ cmd: "suback", messageId: 1, granted: [0] })]);
    watch.down(1, down.subarray(0, 5)); // the CONNACK and a byte of the SUBACK
    expect(watch.state).toBe("subscribing");
    watch.down(1, down.subarray(5));
    expect(watch.online).toBe(true);
    watch.up(1, bytes({ cmd: "publish", topic: "$sys/p/test1/thing/property/post", payload: "{}", qos: 0, retain: false, dup: false }));
    watch.close(1);
    expect(states).toEqual(["opening", "connecting", "subscribing", "online", "backoff"]);
    expect(watch.stats).toMatchObject({ connects: 1, connacks: 1, subacks: 1, publishesUp: 1, links: 1 });
  });

  it("reports a refused login and ignores links that are not the session's", () => {
    const watch = new MqttWatch();
    watch.open(1);
    watch.open(2);
    watch.up(2, bytes({ cmd: "connect", protocolId: "MQTT", protocolVersion: 4, clientId: "x", clean: true, keepalive: 60 }));
    watch.down(2, bytes({ cmd: "connack", returnCode: 4, sessionPresent: false }));
    expect(watch.lastRefusal).toBe(4);
    expect(watch.state).toBe("closing");
    watch.down(1, bytes({ cmd: "connack", returnCode: 0, sessionPresent: false })); // an old link
    expect(watch.state).toBe("closing");
    expect(watch.stats).toMatchObject({ connects: 1, connacks: 1, refusals: 1 });
  });
});
