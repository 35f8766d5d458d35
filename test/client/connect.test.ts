import { describe, expect, it } from "vitest";
import { makeRig } from "./harness.js";

describe("MqttClient connect", () => {
  it("connects, subscribes and goes online with a fresh password each CONNECT", () => {
    const rig = makeRig();
    const { clock, client, server, handler } = rig;
    client.start();
    expect(clock.runUntilTrue(() => client.online, 5000)).toBe(true);
    const connect = server.of("connect")[0].packet as any;
    expect(connect.clientId).toBe("test1");
    expect(connect.username).toBe("L14FCC38pq");
    expect(connect.password.toString()).toBe("token-1");
    expect(connect.keepalive).toBe(60);
    expect(connect.clean).toBe(true);
    const subscribe = server.of("subscribe")[0].packet as any;
    expect(subscribe.subscriptions).toEqual([{ topic: "$sys/L14FCC38pq/test1/thing/#", qos: 0 }]);
    expect(handler.events).toEqual(["online"]);
    expect(handler.states).toEqual(["opening", "connecting", "subscribing", "online"]);
    // Second connect after a drop: a new token.
    rig.transport.drop("closed-by-peer");
    expect(clock.runUntilTrue(() => handler.events.length === 3, 120_000)).toBe(true);
    expect(handler.events).toEqual(["online", "offline:closed-by-peer", "online"]);
    const second = server.of("connect")[1].packet as any;
    expect(second.password.toString()).toBe("token-2");
    expect(rig.passwords).toEqual(["token-1", "token-2"]);
    // The token never reaches the logs.
    expect(rig.logs.join("\n")).not.toContain("token-");
    expect(clock.errors).toEqual([]);
  });
});
