/*
 * The MQTT session's options, checked in one place: every default and every range, resolved once
 * at construction into plain numbers. A bad option is the one thing the client throws for, at
 * start-up, naming the option (MqttClientConfigError).
 */
import type { MqttClientOptions, Subscription } from "./client-types.js";

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** Every option with its default applied, in range. */
export interface ResolvedOptions {
  bufferSize: number;
  maxInflight: number;
  inflightSlotSize: number;
  keepaliveS: number;
  keepaliveMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  retransmitMs: number;
  ackTimeoutMs: number;
  openTimeoutMs: number;
  stableMs: number;
  txReserve: number;
  txRetryMs: number;
  cleanSession: boolean;
  passwordBufferSize: number;
  maxInboundQos2: number;
  backoff: BackoffOptions;
  networkBackoff: BackoffOptions;
  refusedBackoff: BackoffOptions;
  connectRate: { count: number; windowMs: number };
  subscriptions: readonly Subscription[];
}

/** Configuration errors are the one thing the constructor throws: at start-up, with the option's name. */
export class MqttClientConfigError extends Error {
  readonly code = "invalid-option";
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(message);
    this.name = "MqttClientConfigError";
  }
}

const FOREVER = 2 ** 31;

function checkInt(name: string, value: number, low: number, high: number): number {
  if (!Number.isInteger(value) || value < low || value > high) {
    throw new MqttClientConfigError(name, `mqtt client: option ${name} must be an integer in ${low}..${high}`);
  }
  return value;
}

function checkBackoff(name: string, b: BackoffOptions): BackoffOptions {
  checkInt(`${name}.initialMs`, b.initialMs, 1, FOREVER);
  checkInt(`${name}.maxMs`, b.maxMs, b.initialMs, FOREVER);
  return b;
}

function clamp(value: number, low: number, high: number): number {
  return Math.floor(value < low ? low : value > high ? high : value);
}

export function resolveOptions(o: MqttClientOptions): ResolvedOptions {
  const bufferSize = checkInt("bufferSize", o.bufferSize ?? 1024, 16, 268_435_460);
  const keepaliveS = checkInt("keepaliveS", o.keepaliveS, 0, 65_535);
  const keepaliveMs = keepaliveS * 1000;
  // OneNET refuses a 4th login in 5 s, counted as the CONNECTs arrive; ours are counted as they
  // leave, and the trip (the UART, the module, the network) varies: a second in hand.
  const rate = o.connectRate ?? { count: 3, windowMs: 6000 };
  checkInt("connectRate.count", rate.count, 1, 1000);
  checkInt("connectRate.windowMs", rate.windowMs, 0, FOREVER);
  return {
    bufferSize,
    maxInflight: checkInt("maxInflight", o.maxInflight ?? 4, 0, 65_535),
    inflightSlotSize: checkInt("inflightSlotSize", o.inflightSlotSize ?? bufferSize, 8, 268_435_460),
    keepaliveS,
    keepaliveMs,
    pingIntervalMs: checkInt("pingIntervalMs", o.pingIntervalMs ?? Math.floor(keepaliveMs * 0.75), 0, keepaliveMs),
    pingTimeoutMs: checkInt("pingTimeoutMs", o.pingTimeoutMs ?? clamp(keepaliveMs / 2, 5000, 30_000), 1, FOREVER),
    retransmitMs: checkInt("retransmitMs", o.retransmitMs ?? 10_000, 0, FOREVER),
    ackTimeoutMs: checkInt("ackTimeoutMs", o.ackTimeoutMs ?? 10_000, 1, FOREVER),
    openTimeoutMs: checkInt("openTimeoutMs", o.openTimeoutMs ?? 120_000, 1, FOREVER),
    stableMs: checkInt("stableMs", o.stableMs ?? 30_000, 0, FOREVER),
    txReserve: checkInt("txReserve", o.txReserve ?? 16, 0, 65_535),
    txRetryMs: checkInt("txRetryMs", o.txRetryMs ?? 200, 1, FOREVER),
    cleanSession: o.cleanSession ?? true,
    passwordBufferSize: checkInt("passwordBufferSize", o.passwordBufferSize ?? 256, 0, 65_535),
    maxInboundQos2: checkInt("maxInboundQos2", o.maxInboundQos2 ?? 8, 1, 65_535),
    backoff: checkBackoff("backoff", o.backoff ?? { initialMs: 1000, maxMs: 60_000 }),
    networkBackoff: checkBackoff("networkBackoff", o.networkBackoff ?? { initialMs: 30_000, maxMs: 240_000 }),
    refusedBackoff: checkBackoff("refusedBackoff", o.refusedBackoff ?? { initialMs: 120_000, maxMs: 1_800_000 }),
    connectRate: rate,
    subscriptions: o.subscriptions ?? [],
  };
}
