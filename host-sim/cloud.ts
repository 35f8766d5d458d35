/*
 * The cloud side of the simulator: what the OneNET console does to a device (set a property, set a
 * desired value, read it) and what it sees coming back (set_reply, get_reply, property/post, ...).
 *
 * - EmbeddedCloud: our OneNET-compatible broker's own cloud API (host-sim/broker). A set or get to a
 *   device that is not online fails with OneNET's "device not online" (DeviceOfflineError); a desired
 *   value is kept by the broker, online or not.
 * - MqttCloud: any other MQTT broker (Mosquitto, say), through the npm `mqtt` client: it publishes
 *   property/set and property/get on the device's topics and watches `$sys/{pid}/{dev}/thing/#`. A
 *   plain MQTT broker keeps no desired values: setDesired fails with NoDesiredStoreError.
 */
import mqtt from "mqtt";
import type { OneNetBroker } from "./broker/onenet-broker.js";

export { DeviceOfflineError } from "./broker/onenet-broker.js";

/** Why a set to an offline device failed, and what to do instead (the console and the dashboard say it). */
export const OFFLINE_HINT = 'OneNET delivers a set only to an online device; a desired value ("set desired on|off") is kept and applied when it is back';

export interface DeviceMessage {
  /** "set_reply" | "get_reply" | "property/post" | "desired/get" | "invoke_reply" | ... */
  kind: string;
  topic: string;
  payload: string;
  json: unknown;
}

export interface CloudSide {
  /** Sends property/set; returns the message id. */
  setProperty(params: Record<string, unknown>): Promise<string>;
  /** Sends property/get; returns the message id. */
  getProperty(identifiers: string[]): Promise<string>;
  /** Sets desired values (kept until the device deletes them; nothing is sent); returns their versions. */
  setDesired(params: Record<string, unknown>): Promise<Record<string, number>>;
  /** Every message the device publishes. Returns an unsubscribe function. */
  onDeviceMessage(listener: (message: DeviceMessage) => void): () => void;
  close(): Promise<void>;
}

/** What the cloud console logs into a broker with (a Mosquitto user, say; OneNET admits only devices). */
export interface CloudLogin {
  username?: string;
  password?: string;
  clientId?: string;
}

/** setDesired on a broker that keeps no desired values (they are OneNET's platform's, not MQTT's). */
export class NoDesiredStoreError extends Error {
  override name = "NoDesiredStoreError";
  constructor() {
    super("this broker keeps no desired values (OneNET's platform does; a plain MQTT broker has nowhere to keep them)");
  }
}

/** The cloud console could not log in: the message is for the user as it is. */
export class CloudConsoleError extends Error {
  override name = "CloudConsoleError";
}

/** MQTT 3.1.1 CONNACK return codes (section 3.2.2.3). */
const CONNACK_MEANING: Record<number, string> = {
  1: "unacceptable protocol version",
  2: "client identifier rejected",
  3: "server unavailable",
  4: "bad user name or password",
  5: "not authorized",
};

/** What a CONNACK return code means, in words. */
export function connackMeaning(code: number): string {
  return CONNACK_MEANING[code] ?? "not a return code MQTT 3.1.1 defines (1..5): the broker refuses this login";
}

