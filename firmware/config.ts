/*
 * The device's configuration: what a user sets (mc/config on a board, CLI options on the host).
 * `parseConfig` turns a raw record (mc/config values may all be strings) into a checked
 * DeviceConfig or throws a ConfigError that names the bad key, never its secret value.
 */

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
  mqtt: { host: string; port: number; tls: boolean; keepaliveS: number; bufferSize: number };
  led: { identifier: string; activeLow: boolean };
  at: { receiveMode: ReceiveMode };
}
