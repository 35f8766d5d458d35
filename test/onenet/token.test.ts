import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  OneNetConfigError,
  TOKEN_BAD_ET,
  TOKEN_NO_ROOM,
  TokenBuilder,
  buildTokenString,
  chooseExpiry,
  explainToken,
  writeDecimal,
} from "../../host-sim/onenet/token-tools.js";
import seed from "../fixtures/seed-vectors.json" with { type: "json" };

const KEY = "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=";
const base = { productId: "L14FCC38pq", deviceName: "test1", key: KEY, et: 2017881776 };
const signOf = (token: string) => token.slice(token.indexOf("&sign=") + 6);

/**
 * An independent reference straight from the formula, with Node's crypto: either key signs the device
 * res; only the API's product-level resource is products/{pid}.
 */
function reference(p: { productId: string; deviceName: string; key: string; method: string; et: number; resource?: string }): string {
  const res = p.resource === "product-api" ? `products/${p.productId}` : `products/${p.productId}/devices/${p.deviceName}`;
  const sign = createHmac(p.method, Buffer.from(p.key, "base64")).update(`${p.et}\n${p.method}\n${res}\n2018-10-31`).digest("base64");
  return `version=2018-10-31&res=${encodeURIComponent(res)}&et=${p.et}&method=${p.method}&sign=${encodeURIComponent(sign)}`;
}

describe("token vectors from onenet.md", () => {
  it("seed sha1 token, byte-exact", () => {
    expect(buildTokenString({ ...base, method: "sha1" })).toBe(seed.onenet.token);
    expect(signOf(seed.onenet.token)).toBe("8ukFaZ7tK%2B%2BpisREUYRLYcSiRVw%3D");
  });
  it("md5 and sha256", () => {
    expect(signOf(buildTokenString({ ...base, method: "md5" }))).toBe("IWc62R%2FPfsibkYMxCRuD8g%3D%3D");
    expect(signOf(buildTokenString({ ...base, method: "sha256" }))).toBe("aXnhD5A%2B2%2FOLsA%2BlVLa7C5XCwoiISGkdFOs6nFpQhOA%3D");
    expect(buildTokenString({ ...base, method: "sha256" })).toBe(
      "version=2018-10-31&res=products%2FL14FCC38pq%2Fdevices%2Ftest1&et=2017881776&method=sha256&sign=aXnhD5A%2B2%2FOLsA%2BlVLa7C5XCwoiISGkdFOs6nFpQhOA%3D",
    );
  });
  it("the second official sha1 example", () => {
    const token = buildTokenString({ productId: "238322", deviceName: "mqtts-test-device", key: "EnW4T71eIE55xOIQMN6pFMKuqel5T5HTzsGJRPiDhlM=", method: "sha1", et: 7557387130 });
    expect(token).toBe("version=2018-10-31&res=products%2F238322%2Fdevices%2Fmqtts-test-device&et=7557387130&method=sha1&sign=Rs0u%2FKnyoK5%2FMuKo5xKa0tW%2BWqY%3D");
  });
  it("the seed's CONNECT password bytes", () => {
    const hex = seed.packets.connect.hex.split(" ").map((h) => parseInt(h, 16));
    const password = Buffer.from(hex.slice(hex.length - 0x80)).toString("latin1");
    expect(password).toBe(buildTokenString({ ...base, method: "sha1" }));
  });
});

describe("TokenBuilder", () => {
  it("handles a 64-character device name (the official SDK overflows past ~8)", () => {
    const deviceName = "d".repeat(20) + "_-.@" + "0123456789".repeat(4);
    expect(deviceName).toHaveLength(64);
    for (const method of ["sha1", "sha256", "md5"]) {
      const p = { productId: "L14FCC38pq", deviceName, key: KEY, method, et: 4102444800 };
      expect(buildTokenString(p)).toBe(reference(p));
    }
  });

  it("matches the reference formula for random names, keys, methods, expiries and key kinds", () => {
    const nameChar = fc.constantFrom(..."abcXYZ019_-.@".split(""));
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(..."aZ09".split("")), minLength: 1, maxLength: 20 }),
        fc.string({ unit: nameChar, minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.constantFrom("md5", "sha1", "sha256"),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.constantFrom("device", "product"),
        (productId, deviceName, keyBytes, method, et, keyKind) => {
          const p = { productId, deviceName, key: Buffer.from(keyBytes).toString("base64"), method, et, keyKind: keyKind as "device" | "product" };
          expect(buildTokenString(p)).toBe(reference(p));
        },
      ),
      { numRuns: 500, seed: 42 },
    );
  });

  it("writes at an offset, into the caller's buffer, and leaves the rest alone", () => {
    const builder = new TokenBuilder({ ...base, method: "sha1" });
    const out = new Uint8Array(builder.maxLength + 10).fill(0xee);
    const n = builder.build(out, 7, base.et);
    expect(Buffer.from(out.subarray(7, 7 + n)).toString("latin1")).toBe(seed.onenet.token);
    expect(out.subarray(0, 7).every((b) => b === 0xee)).toBe(true);
    expect(out.subarray(7 + n).every((b) => b === 0xee)).toBe(true);
    // Rebuilding gives the same bytes: nothing of the previous build leaks into the next.
    expect(builder.build(out, 0, base.et)).toBe(n);
    expect(Buffer.from(out.subarray(0, n)).toString("latin1")).toBe(seed.onenet.token);
  });

  it("reports no room and bad et with codes instead of throwing, writing nothing", () => {
    const builder = new TokenBuilder({ ...base, method: "sha1" });
    const exact = seed.onenet.token.length;
    const small = new Uint8Array(exact - 1).fill(1);
    expect(builder.build(small, 0, base.et)).toBe(TOKEN_NO_ROOM);
    expect(small.every((b) => b === 1)).toBe(true);
    expect(builder.build(new Uint8Array(exact + 3), 4, base.et)).toBe(TOKEN_NO_ROOM);
    expect(builder.build(new Uint8Array(exact), 0, base.et)).toBe(exact);
    const out = new Uint8Array(builder.maxLength);
    for (const et of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) expect(builder.build(out, 0, et)).toBe(TOKEN_BAD_ET);
    expect(builder.build(out, 0, Number.MAX_SAFE_INTEGER)).toBeGreaterThan(0);
    expect(builder.maxLength).toBeGreaterThanOrEqual(builder.build(out, 0, Number.MAX_SAFE_INTEGER));
  });

  it("signs the device res with a product key too; products/{pid} only as the API's resource", () => {
    const token = buildTokenString({ ...base, keyKind: "product", method: "sha1" });
    expect(token).toContain("&res=products%2FL14FCC38pq%2Fdevices%2Ftest1&");
    expect(token).toBe(reference({ ...base, method: "sha1" }));
    const api = buildTokenString({ ...base, deviceName: "", keyKind: "product", resource: "product-api", method: "sha1" });
    expect(api).toContain("&res=products%2FL14FCC38pq&");
    expect(api).toBe(reference({ ...base, resource: "product-api", method: "sha1" }));
    expect(() => buildTokenString({ ...base, resource: "everything" as "device", method: "sha1" })).toThrow(/resource: must be device or product-api/);
  });

  it("writeDecimal writes digits of whole numbers up to 2^53-1", () => {
    const out = new Uint8Array(16);
    for (const v of [0, 7, 10, 99, 2017881776, 9999999999999, Number.MAX_SAFE_INTEGER]) {
      const n = writeDecimal(out, 0, v);
      expect(Buffer.from(out.subarray(0, n)).toString("latin1")).toBe(String(v));
    }
  });
});

