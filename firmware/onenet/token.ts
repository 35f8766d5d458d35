/*
 * OneNET's device token (version 2018-10-31), computed on the board with our own HMAC, written
 * straight into the caller's buffer (the MQTT CONNECT password).
 *
 *   version=2018-10-31&res=<urlenc(res)>&et=<unix s>&method=<m>&sign=<urlenc(base64(HMAC_m(key, et\nm\nres\nversion)))>
 *
 * API:
 *   new TokenBuilder(params: TokenParams)          validates (throws OneNetConfigError), decodes the key once
 *     .build(out, offset, et): number              token length, or TOKEN_BAD_ET (-2) / TOKEN_NO_ROOM (-1); never throws
 *     .maxLength                                   bytes any token of this builder can take (size the buffer with it)
 *     .method, .resource                           "sha1", "products/{pid}/devices/{name}" (not secret)
 * A device signs `res = products/{pid}/devices/{name}` with its device key or its product's key
 * (keyKind): OneNET's device-auth page and its SDK's dev_token_generate. The product-level
 * `res = products/{pid}` is for OneNET's HTTP API only (resource: "product-api"); the broker refuses a
 * login with it.
 *   chooseExpiry(wallTimeMs | -1, lifetimeS, farFutureEt): number   the `et` to use for the next connect
 *   validateProductId(id), validateDeviceName(name), parseMethod(text)   throw OneNetConfigError
 *   (the token as a string and its step-by-step explanation, for host tools: host-sim/onenet/token-tools.ts)
 *   OneNetConfigError: `.code` is one of OneNetConfigErrorCode; `.field` names the setting. Messages name the
 *   setting and the rule and never contain the key (nor any other value: a key pasted into the wrong field
 *   must not leak either).
 *
 * Why a builder: the client builds a fresh token before every connect (so an expired `et` cannot loop on
 * CONNACK 4); doing it with no allocation and no key decoding each time keeps reconnects cheap on XS.
 * The string to sign is streamed into the HMAC, so device names of any allowed length work (the official
 * C SDK's 64-byte buffer overflows past ~8 characters).
 */
import type { TokenMethod } from "../config.js";
import { copyBytes, utf8Bytes } from "../bytes.js";
import { Base64Error, base64Decode, base64DecodedLength, base64Encode, base64EncodedLength } from "./base64.js";
import { Hmac } from "./hmac.js";
import { Md5 } from "./md5.js";
import { Sha1 } from "./sha1.js";
import { Sha256 } from "./sha256.js";
import { urlEncode, urlEncodedLength, urlEncodedStringLength, urlEncodeString } from "./urlencode.js";

export const TOKEN_VERSION = "2018-10-31";
/** OneNET device and product keys are 32 random bytes (44 base64 characters). */
export const KEY_BYTES = 32;
export const MAX_PRODUCT_ID_LENGTH = 64;
export const MAX_DEVICE_NAME_LENGTH = 64;
/** Largest `et` we write: 2^53 - 1 keeps every digit exact. */
export const MAX_ET = Number.MAX_SAFE_INTEGER;

export const TOKEN_NO_ROOM = -1;
export const TOKEN_BAD_ET = -2;
export type TokenBuildError = typeof TOKEN_NO_ROOM | typeof TOKEN_BAD_ET;

export type OneNetConfigErrorCode =
  | "key-not-base64"
  | "key-wrong-length"
  | "empty-product-id"
  | "bad-product-id"
  | "empty-device-name"
  | "bad-device-name"
  | "unknown-method"
  | "bad-key-kind"
  | "bad-resource"
  | "bad-et";

