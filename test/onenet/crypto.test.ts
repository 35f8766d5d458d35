import { createHash, createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Base64Error, base64Decode, base64DecodedLength, base64Encode, base64EncodedLength } from "../../firmware/onenet/base64.js";
import type { Hash } from "../../firmware/onenet/hash.js";
import { Hmac } from "../../firmware/onenet/hmac.js";
import { Md5 } from "../../firmware/onenet/md5.js";
import { Sha1 } from "../../firmware/onenet/sha1.js";
import { Sha256 } from "../../firmware/onenet/sha256.js";
import { UrlEncodeError, urlEncode, urlEncodeString, urlEncodedLength, urlEncodedStringLength } from "../../firmware/onenet/urlencode.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const ascii = (s: string) => new Uint8Array(Buffer.from(s, "latin1"));
const rep = (byte: number, n: number) => new Uint8Array(n).fill(byte);

const makers: Record<"sha1" | "sha256" | "md5", () => Hash> = { sha1: () => new Sha1(), sha256: () => new Sha256(), md5: () => new Md5() };

function digest(h: Hash, data: Uint8Array): string {
  const out = new Uint8Array(h.digestSize);
  h.reset();
  h.update(data);
  h.finish(out);
  return hex(out);
}

function hmac(alg: keyof typeof makers, key: Uint8Array, data: Uint8Array): string {
  const m = new Hmac(makers[alg]());
  m.setKey(key);
  m.update(data);
  const out = new Uint8Array(m.digestSize);
  m.finish(out);
  return hex(out);
}