describe("configuration errors", () => {
  const code = (p: Partial<Parameters<typeof buildTokenString>[0]>) => {
    try {
      buildTokenString({ ...base, method: "sha1", ...p });
      return "ok";
    } catch (error) {
      expect(error).toBeInstanceOf(OneNetConfigError);
      const message = (error as Error).message;
      // Never the key, whatever field it was pasted into.
      for (const secret of [KEY, KEY.slice(0, 20), p.key ?? KEY, p.method ?? "sha1"]) if (secret.length > 6) expect(message).not.toContain(secret);
      return (error as OneNetConfigError).code;
    }
  };
  it("names each problem", () => {
    expect(code({})).toBe("ok");
    expect(code({ key: "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU" })).toBe("key-not-base64");
    expect(code({ key: "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=!" })).toBe("key-not-base64");
    expect(code({ key: "b0ZHZ1BnNTdBSUV2c0dh UmJGMDBRYVJXS090VEVnMHU=" })).toBe("key-not-base64");
    expect(code({ key: "" })).toBe("key-wrong-length");
    expect(code({ key: "QUJD" })).toBe("key-wrong-length");
    expect(code({ key: Buffer.alloc(64, 1).toString("base64") })).toBe("key-wrong-length");
    expect(code({ productId: "" })).toBe("empty-product-id");
    expect(code({ productId: "L14/FCC" })).toBe("bad-product-id");
    expect(code({ deviceName: "" })).toBe("empty-device-name");
    for (const bad of ["a/b", "a+b", "a#b", "a b", "设备", "x".repeat(65), "a\nb"]) expect(code({ deviceName: bad })).toBe("bad-device-name");
    expect(code({ method: "SHA1" })).toBe("unknown-method");
    expect(code({ method: KEY })).toBe("unknown-method");
    expect(code({ keyKind: "group" as "device" })).toBe("bad-key-kind");
    expect(code({ et: 0 })).toBe("bad-et");
  });
});

describe("chooseExpiry", () => {
  it("uses wall time + lifetime when the clock is trustworthy", () => {
    expect(chooseExpiry(1_700_000_000_123, 3600, 4102444800)).toBe(1_700_003_600);
  });
  it("falls back to the far-future et without a clock, with a 1970 clock, or a nonsense lifetime", () => {
    expect(chooseExpiry(-1, 3600, 4102444800)).toBe(4102444800);
    expect(chooseExpiry(5_000, 3600, 4102444800)).toBe(4102444800);
    expect(chooseExpiry(Number.NaN, 3600, 4102444800)).toBe(4102444800);
    expect(chooseExpiry(1_700_000_000_000, 0, 4102444800)).toBe(4102444800);
  });
});

describe("explainToken", () => {
  it("shows every step and the same token, never the key", () => {
    const e = explainToken({ ...base, method: "sha1" });
    expect(e.stringToSign).toBe("2017881776\nsha1\nproducts/L14FCC38pq/devices/test1\n2018-10-31");
    expect(e.signBase64).toBe("8ukFaZ7tK++pisREUYRLYcSiRVw=");
    expect(e.hmacHex).toBe(Buffer.from(e.signBase64, "base64").toString("hex"));
    expect(e.signEncoded).toBe("8ukFaZ7tK%2B%2BpisREUYRLYcSiRVw%3D");
    expect(e.resourceEncoded).toBe("products%2FL14FCC38pq%2Fdevices%2Ftest1");
    expect(e.token).toBe(seed.onenet.token);
    expect(JSON.stringify(e)).not.toContain(KEY);
  });
});
