/*
 * The device's configuration: what a user sets (mc/config on a board, CLI options on the host).
 * `parseConfig` turns a raw record (mc/config values may all be strings: `mcconfig ... port=8883`
 * overrides arrive as strings) into a checked DeviceConfig, or throws a ConfigError that names the
 * bad key and a named code, never the value (some keys are secrets, and a value typed into the
 * wrong key may be one too).
 *
 * Raw keys (flat, as in manifest.json "config"); "" counts as absent for optional keys:
 *   ssid, password                          WiFi; ssid 1..32 bytes, password empty or 8..64 bytes
 *   product, device, key                    OneNET product id, device name, base64 key (required)
 *   keyKind   "device" | "product"          which key `key` is (default "device"); either signs
 *                                           res = products/{pid}/devices/{device}
 *   method    "md5" | "sha1" | "sha256"     token signature (default "sha1")
 *   tokenLifetime                           seconds, when the board knows the time (default 30 days)
 *   farFutureEt                             token `et` when it does not (default 2100-01-01)
 *   host, port, tls                         broker (default mqtts.heclouds.com:1883, or
 *                                           mqttstls.heclouds.com:8883 with tls)
 *   tlsVerify                               with tls: the module verifies the server's certificate
 *                                           against the CA flashed into it (default: on with tls;
 *                                           asked for without tls: "needs-tls"). For OneNET,
 *                                           flash the OneNET MQTTS CA (C=CN, O=CMIOT, CN=OneNET
 *                                           MQTTS): ESP-AT 2.x into its `client_ca` partition, NonOS
 *                                           AT 1.7 as esp_ca_cert.bin at SSL_CLIENT_CA_ADDR. Off, the
 *                                           link is encrypted but anyone on the path can pose as the
 *                                           broker and read the token, so it must be asked for.
 *   tlsServerName                           with tls: the name sent as SNI and checked in the server
 *                                           certificate instead of `host` (for a host given as an IP
 *                                           address); ESP-AT 2.x only (AT+CIPSSLCSNI, AT+CIPSSLCCN),
 *                                           1.7 sends no SNI and checks no name. 1..64 characters.
 *   keepalive                               seconds, 10..1800 (default 120)
 *   bufferSize                              MQTT packet buffer, 256..16384 (default 1024)
 *   ledIdentifier, ledActiveLow             thing-model identifier (default "led"), LED polarity
 *   receiveMode "active" | "passive" | "transparent"   ESP8266 receive mode (default "passive")
 *   passiveReadSize                         bytes one AT+CIPRECVDATA asks for, 64..2048 (default 512;
 *                                           the Pico's manifest entry sets 96: its serial buffer is 160;
 *                                           the STM32 (Zephyr) entries 192: Moddable's ring there is 256)
 * Booleans accept true/false, "true"/"false", "1"/"0", "yes"/"no", "on"/"off"; numbers accept
 * decimal strings. Pins and UART settings are board business (firmware/moddable/pins.ts).
 */
import { utf8Length } from "./bytes.js";

/** The UTF-8 length the WiFi limits count in (-1: not text); re-exported from ./bytes.ts. */
export { utf8Length };

export type ReceiveMode = "active" | "passive" | "transparent";
export type TokenMethod = "md5" | "sha1" | "sha256";

export interface DeviceConfig {
  wifi: { ssid: string; password: string };
  onenet: {
    productId: string;
    deviceName: string;
    /** base64 device key (or product key when keyKind is "product"). */
    key: string;
    keyKind: "device" | "product";
    method: TokenMethod;
    /** Token lifetime in seconds when the board's clock is trustworthy. */
    tokenLifetimeS: number;
    /** `et` (unix seconds) used when the board has no trustworthy clock. */
    farFutureEt: number;
  };
  mqtt: {
    host: string;
    port: number;
    tls: boolean;
    /** TLS only: the module checks the server certificate against its flashed CA (AT+CIPSSLCCONF=2). */
    tlsVerify: boolean;
    /** TLS only: SNI and certificate name when not `host` ("" = `host`). */
    tlsServerName: string;
    keepaliveS: number;
    bufferSize: number;
  };
  led: { identifier: string; activeLow: boolean };
  at: {
    receiveMode: ReceiveMode;
    /**
     * The most one AT+CIPRECVDATA asks for (passive receive). The module sends it in one burst: it
     * must fit the MCU's serial buffer while the firmware is busy (Moddable's Pico port: 128 bytes
     * in software + the 32-byte FIFO), or bytes are lost.
     */
    passiveReadSize: number;
  };
}