describe("published hash vectors", () => {
  const million = rep(0x61, 1_000_000);
  it("SHA-1 (FIPS 180)", () => {
    const h = new Sha1();
    expect(digest(h, ascii(""))).toBe("da39a3ee5e6b4b0d3255bfef95601890afd80709");
    expect(digest(h, ascii("abc"))).toBe("a9993e364706816aba3e25717850c26c9cd0d89d");
    expect(digest(h, ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))).toBe("84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    expect(digest(h, million)).toBe("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  });
  it("SHA-256 (FIPS 180)", () => {
    const h = new Sha256();
    expect(digest(h, ascii(""))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(digest(h, ascii("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(digest(h, ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    expect(digest(h, million)).toBe("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  });
  it("MD5 (RFC 1321 test suite)", () => {
    const h = new Md5();
    const suite: [string, string][] = [
      ["", "d41d8cd98f00b204e9800998ecf8427e"],
      ["a", "0cc175b9c0f1b6a831c399e269772661"],
      ["abc", "900150983cd24fb0d6963f7d28e17f72"],
      ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
      ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
      ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"],
      ["12345678901234567890123456789012345678901234567890123456789012345678901234567890", "57edf4a22be3c955ac49da2e2107b67a"],
    ];
    for (const [text, want] of suite) expect(digest(h, ascii(text))).toBe(want);
  });
});

describe("published HMAC vectors", () => {
  const range = (from: number, to: number) => Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);
  it("HMAC-SHA1 and HMAC-MD5 (RFC 2202)", () => {
    const cases: [Uint8Array, Uint8Array, Uint8Array, Uint8Array, string, string][] = [
      [rep(0x0b, 20), rep(0x0b, 16), ascii("Hi There"), ascii("Hi There"), "b617318655057264e28bc0b6fb378c8ef146be00", "9294727a3638bb1c13f48ef8158bfc9d"],
      [ascii("Jefe"), ascii("Jefe"), ascii("what do ya want for nothing?"), ascii("what do ya want for nothing?"), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "750c783e6ab0b503eaa86e310a5db738"],
      [rep(0xaa, 20), rep(0xaa, 16), rep(0xdd, 50), rep(0xdd, 50), "125d7342b9ac11cd91a39af48aa17b4f63f175d3", "56be34521d144c88dbb8c733f0e8b3f6"],
      [range(1, 25), range(1, 25), rep(0xcd, 50), rep(0xcd, 50), "4c9007f4026250c6bc8414f9bf50c86c2d7235da", "697eaf0aca3a3aea3a75164746ffaa79"],
      [rep(0x0c, 20), rep(0x0c, 16), ascii("Test With Truncation"), ascii("Test With Truncation"), "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04", "56461ef2342edc00f9bab995690efd4c"],
      [rep(0xaa, 80), rep(0xaa, 80), ascii("Test Using Larger Than Block-Size Key - Hash Key First"), ascii("Test Using Larger Than Block-Size Key - Hash Key First"), "aa4ae5e15272d00e95705637ce8a3b55ed402112", "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"],
      [rep(0xaa, 80), rep(0xaa, 80), ascii("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"), ascii("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data"), "e8e99d0f45237d786d6bbaa7965c7808bbff1a91", "6f630fad67cda0ee1fb1f562db3aa53e"],
    ];
    for (const [k1, k5, d1, d5, sha1, md5] of cases) {
      expect(hmac("sha1", k1, d1)).toBe(sha1);
      expect(hmac("md5", k5, d5)).toBe(md5);
    }
  });
  it("HMAC-SHA256 (RFC 4231)", () => {
    const cases: [Uint8Array, Uint8Array, string][] = [
      [rep(0x0b, 20), ascii("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"],
      [ascii("Jefe"), ascii("what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"],
      [rep(0xaa, 20), rep(0xdd, 50), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"],
      [range(1, 25), rep(0xcd, 50), "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"],
      [rep(0xaa, 131), ascii("Test Using Larger Than Block-Size Key - Hash Key First"), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"],
      [
        rep(0xaa, 131),
        ascii("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
      ],
    ];
    for (const [key, data, want] of cases) expect(hmac("sha256", key, data)).toBe(want);
    // Test case 5: output truncated to 128 bits.
    expect(hmac("sha256", rep(0x0c, 20), ascii("Test With Truncation")).slice(0, 32)).toBe("a3b6167473100ee06e0c796c2955552b");
  });
});

describe("differential against node:crypto", () => {
  const bytes = fc.uint8Array({ minLength: 0, maxLength: 1000 });
  const algs = ["sha1", "sha256", "md5"] as const;

  for (const alg of algs) {
    it(`${alg}: digests of 0..1000 random bytes, fed in random chunks`, () => {
      const h = makers[alg]();
      const out = new Uint8Array(h.digestSize + 3);
      fc.assert(
        fc.property(bytes, fc.array(fc.nat(200), { maxLength: 8 }), (data, cuts) => {
          // Feeding in arbitrary pieces exercises every block-boundary path of update().
          h.reset();
          let at = 0;
          for (const cut of cuts) {
            const n = Math.min(cut, data.length - at);
            h.update(data, at, n);
            at += n;
          }
          h.update(data, at, data.length - at);
          h.finish(out, 3);
          expect(hex(out.subarray(3))).toBe(createHash(alg).update(data).digest("hex"));
        }),
        { numRuns: 1500, seed: 0x0e0e7 },
      );
    });

    it(`HMAC-${alg}: random keys (0..200 bytes) and messages (0..1000 bytes)`, () => {
      const m = new Hmac(makers[alg]());
      const out = new Uint8Array(m.digestSize);
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 200 }), bytes, (key, data) => {
          m.setKey(key);
          m.update(data);
          m.finish(out);
          expect(hex(out)).toBe(createHmac(alg, key).update(data).digest("hex"));
          // The same key again, with no setKey: reset-after-finish must hold.
          m.update(data);
          m.finish(out);
          expect(hex(out)).toBe(createHmac(alg, key).update(data).digest("hex"));
        }),
        { numRuns: 1500, seed: 0x4d4ac },
      );
    });
  }

  it("updateString encodes UTF-8 like Node (including astral and lone surrogates)", () => {
    const h = new Sha256();
    const out = new Uint8Array(32);
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (text) => {
        h.updateString(text);
        h.finish(out);
        expect(hex(out)).toBe(createHash("sha256").update(Buffer.from(text, "utf8")).digest("hex"));
      }),
      { numRuns: 1000, seed: 7 },
    );
    h.updateString("\ud83d\ude00 \ud800x 中 é");
    h.finish(out);
    expect(hex(out)).toBe(createHash("sha256").update("\ud83d\ude00 \ud800x 中 é", "utf8").digest("hex"));
  });

  it("HMAC state snapshots: only on block boundaries; clearKey leaves the empty key", () => {
    const h = new Sha256();
    const state = new Int32Array(h.stateWords);
    h.update(new Uint8Array(10));
    expect(() => h.saveState(state)).toThrow(RangeError);
    expect(() => h.restoreState(state, 10)).toThrow(RangeError);
    const m = new Hmac(new Sha1());
    const out = new Uint8Array(20);
    m.setKey(ascii("secret"));
    m.clearKey();
    m.update(ascii("msg"));
    m.finish(out);
    expect(hex(out)).toBe(createHmac("sha1", Buffer.alloc(0)).update("msg").digest("hex"));
  });

  it("rejects ranges outside the array instead of hashing undefined", () => {
    const h = new Sha1();
    expect(() => h.update(new Uint8Array(4), 2, 3)).toThrow(RangeError);
    expect(() => h.finish(new Uint8Array(19))).toThrow(RangeError);
  });
});

describe("base64", () => {
  it("encodes like Node for random inputs, at an offset", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(5), (data, at) => {
        const out = new Uint8Array(at + base64EncodedLength(data.length));
        const n = base64Encode(data, 0, data.length, out, at);
        expect(Buffer.from(out.subarray(at, at + n)).toString("latin1")).toBe(Buffer.from(data).toString("base64"));
      }),
      { numRuns: 1000, seed: 11 },
    );
  });
  it("decodes what Node encodes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        const text = Buffer.from(data).toString("base64");
        expect(base64DecodedLength(text)).toBe(data.length);
        const out = new Uint8Array(data.length + 2);
        const n = base64Decode(text, out, 2);
        expect(hex(out.subarray(2, 2 + n))).toBe(hex(data));
      }),
      { numRuns: 1000, seed: 12 },
    );
  });
  it("rejects bad input with a named code and never echoes it", () => {
    const out = new Uint8Array(64);
    const code = (text: string) => {
      try {
        base64Decode(text, out);
        return "ok";
      } catch (error) {
        expect(error).toBeInstanceOf(Base64Error);
        expect((error as Error).message).not.toContain(text);
        return (error as Base64Error).code;
      }
    };
    expect(code("b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=")).toBe("ok");
    expect(code("b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU")).toBe("bad-length");
    expect(code("b0ZH Z1Bn")).toBe("bad-character");
    expect(code("b0-_")).toBe("bad-character");
    expect(code("b0ZHé1Bn")).toBe("bad-character");
    expect(code("ab=c")).toBe("bad-padding");
    expect(code("a===")).toBe("bad-padding");
    expect(code("ab==cdef")).toBe("bad-padding");
    expect(code("QR==")).toBe("bad-padding"); // non-zero bits under the padding
    expect(code("QUJ=")).toBe("bad-padding");
    expect(code("QQ==")).toBe("ok");
    expect(() => base64Decode("QUJD", new Uint8Array(2))).toThrow(expect.objectContaining({ code: "no-room" }));
    expect(() => base64Encode(new Uint8Array(3), 0, 3, new Uint8Array(3), 0)).toThrow(expect.objectContaining({ code: "no-room" }));
  });
});