function hostOf(url: string): string {
  return url.replace(/^[a-z]+:\/\//, "");
}

function consoleError(url: string, error: Error & { code?: unknown }): CloudConsoleError {
  const where = hostOf(url);
  if (typeof error.code === "number")
    return new CloudConsoleError(`the broker at ${where} refused the cloud console's login: CONNACK ${error.code} (${connackMeaning(error.code)})`);
  const code = typeof error.code === "string" ? error.code : "";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new CloudConsoleError(`cannot reach the broker: unknown host ${JSON.stringify(where.replace(/:\d+$/, ""))}`);
  if (code === "ECONNREFUSED") return new CloudConsoleError(`cannot reach the broker at ${where}: connection refused (is it running?)`);
  return new CloudConsoleError(`cannot reach the broker at ${where}: ${error.message}`);
}

export class EmbeddedCloud implements CloudSide {
  constructor(
    private readonly broker: OneNetBroker,
    private readonly productId: string,
    private readonly deviceName: string,
  ) {}

  async setProperty(params: Record<string, unknown>): Promise<string> {
    return this.broker.setProperty(this.productId, this.deviceName, params);
  }

  async getProperty(identifiers: string[]): Promise<string> {
    return this.broker.getProperty(this.productId, this.deviceName, identifiers);
  }

  async setDesired(params: Record<string, unknown>): Promise<Record<string, number>> {
    return this.broker.setDesired(this.productId, this.deviceName, params);
  }

  onDeviceMessage(listener: (message: DeviceMessage) => void): () => void {
    return this.broker.onEvent((event) => {
      if (event.type !== "device-publish" || event.deviceName !== this.deviceName || event.productId !== this.productId) return;
      listener({ kind: event.kind, topic: event.topic, payload: new TextDecoder().decode(event.payload), json: event.json });
    });
  }

  async close(): Promise<void> {}
}

/** Device -> cloud topic suffixes and the kind names EmbeddedCloud reports for them. */
const DEVICE_KINDS: Record<string, string> = {
  "property/post": "property/post",
  "event/post": "event/post",
  "property/desired/get": "desired/get",
  "property/desired/delete": "desired/delete",
  "property/set_reply": "set_reply",
  "property/get_reply": "get_reply",
};

export class MqttCloud implements CloudSide {
  private nextId = Math.floor(Date.now() % 1_000_000) * 1000;
  private readonly listeners = new Set<(message: DeviceMessage) => void>();
  private readonly prefix: string;

  private constructor(
    private readonly client: mqtt.MqttClient,
    productId: string,
    deviceName: string,
  ) {
    this.prefix = `$sys/${productId}/${deviceName}/thing/`;
    client.on("message", (topic, payload) => {
      if (!topic.startsWith(this.prefix)) return;
      const rest = topic.slice(this.prefix.length);
      const kind = DEVICE_KINDS[rest] ?? (/^service\/[^/]+\/invoke_reply$/.test(rest) ? "invoke_reply" : undefined);
      if (!kind) return; // our own property/set and property/get, echoed by the broker
      const text = payload.toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      for (const listener of this.listeners) listener({ kind, topic, payload: text, json });
    });
  }

  /**
   * Connects to `url` (e.g. mqtt://127.0.0.1:1883) as the cloud side of one device, with `login`
   * when the broker wants one. A broker that refuses the login, or cannot be reached, is a
   * CloudConsoleError whose message says which and why (never the password).
   */
  static async connect(url: string, productId: string, deviceName: string, login: CloudLogin = {}): Promise<MqttCloud> {
    const client = mqtt.connect(url, {
      clientId: login.clientId ?? `onenet-led-cloud-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      ...(login.username !== undefined ? { username: login.username } : {}),
      ...(login.password !== undefined ? { password: login.password } : {}),
      // No retry until the first login worked: a refusal is an answer, not a fault to hammer.
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    let onError: (error: Error) => void = () => {};
    let onClose: () => void = () => {};
    try {
      await new Promise<void>((resolve, reject) => {
        onError = (error) => reject(consoleError(url, error));
        onClose = () => reject(new CloudConsoleError(`the broker at ${hostOf(url)} closed the cloud console's connection before answering its login`));
        client.once("connect", () => resolve());
        client.once("error", onError);
        client.once("close", onClose);
      });
    } catch (error) {
      client.end(true);
      throw error;
    } finally {
      client.off("error", onError);
      client.off("close", onClose);
    }
    // Once logged in, come back by itself after a broker restart.
    client.options.reconnectPeriod = 500;
    client.on("error", () => {});
    const cloud = new MqttCloud(client, productId, deviceName);
    await client.subscribeAsync(`$sys/${productId}/${deviceName}/thing/#`, { qos: 0 });
    return cloud;
  }

  private id(): string {
    this.nextId = (this.nextId + 1) % 1e13;
    return String(this.nextId);
  }

  async setProperty(params: Record<string, unknown>): Promise<string> {
    const id = this.id();
    await this.client.publishAsync(`${this.prefix}property/set`, JSON.stringify({ id, version: "1.0", params }), { qos: 0 });
    return id;
  }

  async setDesired(): Promise<Record<string, number>> {
    throw new NoDesiredStoreError();
  }

  async getProperty(identifiers: string[]): Promise<string> {
    const id = this.id();
    await this.client.publishAsync(`${this.prefix}property/get`, JSON.stringify({ id, version: "1.0", params: identifiers }), { qos: 0 });
    return id;
  }

  onDeviceMessage(listener: (message: DeviceMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