export type ConfigErrorCode =
  | "missing" // a required key is absent or empty
  | "not-text" // expected a string, got an object, array, ...
  | "not-boolean" // not one of the boolean spellings
  | "not-integer" // not a whole decimal number
  | "out-of-range" // a number outside the key's range
  | "bad-length" // text too short or too long (bytes for ssid/password, characters otherwise)
  | "bad-format" // characters or structure the key cannot have (base64, names, host)
  | "bad-choice" // not one of the key's allowed words
  | "buffer-too-small" // bufferSize cannot hold the CONNECT packet these credentials make
  | "needs-tls"; // a TLS-only key (tlsVerify, tlsServerName) asked for without tls

export class ConfigError extends Error {
  readonly key: string;
  readonly code: ConfigErrorCode;
  constructor(key: string, code: ConfigErrorCode, detail: string) {
    super(`config "${key}": ${detail}`);
    // Defined, not assigned: a preloaded Moddable image freezes Error.prototype, whose read-only
    // `name` would make `this.name = ...` throw ("set name: not writable").
    Object.defineProperty(this, "name", { value: "ConfigError", writable: true, configurable: true });
    this.key = key;
    this.code = code;
  }
}

export const DEFAULT_HOST = "mqtts.heclouds.com";
export const DEFAULT_TLS_HOST = "mqttstls.heclouds.com";
export const DEFAULT_PORT = 1883;
export const DEFAULT_TLS_PORT = 8883;
export const DEFAULT_KEEPALIVE_S = 120;
export const DEFAULT_BUFFER_SIZE = 1024;
export const DEFAULT_TOKEN_LIFETIME_S = 30 * 24 * 3600;
/** 2100-01-01T00:00:00Z: far enough that a board without a clock never sends an expired token. */
export const DEFAULT_FAR_FUTURE_ET = 4102444800;

type Raw = Record<string, unknown>;

function present(raw: Raw, key: string): boolean {
  const v = raw[key];
  return v !== undefined && v !== null && v !== "";
}

/** Text value of `key`, or `fallback` when absent. Numbers and booleans are taken as typed. */
export function readText(raw: Raw, key: string, fallback: string): string {
  const v = raw[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new ConfigError(key, "not-text", `expected text, got ${Array.isArray(v) ? "an array" : typeof v}`);
}

function requireText(raw: Raw, key: string, what: string): string {
  const s = readText(raw, key, "");
  if (s === "") throw new ConfigError(key, "missing", `${what} is required`);
  return s;
}

export function readBool(raw: Raw, key: string, fallback: boolean): boolean {
  if (!present(raw, key)) return fallback;
  const v = raw[key];
  if (v === true || v === 1) return true;
  if (v === false || v === 0) return false;
  if (typeof v === "string") {
    switch (v.trim().toLowerCase()) {
      case "true":
      case "1":
      case "yes":
      case "on":
        return true;
      case "false":
      case "0":
      case "no":
      case "off":
        return false;
    }
  }
  throw new ConfigError(key, "not-boolean", "expected true or false (also 1/0, yes/no, on/off)");
}

function isDigits(s: string, from: number): boolean {
  if (from >= s.length) return false;
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** Whole number in [min, max], or `fallback` when absent. */
export function readInt(raw: Raw, key: string, fallback: number, min: number, max: number): number {
  if (!present(raw, key)) return fallback;
  const v = raw[key];
  let n: number;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new ConfigError(key, "not-integer", "expected a whole number");
    n = v;
  } else if (typeof v === "string") {
    const s = v.trim();
    if (!isDigits(s, s.charCodeAt(0) === 45 ? 1 : 0)) {
      throw new ConfigError(key, "not-integer", "expected a whole decimal number");
    }
    n = Number(s);
  } else {
    throw new ConfigError(key, "not-integer", "expected a whole number");
  }
  if (n < min || n > max) throw new ConfigError(key, "out-of-range", `must be between ${min} and ${max}`);
  return n;
}

function readChoice<T extends string>(raw: Raw, key: string, fallback: T, choices: readonly T[]): T {
  if (!present(raw, key)) return fallback;
  const s = readText(raw, key, fallback).trim().toLowerCase();
  for (let i = 0; i < choices.length; i++) if (choices[i] === s) return choices[i] as T;
  throw new ConfigError(key, "bad-choice", `must be one of ${choices.join(", ")}`);
}

function isNameChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 /* _ */ || c === 45 /* - */
  );
}

