import { describe, expect, it } from "vitest";
import { signToken, verifyToken } from "../../host-sim/broker/token-check.js";
import seed from "../fixtures/seed-vectors.json" with { type: "json" };
import { token } from "./support.js";

const KEY = seed.onenet.device_key;
const RES = seed.onenet.token_params.res;
const ET = seed.onenet.token_params.et;
const expectSeed = { productId: "L14FCC38pq", deviceName: "test1", deviceKey: KEY, nowMs: Date.UTC(2026, 0, 1) };

describe("broker token check", () => {
  it("reproduces the seed token and the recomputed md5/sha256 signs", () => {
    expect(signToken({ key: KEY, res: RES, et: ET, method: "sha1" })).toBe(seed.onenet.token);
    expect(signToken({ key: KEY, res: RES, et: ET, method: "md5" })).toContain("sign=IWc62R%2FPfsibkYMxCRuD8g%3D%3D");
    expect(signToken({ key: KEY, res: RES, et: ET, method: "sha256" })).toContain(
      "sign=aXnhD5A%2B2%2FOLsA%2BlVLa7C5XCwoiISGkdFOs6nFpQhOA%3D",
    );
    expect(
      signToken({ key: "EnW4T71eIE55xOIQMN6pFMKuqel5T5HTzsGJRPiDhlM=", res: "products/238322/devices/mqtts-test-device", et: 7557387130 }),
    ).toContain("sign=Rs0u%2FKnyoK5%2FMuKo5xKa0tW%2BWqY%3D");
  });

  it("accepts the seed token and tokens made independently with every method", () => {
    expect(verifyToken(seed.onenet.token, expectSeed)).toMatchObject({ ok: true, method: "sha1", et: ET, res: RES });
    for (const method of ["md5", "sha1", "sha256"] as const) {
      expect(verifyToken(token({ method }), expectSeed).ok).toBe(true);
    }
  });

  it("names each way a token is wrong", () => {
    const fail = (pw: string, over: Partial<typeof expectSeed> = {}) => {
      const v = verifyToken(pw, { ...expectSeed, ...over });
      return v.ok ? "ok" : v.failure;
    };
    expect(fail("")).toBe("malformed");
    expect(fail("version=2018-10-31&res=x")).toBe("malformed");
    expect(fail(token({ version: "2020-01-01" }))).toBe("bad_version");
    expect(fail(token().replace("method=sha1", "method=sha512"))).toBe("bad_method");
    expect(fail(token({ res: "products/L14FCC38pq/devices/other" }))).toBe("bad_res");
    expect(fail(token(), { deviceName: "other" })).toBe("bad_res");
    expect(fail(token(), { productId: "other" })).toBe("bad_res");
    expect(fail(token(), { deviceKey: undefined })).toBe("no_key");
    expect(fail(token({ key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }))).toBe("bad_sign");
    expect(fail(token().replace(/sign=./, "sign=A"))).toBe("bad_sign");
    expect(fail(token({ et: 1_700_000_000 }))).toBe("expired");
    // et exactly now is already expired: OneNET wants et in the future.
    expect(fail(token({ et: 1_767_225_600 }), { nowMs: 1_767_225_600_000 })).toBe("expired");
    expect(fail(token({ et: 1_767_225_601 }), { nowMs: 1_767_225_600_000 })).toBe("ok");
  });

  it("accepts the device res signed with the product key when one is known; refuses the API's product-level res", () => {
    const pkey = "cHJvZHVjdGtleXByb2R1Y3RrZXlwcm9kdWN0a2V5MDA=";
    const pw = token({ key: pkey });
    expect(verifyToken(pw, { ...expectSeed, productKey: pkey })).toMatchObject({ ok: true, key: "product", res: RES });
    expect(verifyToken(token(), { ...expectSeed, productKey: pkey })).toMatchObject({ ok: true, key: "device" });
    expect(verifyToken(pw, expectSeed)).toEqual({ ok: false, failure: "bad_sign" });
    // products/{pid} is for OneNET's HTTP API: no device logs in with it, whichever key signed it.
    expect(verifyToken(token({ key: pkey, res: "products/L14FCC38pq" }), { ...expectSeed, productKey: pkey })).toEqual({ ok: false, failure: "bad_res" });
  });
});
