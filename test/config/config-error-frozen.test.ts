/*
 * A preloaded Moddable image freezes the built-ins: Error.prototype.name is read-only there, and
 * an error class that assigns `this.name` throws "set name: not writable" instead of itself. The
 * STM32 image in QEMU showed it: a refused config came out as start-failed (npm run chip).
 */
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../firmware/config.js";

describe("ConfigError with frozen built-ins (a preloaded XS heap)", () => {
  const original = Object.getOwnPropertyDescriptor(Error.prototype, "name")!;
  afterEach(() => Object.defineProperty(Error.prototype, "name", original));

  it("is still a ConfigError naming the key", () => {
    Object.defineProperty(Error.prototype, "name", { ...original, writable: false });
    let caught: unknown;
    try {
      parseConfig({ ssid: "MyWiFi", password: "1234", product: "AbCdEf1234", device: "led1", key: "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).name).toBe("ConfigError");
    expect((caught as ConfigError).key).toBe("password");
  });
});