export class OneNetConfigError extends Error {
  override name = "OneNetConfigError";
  constructor(
    readonly code: OneNetConfigErrorCode,
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail} (${code})`);
  }
}

export interface TokenParams {
  productId: string;
  deviceName: string;
  /** base64 device key, or product key when keyKind is "product". */
  key: string;
  /** Which key `key` is: "device" (default) or "product"; either signs the same device `res`. */
  keyKind?: "device" | "product";
  /**
   * "device" (default): res = products/{pid}/devices/{name}, the MQTT login's. "product-api":
   * res = products/{pid}, for OneNET's HTTP API with the product key, never for a device's login.
   */
  resource?: "device" | "product-api";
  /** "md5" | "sha1" | "sha256"; anything else is "unknown-method". */
  method: string;
}

function isAlnum(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/**
 * Product ids are OneNET-generated (e.g. "L14FCC38pq", "238322"): letters and digits; `_` and `-` are let
 * through. Anything else (`/`, `+`, `#`, spaces) would break the topics and the user name.
 */
export function validateProductId(productId: string): void {
  if (productId.length === 0) throw new OneNetConfigError("empty-product-id", "product id", "must not be empty");
  if (productId.length > MAX_PRODUCT_ID_LENGTH) throw new OneNetConfigError("bad-product-id", "product id", `must be at most ${MAX_PRODUCT_ID_LENGTH} characters`);
  for (let i = 0; i < productId.length; i++) {
    const c = productId.charCodeAt(i);
    if (!(isAlnum(c) || c === 0x5f || c === 0x2d)) throw new OneNetConfigError("bad-product-id", "product id", "may hold only ASCII letters, digits, '_' and '-'");
  }
}

/**
 * Device names: 1..64 of ASCII letters, digits, `_`, `-`, `.`, `@` (OneNET's console accepts these;
 * `/`, `+`, `#`, spaces and non-ASCII would break the topic `$sys/{pid}/{name}/...` or the client id).
 */
export function validateDeviceName(deviceName: string): void {
  if (deviceName.length === 0) throw new OneNetConfigError("empty-device-name", "device name", "must not be empty");
  if (deviceName.length > MAX_DEVICE_NAME_LENGTH) throw new OneNetConfigError("bad-device-name", "device name", `must be at most ${MAX_DEVICE_NAME_LENGTH} characters`);
  for (let i = 0; i < deviceName.length; i++) {
    const c = deviceName.charCodeAt(i);
    if (!(isAlnum(c) || c === 0x5f || c === 0x2d || c === 0x2e || c === 0x40)) {
      throw new OneNetConfigError("bad-device-name", "device name", "may hold only ASCII letters, digits, '_', '-', '.' and '@'");
    }
  }
}

export function parseMethod(method: string): TokenMethod {
  if (method === "sha1" || method === "sha256" || method === "md5") return method;
  throw new OneNetConfigError("unknown-method", "method", "must be md5, sha1 or sha256");
}

/** Decimal digits of a whole number 0..2^53-1, without making a string. Returns the count. */
export function writeDecimal(out: Uint8Array, offset: number, value: number): number {
  if (value <= 0x7fffffff) {
    // int32 arithmetic: no double intermediates (which V8, unlike XS, may box on the heap).
    let digits = 1;
    for (let v = value | 0; v >= 10; v = (v / 10) | 0) digits++;
    let v = value | 0;
    for (let i = offset + digits - 1; i >= offset; i--) {
      const q = (v / 10) | 0;
      out[i] = 0x30 + (v - q * 10);
      v = q;
    }
    return digits;
  }
  let digits = 1;
  for (let v = value; v >= 10; v = Math.floor(v / 10)) digits++;
  let v = value;
  for (let i = offset + digits - 1; i >= offset; i--) {
    const q = Math.floor(v / 10);
    out[i] = 0x30 + (v - q * 10);
    v = q;
  }
  return digits;
}

/**
 * Trust wall times from 2017 on only: a board that reports 1970 after a reset without RTC would otherwise
 * make a token that expired decades ago.
 */
const MIN_TRUSTED_WALL_MS = 1_500_000_000_000;

/**
 * The `et` for the next connect: wall time + lifetime when the clock is trustworthy, else the configured
 * far-future value (which needs no clock). Call it before every connect.
 */
export function chooseExpiry(wallTimeMs: number, lifetimeS: number, farFutureEt: number): number {
  if (!(wallTimeMs >= MIN_TRUSTED_WALL_MS) || !(lifetimeS >= 1)) return farFutureEt;
  return Math.floor(wallTimeMs / 1000) + Math.floor(lifetimeS);
}

export class TokenBuilder {
  readonly method: TokenMethod;
  readonly resource: string;
  readonly maxLength: number;
  private readonly mac: Hmac;
  private readonly methodBytes: Uint8Array;
  private readonly resourceBytes: Uint8Array;
  private readonly versionBytes: Uint8Array;
  /** "version=2018-10-31&res=<urlenc(res)>&et=" */
  private readonly head: Uint8Array;
  /** "&method=<m>&sign=" */
  private readonly middle: Uint8Array;
  private readonly etDigits = new Uint8Array(16);
  private readonly digest: Uint8Array;
  private readonly sign: Uint8Array;

