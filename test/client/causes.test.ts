/*
 * The session's wait follows the cause the transport names (onClose's third argument): the
 * retry policy per cause, the named offline states, and retryNow().
 */
import { describe, expect, it } from "vitest";
import { causeClass, type LinkCause } from "../../firmware/transport.js";
import { nextSlotState } from "../../firmware/mqtt/client-inflight.js";
import { makeRig } from "./harness.js";

function failing(cause: LinkCause | undefined) {
  const rig = makeRig();
  rig.transport.openMode = "fail";
  rig.transport.failReason = "wifi-join-failed";
  rig.transport.failCause = cause;
  return rig;
}

describe("retry policy by cause", () => {
  it("sorts the transport's causes: credentials and missing networks wait long, unusable settings wait for a change", () => {
    expect(causeClass("wifi-wrong-password")).toBe("refused");
    expect(causeClass("wifi-ap-not-found")).toBe("refused");
    expect(causeClass("config-invalid")).toBe("config");
    for (const c of ["closed-by-peer", "wifi-lost", "module-reset", "connect-timeout", "send-failed", "wifi-timeout"] as const) expect(causeClass(c)).toBe("transient");
  });

  it("a wrong WiFi password: state refused, cause named, 30 s doubling to 4 min, never faster", () => {
    const rig = failing("wifi-wrong-password");
    rig.client.start();
    rig.clock.advance(60 * 60_000);
    expect(rig.client.state).toBe("refused");
    expect(rig.client.cause).toBe("wifi-wrong-password");
    const opens = rig.transport.opens;
    const gaps = opens.slice(1).map((t, i) => t - opens[i]);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(15_000);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(240_000 + 100);
    // An hour at 30 s .. 4 min: about 20 tries; a transient cause would have made ~70.
    expect(opens.length).toBeLessThan(30);
    expect(rig.handler.states).toContain("refused");
    // The owner fixed it: the next try gets in.
    rig.transport.openMode = "open";
    expect(rig.clock.runUntilTrue(() => rig.client.online, 4 * 60_000 + 1_000)).toBe(true);
    expect(rig.client.cause).toBeUndefined();
  });

  it("no cause (or a transient one): the usual 1 s doubling to 60 s, state backoff", () => {
    for (const cause of [undefined, "closed-by-peer"] as const) {
      const rig = failing(cause);
      rig.client.start();
      rig.clock.advance(60 * 60_000);
      expect(rig.client.state).toBe("backoff");
      expect(rig.transport.opens.length).toBeGreaterThan(50);
    }
  });

  it("settings no retry can cure: needs-config, no timer at all, until retryNow()", () => {
    const rig = failing("config-invalid");
    rig.client.start();
    rig.clock.advance(100);
    expect(rig.client.state).toBe("needs-config");
    expect(rig.client.cause).toBe("config-invalid");
    rig.clock.advance(24 * 60 * 60_000);
    expect(rig.transport.opens.length).toBe(1);
    expect(rig.logs.some((l) => l.includes("waiting for a configuration change"))).toBe(true);
    rig.transport.openMode = "open";
    rig.client.retryNow();
    expect(rig.clock.runUntilTrue(() => rig.client.online, 5_000)).toBe(true);
  });

  it("retryNow() cuts a long wait short but keeps OneNET's login cap", () => {
    const rig = failing("wifi-ap-not-found");
    rig.client.start();
    rig.clock.advance(10 * 60_000);
    expect(rig.client.state).toBe("refused");
    const before = rig.transport.opens.length;
    rig.transport.openMode = "open";
    rig.client.retryNow();
    rig.clock.advance(1_000);
    expect(rig.transport.opens.length).toBe(before + 1);
    expect(rig.clock.runUntilTrue(() => rig.client.online, 5_000)).toBe(true);
    rig.client.retryNow(); // online: nothing to cut short
    expect(rig.transport.opens.length).toBe(before + 1);
  });

  it("CONNACK 4 is refused by the server: state refused, the 2 to 30 min back-off", () => {
    const rig = makeRig();
    rig.server.connackCode = 4;
    rig.client.start();
    rig.clock.advance(60 * 60_000);
    expect(rig.client.state).toBe("refused");
    expect(rig.client.cause).toBe("connack-bad-credentials");
    expect(rig.client.stats.connects).toBeLessThanOrEqual(6);
  });
});

describe("in-flight slot states", () => {
  it("move only through the transition function", () => {
    expect(nextSlotState("puback-pending", "puback")).toBe("free");
    expect(nextSlotState("pubrec-pending", "puback")).toBeNull();
    expect(nextSlotState("pubrec-pending", "pubrec")).toBe("pubcomp-pending");
    expect(nextSlotState("pubcomp-pending", "pubrec")).toBe("pubcomp-pending");
    expect(nextSlotState("pubcomp-pending", "pubcomp")).toBe("free");
    expect(nextSlotState("pubrec-pending", "pubcomp")).toBeNull();
    expect(nextSlotState("free", "puback")).toBeNull();
  });
});
