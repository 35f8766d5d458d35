// OneNET token verification on the cloud side, written independently of the firmware's token module so
// that a bug there cannot hide itself by being checked against itself.
//
// Public API:
//   verifyToken(password: string, expect: TokenExpectation): TokenVerdict
//   signToken(opts: { key: string; res: string; et: number; method?: TokenMethod; version?: string }): string
//   type TokenMethod = "md5" | "sha1" | "sha256"
//   type TokenFailure = "malformed" | "bad_version" | "bad_method" | "bad_res" | "expired" | "bad_sign" | "no_key"
//
// Token text: version=2018-10-31&res=<urlenc res>&et=<unix s>&method=<m>&sign=<urlenc base64 sign>
// sign = base64(HMAC_m(base64decode(key), et + "\n" + method + "\n" + res + "\n" + version)).
// A device logs in with res = products/{pid}/devices/{name}, signed with its device key or with its
// product's key (OneNET's device-auth page, and its SDK's dev_token_generate); res = products/{pid} is
// the product-level resource of OneNET's HTTP API, refused at an MQTT login ("bad_res").
import { createHmac, timingSafeEqual } from "node:crypto";

export type TokenMethod = "md5" | "sha1" | "sha256";
export const TOKEN_VERSION = "2018-10-31";

export type TokenFailure = "malformed" | "bad_version" | "bad_method" | "bad_res" | "expired" | "bad_sign" | "no_key";

export interface TokenExpectation {
  productId: string;
  deviceName: string;
  /** base64 device key; undefined when the device is not registered */
  deviceKey: string | undefined;
  /** base64 product key, accepted in place of the device key; optional */
  productKey?: string | undefined;
  /** wall time now, ms */
  nowMs: number;
}

export type TokenVerdict = { ok: true; method: TokenMethod; et: number; res: string; key: "device" | "product" } | { ok: false; failure: TokenFailure };

const METHODS: readonly string[] = ["md5", "sha1", "sha256"];

function parseFields(text: string): Map<string, string> | undefined {
  const fields = new Map<string, string>();
  for (const part of text.split("&")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return undefined;
    const name = part.slice(0, eq);
    if (fields.has(name)) return undefined;
    let value: string;
    try {
      value = decodeURIComponent(part.slice(eq + 1));
    } catch {
      return undefined;
    }
    fields.set(name, value);
  }
  return fields;
}

export function computeSign(keyBase64: string, et: string, method: TokenMethod, res: string, version: string): string {
  const key = Buffer.from(keyBase64, "base64");
  return createHmac(method, key).update(`${et}\n${method}\n${res}\n${version}`).digest("base64");
}

/** The token a correct device sends; used by tests and by the simulator's cloud-side tooling. */
export function signToken(opts: { key: string; res: string; et: number; method?: TokenMethod; version?: string }): string {
  const method = opts.method ?? "sha1";
  const version = opts.version ?? TOKEN_VERSION;
  const et = String(opts.et);
  const sign = computeSign(opts.key, et, method, opts.res, version);
  return `version=${encodeURIComponent(version)}&res=${encodeURIComponent(opts.res)}&et=${et}&method=${method}&sign=${encodeURIComponent(sign)}`;
}

export function verifyToken(password: string, expect: TokenExpectation): TokenVerdict {
  const fields = parseFields(password);
  if (!fields) return { ok: false, failure: "malformed" };
  const version = fields.get("version");
  const res = fields.get("res");
  const etText = fields.get("et");
  const method = fields.get("method");
  const sign = fields.get("sign");
  if (version === undefined || res === undefined || etText === undefined || method === undefined || sign === undefined) {
    return { ok: false, failure: "malformed" };
  }
  if (version !== TOKEN_VERSION) return { ok: false, failure: "bad_version" };
  if (!METHODS.includes(method)) return { ok: false, failure: "bad_method" };
  if (!/^[0-9]{1,12}$/.test(etText)) return { ok: false, failure: "malformed" };
  if (res !== `products/${expect.productId}/devices/${expect.deviceName}`) return { ok: false, failure: "bad_res" };
  if (expect.deviceKey === undefined && expect.productKey === undefined) return { ok: false, failure: "no_key" };
  const et = Number(etText);
  if (et * 1000 <= expect.nowMs) return { ok: false, failure: "expired" };
  const got = Buffer.from(sign, "utf8");
  const signedWith = (key: string | undefined): boolean => {
    if (key === undefined) return false;
    const want = Buffer.from(computeSign(key, etText, method as TokenMethod, res, version), "utf8");
    return want.length === got.length && timingSafeEqual(want, got);
  };
  if (signedWith(expect.deviceKey)) return { ok: true, method: method as TokenMethod, et, res, key: "device" };
  if (signedWith(expect.productKey)) return { ok: true, method: method as TokenMethod, et, res, key: "product" };
  return { ok: false, failure: "bad_sign" };
}
