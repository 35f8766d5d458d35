// The firmware's token module and the broker's checker were written apart: each must accept the other's work.
import { describe, expect, it } from "vitest";
import { buildTokenString } from "../../host-sim/onenet/token-tools.js";
import { signToken, verifyToken } from "../../host-sim/broker/token-check.js";

const KEY = "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=";
const names = ["test1", "a", "dev_with-long-name-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ".slice(0, 64), "LED-01"];

describe("firmware token vs broker token check", () => {
  it("agree for every method, several device names and expiry times", () => {
    for (const method of ["md5", "sha1", "sha256"] as const) {
      for (const deviceName of names) {
        for (const et of [1, 2017881776, 4102444800, 99999999999]) {
          const fw = buildTokenString({ productId: "L14FCC38pq", deviceName, key: KEY, method, et });
          expect(fw).toBe(signToken({ key: KEY, res: `products/L14FCC38pq/devices/${deviceName}`, et, method }));
          const v = verifyToken(fw, { productId: "L14FCC38pq", deviceName, deviceKey: KEY, nowMs: 0 });
          expect(v).toMatchObject({ ok: true, method, et });
        }
      }
    }
  });

  it("agree on tokens signed with the product key (the device res, either key)", () => {
    const fw = buildTokenString({ productId: "238322", deviceName: "x", key: KEY, keyKind: "product", method: "sha1", et: 4102444800 });
    expect(verifyToken(fw, { productId: "238322", deviceName: "x", deviceKey: "EnW4T71eIE55xOIQMN6pFMKuqel5T5HTzsGJRPiDhlM=", productKey: KEY, nowMs: 0 })).toMatchObject({ ok: true, key: "product" });
  });
});