/**
 * Product ids and device names go into topics (`$sys/{pid}/{dev}/...`), the token's `res` and
 * the CONNECT client id: a `/`, `+`, `#`, space or quote there breaks all three, so only the
 * characters OneNET itself allows are accepted.
 */
function checkName(key: string, s: string, what: string): string {
  if (s.length > 64) throw new ConfigError(key, "bad-length", `${what} must be at most 64 characters`);
  for (let i = 0; i < s.length; i++) {
    if (!isNameChar(s.charCodeAt(i))) {
      throw new ConfigError(key, "bad-format", `${what} may hold only letters, digits, "_" and "-" (position ${i + 1})`);
    }
  }
  return s;
}

function isBase64Char(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47;
}

/** Strict base64 with padding, as the OneNET console issues keys (a truncated paste fails here). */
function checkBase64Key(key: string, s: string): void {
  const fail = (why: string): never => {
    throw new ConfigError(key, "bad-format", `must be the base64 key from the OneNET console (${why})`);
  };
  if (s.length % 4 !== 0) fail("length is not a multiple of 4");
  let pad = 0;
  if (s.charCodeAt(s.length - 1) === 61) pad = s.charCodeAt(s.length - 2) === 61 ? 2 : 1;
  for (let i = 0; i < s.length - pad; i++) if (!isBase64Char(s.charCodeAt(i))) fail(`bad character at position ${i + 1}`);
  if ((s.length / 4) * 3 - pad < 8) fail("shorter than 8 bytes");
}

/** Host names go inside a quoted AT+CIPSTART argument: no quotes, commas, spaces or controls. */
function checkHost(key: string, s: string): string {
  if (s.length > 253) throw new ConfigError(key, "bad-length", "host name must be at most 253 characters");
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 46 || c === 58 || c === 95;
    if (!ok) throw new ConfigError(key, "bad-format", `host may hold only letters, digits, ".", "-", "_" and ":" (position ${i + 1})`);
  }
  return s;
}

function checkIdentifier(key: string, s: string): string {
  if (s.length > 50) throw new ConfigError(key, "bad-length", "identifier must be at most 50 characters");
  const c0 = s.charCodeAt(0);
  const letter = (c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122) || c0 === 95;
  if (!letter) throw new ConfigError(key, "bad-format", "identifier must start with a letter or \"_\"");
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isNameChar(c) || c === 45) {
      throw new ConfigError(key, "bad-format", `identifier may hold only letters, digits and "_" (position ${i + 1})`);
    }
  }
  return s;
}

function decimalDigits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

/**
 * Upper bound of the CONNECT packet (client id = device, user = product, password = token) so a
 * too-small buffer is reported at start-up, not as a failure on every connect attempt.
 */
export function connectSizeBound(c: DeviceConfig["onenet"], tokenEtDigits: number): number {
  const pid = c.productId.length;
  const dev = c.deviceName.length;
  // products%2F{pid}%2Fdevices%2F{dev} (with either key): names hold only characters that are not escaped
  const res = 10 + pid + 12 + dev;
  const signChars = c.method === "md5" ? 24 : c.method === "sha1" ? 28 : 44;
  // version=2018-10-31&res=...&et=...&method=...&sign=... ; every sign character may need %XX
  const token = 18 + 5 + res + 4 + tokenEtDigits + 8 + c.method.length + 6 + 3 * signChars;
  const remaining = 10 + 2 + dev + 2 + pid + 2 + token;
  return 1 + (remaining < 128 ? 1 : remaining < 16384 ? 2 : 3) + remaining;
}

