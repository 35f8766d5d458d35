import { describe, expect, it } from "vitest";
import { ConfigError, type ConfigErrorCode, connectSizeBound, parseConfig, utf8Length } from "../../firmware/config.js";

const KEY = "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=";
const PASSWORD = "s3cret-Wifi-pass";

function base(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ssid: "home", password: PASSWORD, product: "L14FCC38pq", device: "test1", key: KEY, ...extra };
}

function fails(raw: Record<string, unknown>, key: string, code: ConfigErrorCode): ConfigError {
  let caught: unknown;
  try {
    parseConfig(raw);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const err = caught as ConfigError;
  expect({ key: err.key, code: err.code }).toEqual({ key, code });
  expect(err.message).toContain(`"${key}"`);
  // No secret ever appears in a message, whatever key failed.
  for (const v of Object.values(raw)) {
    if (typeof v === "string" && v.length >= 6) expect(err.message).not.toContain(v);
  }
  expect(err.message).not.toContain(PASSWORD);
  expect(err.message).not.toContain(KEY);
  return err;
}

describe("parseConfig defaults", () => {
  it("fills OneNET defaults", () => {
    const c = parseConfig(base());
    expect(c).toEqual({
      wifi: { ssid: "home", password: PASSWORD },
      onenet: {
        productId: "L14FCC38pq",
        deviceName: "test1",
        key: KEY,
        keyKind: "device",
        method: "sha1",
        tokenLifetimeS: 30 * 24 * 3600,
        farFutureEt: 4102444800,
      },
      mqtt: { host: "mqtts.heclouds.com", port: 1883, tls: false, tlsVerify: false, tlsServerName: "", keepaliveS: 120, bufferSize: 1024 },
      led: { identifier: "led", activeLow: false },
      at: { receiveMode: "passive", passiveReadSize: 512 },
    });
  });

  it("switches host and port with tls", () => {
    const c = parseConfig(base({ tls: "true" }));
    expect(c.mqtt).toMatchObject({ host: "mqttstls.heclouds.com", port: 8883, tls: true });
    const d = parseConfig(base({ tls: true, host: "broker.local", port: "9000" }));
    expect(d.mqtt).toMatchObject({ host: "broker.local", port: 9000, tls: true });
  });

  it("tlsVerify: on by default with tls, off without; asked for without tls is refused", () => {
    expect(parseConfig(base({ tls: true })).mqtt.tlsVerify).toBe(true);
    expect(parseConfig(base({ tls: "on", tlsVerify: "" })).mqtt.tlsVerify).toBe(true);
    expect(parseConfig(base({ tls: true, tlsVerify: "false" })).mqtt).toMatchObject({ tls: true, tlsVerify: false });
    expect(parseConfig(base({ tls: true, tlsVerify: 0 })).mqtt.tlsVerify).toBe(false);
    expect(parseConfig(base()).mqtt.tlsVerify).toBe(false);
    expect(parseConfig(base({ tls: false, tlsVerify: "no" })).mqtt).toMatchObject({ tls: false, tlsVerify: false });
    const e = fails(base({ tlsVerify: true }), "tlsVerify", "needs-tls");
    expect(e.message).toContain("tls");
    fails(base({ tls: "false", tlsVerify: "yes" }), "tlsVerify", "needs-tls");
    fails(base({ tls: true, tlsVerify: "sometimes" }), "tlsVerify", "not-boolean");
  });

  it("tlsServerName: a host name (or address) of at most 64 characters, with tls only", () => {
    expect(parseConfig(base({ tls: true })).mqtt.tlsServerName).toBe("");
    expect(parseConfig(base({ tls: true, host: "183.230.40.16", tlsServerName: " mqttstls.heclouds.com " })).mqtt).toMatchObject({
      host: "183.230.40.16",
      tlsServerName: "mqttstls.heclouds.com",
    });
    expect(parseConfig(base({ tlsServerName: "" })).mqtt.tlsServerName).toBe("");
    fails(base({ tlsServerName: "mqttstls.heclouds.com" }), "tlsServerName", "needs-tls");
    fails(base({ tls: true, tlsServerName: 'a",b' }), "tlsServerName", "bad-format");
    fails(base({ tls: true, tlsServerName: `${"a".repeat(61)}.com` }), "tlsServerName", "bad-length");
    expect(parseConfig(base({ tls: true, tlsServerName: `${"a".repeat(60)}.com` })).mqtt.tlsServerName).toHaveLength(64);
  });

  it("treats empty strings as absent for optional keys (manifest defaults)", () => {
    const c = parseConfig(base({ host: "", port: "", keepalive: "", method: "", ledIdentifier: "", tls: "" }));
    expect(c.mqtt).toMatchObject({ host: "mqtts.heclouds.com", port: 1883, keepaliveS: 120 });
    expect(c.onenet.method).toBe("sha1");
    expect(c.led.identifier).toBe("led");
  });

  it("accepts an open network (empty password)", () => {
    expect(parseConfig(base({ password: "" })).wifi.password).toBe("");
    expect(parseConfig(base({ password: undefined })).wifi.password).toBe("");
  });
});

describe("parseConfig with mcconfig strings", () => {
  it("parses every boolean spelling", () => {
    for (const t of ["true", "1", "yes", "on", "TRUE", " On ", true, 1]) {
      expect(parseConfig(base({ ledActiveLow: t })).led.activeLow).toBe(true);
    }
    for (const f of ["false", "0", "no", "off", "False", false, 0]) {
      expect(parseConfig(base({ ledActiveLow: f })).led.activeLow).toBe(false);
    }
  });

  it("parses numbers given as strings", () => {
    const c = parseConfig(
      base({ port: "1884", keepalive: " 60 ", bufferSize: "2048", tokenLifetime: "3600", farFutureEt: "7557387130" }),
    );
    expect(c.mqtt).toMatchObject({ port: 1884, keepaliveS: 60, bufferSize: 2048 });
    expect(c.onenet).toMatchObject({ tokenLifetimeS: 3600, farFutureEt: 7557387130 });
  });

  it("parses choices case-insensitively", () => {
    const c = parseConfig(base({ method: "SHA256", keyKind: "Product", receiveMode: "ACTIVE" }));
    expect(c.onenet).toMatchObject({ method: "sha256", keyKind: "product" });
    expect(c.at.receiveMode).toBe("active");
    expect(parseConfig(base({ receiveMode: "transparent" })).at.receiveMode).toBe("transparent");
  });

  it("takes numbers for text keys (product id typed as a number in JSON)", () => {
    expect(parseConfig(base({ product: 238322 })).onenet.productId).toBe("238322");
  });
});

describe("parseConfig errors", () => {
  it("missing required keys", () => {
    fails(base({ ssid: undefined }), "ssid", "missing");
    fails(base({ ssid: "" }), "ssid", "missing");
    fails(base({ product: "" }), "product", "missing");
    fails(base({ device: undefined }), "device", "missing");
    fails(base({ key: "" }), "key", "missing");
  });

  it("ssid and password lengths in bytes, not characters", () => {
    expect(utf8Length("家")).toBe(3);
    expect(utf8Length("😀")).toBe(4);
    expect(parseConfig(base({ ssid: "x".repeat(32) })).wifi.ssid).toHaveLength(32);
    fails(base({ ssid: "x".repeat(33) }), "ssid", "bad-length");
    expect(parseConfig(base({ ssid: "家".repeat(10) })).wifi.ssid).toBe("家".repeat(10)); // 30 bytes
    fails(base({ ssid: "家".repeat(11) }), "ssid", "bad-length"); // 33 bytes
    fails(base({ password: "short12" }), "password", "bad-length");
    expect(parseConfig(base({ password: "12345678" })).wifi.password).toBe("12345678");
    expect(parseConfig(base({ password: "p".repeat(64) })).wifi.password).toHaveLength(64);
    fails(base({ password: "p".repeat(65) }), "password", "bad-length");
    fails(base({ password: "密码密码密码密码密码密码密码密码密码密码密码密码" }), "password", "bad-length"); // 72 bytes
  });

  it("never shows the password, even when it is the bad value", () => {
    const err = fails(base({ password: "hunter7" }), "password", "bad-length");
    expect(err.message).not.toContain("hunter7");
    expect(err.message).toContain("7");
  });

  it("rejects product ids and device names that would break topics", () => {
    for (const bad of ["a/b", "a+b", "a#b", "a b", "a\"b", "设备"]) {
      fails(base({ device: bad }), "device", "bad-format");
      fails(base({ product: bad }), "product", "bad-format");
    }
    fails(base({ device: "d".repeat(65) }), "device", "bad-length");
    expect(parseConfig(base({ device: "mqtts-test_device" })).onenet.deviceName).toBe("mqtts-test_device");
  });

  it("checks the key is base64 without printing it", () => {
    const truncated = KEY.slice(0, 43);
    fails(base({ key: truncated }), "key", "bad-format");
    fails(base({ key: "b0ZHZ1Bn*TdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=" }), "key", "bad-format");
    fails(base({ key: "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVn=HU=" }), "key", "bad-format");
    fails(base({ key: "YWJj" }), "key", "bad-format"); // 3 bytes: not a key
    expect(parseConfig(base({ key: ` ${KEY} ` })).onenet.key).toBe(KEY);
    expect(parseConfig(base({ key: "EnW4T71eIE55xOIQMN6pFMKuqel5T5HTzsGJRPiDhlM=" })).onenet.key).toHaveLength(44);
  });

  it("numbers: not integers and out of range", () => {
    fails(base({ port: "18a3" }), "port", "not-integer");
    fails(base({ port: "1883.5" }), "port", "not-integer");
    fails(base({ port: 1883.5 }), "port", "not-integer");
    fails(base({ port: "0x75b" }), "port", "not-integer");
    fails(base({ port: "70000" }), "port", "out-of-range");
    fails(base({ port: "-1" }), "port", "out-of-range");
    fails(base({ keepalive: "9" }), "keepalive", "out-of-range");
    fails(base({ keepalive: 1801 }), "keepalive", "out-of-range");
    expect(parseConfig(base({ keepalive: "10" })).mqtt.keepaliveS).toBe(10);
    expect(parseConfig(base({ keepalive: "1800" })).mqtt.keepaliveS).toBe(1800);
    fails(base({ bufferSize: "255" }), "bufferSize", "out-of-range");
    fails(base({ bufferSize: "16385" }), "bufferSize", "out-of-range");
    fails(base({ tokenLifetime: "10" }), "tokenLifetime", "out-of-range");
    fails(base({ farFutureEt: "1000000000" }), "farFutureEt", "out-of-range");
    fails(base({ keepalive: {} }), "keepalive", "not-integer");
  });

  it("booleans and choices", () => {
    fails(base({ tls: "maybe" }), "tls", "not-boolean");
    fails(base({ ledActiveLow: 2 }), "ledActiveLow", "not-boolean");
    fails(base({ method: "sha512" }), "method", "bad-choice");
    fails(base({ keyKind: "user" }), "keyKind", "bad-choice");
    fails(base({ receiveMode: "push" }), "receiveMode", "bad-choice");
    fails(base({ passiveReadSize: "32" }), "passiveReadSize", "out-of-range");
    expect(parseConfig(base({ passiveReadSize: "96" })).at.passiveReadSize).toBe(96);
  });

  it("host and identifier formats", () => {
    fails(base({ host: "mqtts.heclouds.com\",1883" }), "host", "bad-format");
    fails(base({ host: "my host" }), "host", "bad-format");
    fails(base({ host: "   " }), "host", "missing");
    fails(base({ ledIdentifier: "1led" }), "ledIdentifier", "bad-format");
    fails(base({ ledIdentifier: "le\"d" }), "ledIdentifier", "bad-format");
    fails(base({ ledIdentifier: "l-ed" }), "ledIdentifier", "bad-format");
    expect(parseConfig(base({ ledIdentifier: "LightSwitch_1" })).led.identifier).toBe("LightSwitch_1");
  });

  it("objects where text is expected", () => {
    fails(base({ ssid: { name: "x" } }), "ssid", "not-text");
    fails(base({ device: ["a"] }), "device", "not-text");
  });

  it("buffer too small for the CONNECT these names make", () => {
    const long = { product: "p".repeat(64), device: "d".repeat(64), method: "sha256" };
    const err = fails(base({ ...long, bufferSize: "256" }), "bufferSize", "buffer-too-small");
    expect(err.message).toMatch(/at least \d+/);
    expect(parseConfig(base({ ...long, bufferSize: "512" })).mqtt.bufferSize).toBe(512);
  });
});

describe("connectSizeBound", () => {
  it("bounds the real CONNECT of the seed credentials", () => {
    // CONNECT for client id "test1", user "L14FCC38pq" and the seed's sha1 token (145 characters).
    const token =
      "version=2018-10-31&res=products%2FL14FCC38pq%2Fdevices%2Ftest1&et=2017881776&method=sha1&sign=8ukFaZ7tK%2B%2BpisREUYRLYcSiRVw%3D";
    const remaining = 10 + 2 + 5 + 2 + 10 + 2 + token.length;
    const actual = 1 + (remaining < 128 ? 1 : 2) + remaining;
    const c = parseConfig(base()).onenet;
    const bound = connectSizeBound(c, 10);
    expect(bound).toBeGreaterThanOrEqual(actual);
    expect(bound - actual).toBeLessThan(3 * 28); // only the worst-case sign escaping
  });
});