  constructor(params: TokenParams) {
    validateProductId(params.productId);
    const resource = params.resource ?? "device";
    if (resource !== "device" && resource !== "product-api") throw new OneNetConfigError("bad-resource", "resource", "must be device or product-api");
    // The product-level resource names no device.
    if (resource === "device") validateDeviceName(params.deviceName);
    const keyKind = params.keyKind ?? "device";
    if (keyKind !== "device" && keyKind !== "product") throw new OneNetConfigError("bad-key-kind", "key kind", "must be device or product");
    this.method = parseMethod(params.method);
    this.resource = resource === "device" ? `products/${params.productId}/devices/${params.deviceName}` : `products/${params.productId}`;

    const key = new Uint8Array(Math.max(KEY_BYTES, base64DecodedLength(params.key)));
    let keyLength: number;
    try {
      keyLength = base64Decode(params.key, key, 0);
    } catch (error) {
      if (error instanceof Base64Error) throw new OneNetConfigError("key-not-base64", "key", `is not valid base64 (${error.code})`);
      throw error;
    }
    if (keyLength !== KEY_BYTES) {
      key.fill(0);
      throw new OneNetConfigError("key-wrong-length", "key", `must decode to ${KEY_BYTES} bytes, got ${keyLength}`);
    }
    this.mac = new Hmac(this.method === "sha1" ? new Sha1() : this.method === "sha256" ? new Sha256() : new Md5());
    this.mac.setKey(key, 0, keyLength);
    // The pads hold the key from now on; no second copy stays in memory.
    key.fill(0);

    this.methodBytes = utf8Bytes(this.method);
    this.resourceBytes = utf8Bytes(this.resource);
    this.versionBytes = utf8Bytes(TOKEN_VERSION);
    const head = new Uint8Array(`version=${TOKEN_VERSION}&res=`.length + urlEncodedStringLength(this.resource) + "&et=".length);
    let o = 0;
    const prefix = `version=${TOKEN_VERSION}&res=`;
    for (let i = 0; i < prefix.length; i++) head[o++] = prefix.charCodeAt(i);
    o += urlEncodeString(this.resource, head, o);
    for (const c of "&et=") head[o++] = c.charCodeAt(0);
    this.head = head;
    this.middle = utf8Bytes(`&method=${this.method}&sign=`);
    this.digest = new Uint8Array(this.mac.digestSize);
    this.sign = new Uint8Array(base64EncodedLength(this.mac.digestSize));
    this.maxLength = this.head.length + 16 + this.middle.length + 3 * this.sign.length;
  }

  /**
   * Writes the token for expiry `et` (unix seconds) at `out[offset]` and returns its length, or
   * TOKEN_BAD_ET when `et` is not a whole number in 1..MAX_ET, or TOKEN_NO_ROOM when it does not fit
   * (nothing is written then). Allocates nothing.
   */
  build(out: Uint8Array, offset: number, et: number): number {
    if (!Number.isInteger(et) || et < 1 || et > MAX_ET) return TOKEN_BAD_ET;
    const etLength = writeDecimal(this.etDigits, 0, et);
    const signLength = this.computeSign(etLength);
    const signEncoded = urlEncodedLength(this.sign, 0, signLength);
    const total = this.head.length + etLength + this.middle.length + signEncoded;
    if (offset < 0 || offset + total > out.length) return TOKEN_NO_ROOM;
    let o = copyBytes(out, offset, this.head, 0, this.head.length);
    for (let i = 0; i < etLength; i++) out[o++] = this.etDigits[i];
    o = copyBytes(out, o, this.middle, 0, this.middle.length);
    urlEncode(this.sign, 0, signLength, out, o);
    return total;
  }

  /** base64 of the HMAC into this.sign; returns its length. */
  private computeSign(etLength: number): number {
    const mac = this.mac;
    mac.reset();
    mac.update(this.etDigits, 0, etLength);
    mac.updateByte(0x0a);
    mac.update(this.methodBytes, 0, this.methodBytes.length);
    mac.updateByte(0x0a);
    mac.update(this.resourceBytes, 0, this.resourceBytes.length);
    mac.updateByte(0x0a);
    mac.update(this.versionBytes, 0, this.versionBytes.length);
    mac.finish(this.digest, 0);
    return base64Encode(this.digest, 0, this.digest.length, this.sign, 0);
  }
}