describe("urlencode", () => {
  it("escapes OneNET's listed characters as in its examples", () => {
    const text = "products/L14FCC38pq/devices/test1 +=%&?#";
    const out = new Uint8Array(urlEncodedStringLength(text));
    const n = urlEncodeString(text, out, 0);
    expect(Buffer.from(out.subarray(0, n)).toString("latin1")).toBe("products%2FL14FCC38pq%2Fdevices%2Ftest1%20%2B%3D%25%26%3F%23");
  });
  it("matches encodeURIComponent plus !'()* for random text and bytes", () => {
    const strict = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 60 }), (text) => {
        const out = new Uint8Array(urlEncodedStringLength(text));
        expect(Buffer.from(out.subarray(0, urlEncodeString(text, out, 0))).toString("latin1")).toBe(strict(text));
        const bytes = new Uint8Array(Buffer.from(text, "utf8"));
        const out2 = new Uint8Array(urlEncodedLength(bytes, 0, bytes.length) + 1);
        const n = urlEncode(bytes, 0, bytes.length, out2, 1);
        expect(Buffer.from(out2.subarray(1, 1 + n)).toString("latin1")).toBe(strict(text));
      }),
      { numRuns: 500, seed: 13 },
    );
    expect(() => urlEncodeString("a/b", new Uint8Array(4), 0)).toThrow(UrlEncodeError);
  });
});