export function parseConfig(raw: Record<string, unknown>): DeviceConfig {
  const ssid = requireText(raw, "ssid", "WiFi network name");
  const ssidBytes = utf8Length(ssid);
  if (ssidBytes < 0) throw new ConfigError("ssid", "bad-format", "WiFi network name is not valid text (a lone UTF-16 surrogate)");
  if (ssidBytes > 32) throw new ConfigError("ssid", "bad-length", `WiFi network name must be 1..32 bytes (is ${ssidBytes})`);
  const password = readText(raw, "password", "");
  const pwBytes = utf8Length(password);
  if (pwBytes < 0) throw new ConfigError("password", "bad-format", "WiFi password is not valid text (a lone UTF-16 surrogate)");
  // Length only: it is the one property of a secret that is safe to report.
  if (pwBytes !== 0 && (pwBytes < 8 || pwBytes > 64)) {
    throw new ConfigError("password", "bad-length", `WiFi password must be empty (open network) or 8..64 bytes (is ${pwBytes})`);
  }

  const productId = checkName("product", requireText(raw, "product", "OneNET product id").trim(), "product id");
  const deviceName = checkName("device", requireText(raw, "device", "OneNET device name").trim(), "device name");
  const key = requireText(raw, "key", "OneNET device key").trim();
  checkBase64Key("key", key);
  const keyKind = readChoice(raw, "keyKind", "device", ["device", "product"] as const);
  const method = readChoice(raw, "method", "sha1", ["md5", "sha1", "sha256"] as const);
  const tokenLifetimeS = readInt(raw, "tokenLifetime", DEFAULT_TOKEN_LIFETIME_S, 60, 10 * 365 * 24 * 3600);
  // Lower bound 2020: an `et` in the past is refused by OneNET with CONNACK 4.
  const farFutureEt = readInt(raw, "farFutureEt", DEFAULT_FAR_FUTURE_ET, 1577836800, 9999999999);

  const tls = readBool(raw, "tls", false);
  // Verification defaults on with TLS: an unverified TLS link hands the token to whoever answers.
  const tlsVerify = readBool(raw, "tlsVerify", tls);
  if (tlsVerify && !tls) throw new ConfigError("tlsVerify", "needs-tls", "certificate verification needs tls=true");
  const tlsServerName = present(raw, "tlsServerName") ? checkHost("tlsServerName", readText(raw, "tlsServerName", "").trim()) : "";
  // 64: the longest name ESP-AT takes in AT+CIPSSLCSNI / AT+CIPSSLCCN.
  if (tlsServerName.length > 64) throw new ConfigError("tlsServerName", "bad-length", "server name must be at most 64 characters");
  if (tlsServerName !== "" && !tls) throw new ConfigError("tlsServerName", "needs-tls", "a TLS server name needs tls=true");
  const host = present(raw, "host") ? checkHost("host", readText(raw, "host", "").trim()) : tls ? DEFAULT_TLS_HOST : DEFAULT_HOST;
  if (host === "") throw new ConfigError("host", "missing", "broker host name is empty");
  const port = readInt(raw, "port", tls ? DEFAULT_TLS_PORT : DEFAULT_PORT, 1, 65535);
  const keepaliveS = readInt(raw, "keepalive", DEFAULT_KEEPALIVE_S, 10, 1800);
  const bufferSize = readInt(raw, "bufferSize", DEFAULT_BUFFER_SIZE, 256, 16384);

  const identifier = checkIdentifier("ledIdentifier", present(raw, "ledIdentifier") ? readText(raw, "ledIdentifier", "").trim() : "led");
  const activeLow = readBool(raw, "ledActiveLow", false);
  const receiveMode = readChoice(raw, "receiveMode", "passive", ["active", "passive", "transparent"] as const);

  const onenet = { productId, deviceName, key, keyKind, method, tokenLifetimeS, farFutureEt };
  const need = connectSizeBound(onenet, Math.max(10, decimalDigits(farFutureEt)));
  if (need > bufferSize) {
    throw new ConfigError("bufferSize", "buffer-too-small", `must be at least ${need} for this product id and device name`);
  }

  return {
    wifi: { ssid, password },
    onenet,
    mqtt: { host, port, tls, tlsVerify, tlsServerName, keepaliveS, bufferSize },
    led: { identifier, activeLow },
    at: { receiveMode, passiveReadSize: readInt(raw, "passiveReadSize", 512, 64, 2048) },
  };
}
