// An embedded broker that behaves like China Mobile OneNET's thing-model MQTT service, built on Aedes.
// The simulator puts the firmware in front of it, and the tests use it as the far end that checks the
// firmware instead of trusting it: the token is verified here with Node's crypto, OneNET's CONNECT and
// PUBLISH rules are enforced the way OneNET enforces them (link closed, no CONNACK), and a cloud side sends
// property/set, property/get and service invocations like the OneNET console would.
//
// Public API
//   new OneNetBroker(options: OneNetBrokerOptions)
//     options.devices: { productId; deviceName; key /* base64 device key */ }[]
//     options.productKeys?: Record<productId, base64 product key>   (a device may sign with it instead)
//     options.wallTime?: () => number   ms; token expiry, login rate limit, ban, restart window, event `t`
//     options.log?: (line: string) => void   (never given a token or key)
//     options.banReturnCode?: 2|3|4|5 = 3   CONNACK code for a login over the rate limit, and while banned
//     options.connectTimeoutMs?: number = 30000   link closed when no CONNECT arrives (real time)
//     options.historyLimit?: number = 10000   events kept in `history`
//   ready(): Promise<void>                     Aedes set up (handle() waits for it by itself)
//   handle(stream: Duplex): void               attach one client connection in-process
//   listen(port = 0, host = "127.0.0.1", tls?: { key, cert }): Promise<number>   loopback TCP/TLS; the port
//   restart(downMs = 2000): Promise<void>      drop every client, refuse links until wallTime passes downMs
//                                              (listeners closed, reopened on the same port after downMs real ms);
//                                              resolves when up again
//   readonly down: boolean
//   close(): Promise<void>
//   kick(productId, deviceName): boolean       close the device's link (a "tcp-close" from the cloud)
//   refuseNextConnects(...codes)               fault injection: refuse the next CONNECTs with these CONNACK codes
//   refuseNextSubscription(suffix)             fault injection: SUBACK 0x80 for the next filter ending in suffix
// Cloud side
//   setProperty(productId, deviceName, params: Record<string, unknown>): string   property/set QoS 0; the id.
//       To a device that is not online it throws DeviceOfflineError ("device not online"), as OneNET
//       answers, and nothing is kept: a set never becomes a desired value.
//   setDesired(productId, deviceName, params): Record<name, version>   desired values (./desired.ts),
//       online or not; nothing is sent: the device fetches them with property/desired/get
//   getProperty(productId, deviceName, identifiers: string[]): string               property/get; the id
//   invokeService(productId, deviceName, serviceId: string, params: Record<string, unknown>): string
//       (both throw DeviceOfflineError like setProperty)
//   publishRaw(productId, deviceName, suffix, payload)   any QoS 0 message on $sys/{pid}/{dev}/thing/<suffix>
//   waitForReply(id: string, timeoutMs = 5000): Promise<DevicePublishEvent>  the set/get/invoke reply with that id
// State
//   isOnline(productId, deviceName): boolean
//   reported(productId, deviceName): Record<string, { value: unknown; time?: number }>   from property/post
//   desired(productId, deviceName): Record<string, { value: unknown; version: number }>
//   subscriptions(productId, deviceName): string[]   granted filters of the online link
// Events
//   onEvent(listener: (e: BrokerEvent) => void): () => void   returns an unsubscribe function
//   readonly history: BrokerEvent[];  mark(): number (current history length)
//   waitFor<E>(predicate: (e: BrokerEvent) => boolean, timeoutMs = 5000, since = mark()): Promise<E>
//       resolves with the first matching event at history index >= since; rejects after timeoutMs (real time)
//
// OneNET behaviour reproduced (see /work/shared/reference/onenet.md):
//   - CONNACK 4 for a bad, malformed, expired (et <= now) or mismatched token (res must be
//     products/{user name}/devices/{client id}, signed with the device key or the product key), or an
//     unknown device.
//   - Link closed without CONNACK for: protocol level 3 (3.1), clean session 0, a will, keepalive outside
//     10..1800, a second CONNECT (Aedes), publish with QoS 2 or retain, publish outside the device's own
//     device->cloud topics. Level 5 gets CONNACK 1 (Aedes).
//   - SUBSCRIBE: only filters under $sys/{pid}/{dev}/thing/ (thing/# included; $sys/{pid}/{dev}/# refused)
//     and $sys/{pid}/{dev}/ota/ (the SDK subscribes ota/#); others 0x80. Cloud->device messages are
//     QoS 0, never echoed back from the device.
//   - property/post -> property/post/reply {"id","code":200,"msg":"success"}; 2402 "request format error"
//     when a param lacks the {"value": ...} wrapper; 2400 when the payload is not a JSON object with a
//     string id. event/post -> event/post/reply likewise. property/desired/get -> .../get/reply with
//     "data":{"<name>":{"value":v,"version":n}}; property/desired/delete {"<name>":{"version":n}} ->
//     .../delete/reply, deleting only when no newer version was set since (no version: whatever it is).
//   - OneNET's limits (./limits.ts), each named in the log and as a "limit" event with the reaction:
//     a 4th login in 5 s -> CONNACK banReturnCode (more than 10 -> banned 5 minutes, the same code
//     meanwhile); subscriptions granted at QoS 0 whatever was asked; a SUBSCRIBE of more than 8 filters,
//     a filter of more than 8 levels or 512 bytes, an 11th filter -> SUBACK 0x80; a payload over 256 KB
//     -> the link closed.
//   - Aedes drops a client after 1.5 x keepalive of silence (real time).
// Timing notes: isOnline() turns true the moment the CONNACK 0 bytes leave (before Aedes's own event).
// Aedes works in event-loop turns (setImmediate/promises), never in virtual time: a test driving the
// firmware on a VirtualClock must yield to Node while it advances the clock (host-sim/network.ts pump);
// a CONNECT round trip then costs a few virtual ms. Human/JSON rendering of events: ./format.ts.
import { Aedes } from "aedes";
import type { AuthenticateError, Client, ConnectPacket, PublishPacket, Subscription } from "aedes";
import { parser as mqttParser } from "mqtt-packet";
import { once, type EventEmitter } from "node:events";
import net from "node:net";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import type { BrokerEvent, DevicePublishEvent, LimitName, Transport } from "./events.js";
import { MqttFramer, TapStream } from "./tap.js";
import { DesiredStore, type DesiredValue } from "./desired.js";
import {
  BAN_MS,
  LOGIN_BAN_THRESHOLD,
  LOGIN_WINDOW_MS,
  LOGINS_PER_WINDOW,
  MAX_FILTERS_PER_SUBSCRIBE,
  MAX_GRANTED_QOS,
  MAX_PAYLOAD_BYTES,
  MAX_SUBSCRIPTIONS,
  countLogins,
  filterProblem,
} from "./limits.js";
import { verifyToken } from "./token-check.js";
import {
  classifyDevicePublish,
  replyTopicFor,
  subscriptionAllowed,
  thingPrefix,
  topicMatches,
  type DevicePublishKind,
} from "./topics.js";

export type { BrokerEvent, DevicePublishEvent } from "./events.js";
export type { DevicePublishKind } from "./topics.js";

export interface DeviceCredentials {
  productId: string;
  deviceName: string;
  /** base64 device key */
  key: string;
}

export interface OneNetBrokerOptions {
  devices: DeviceCredentials[];
  productKeys?: Record<string, string>;
  wallTime?: () => number;
  log?: (line: string) => void;
  banReturnCode?: 2 | 3 | 4 | 5;
  connectTimeoutMs?: number;
  historyLimit?: number;
}

export const KEEPALIVE_MIN = 10;
export const KEEPALIVE_MAX = 1800;
export * from "./limits.js";

interface DeviceState {
  productId: string;
  deviceName: string;
  key: string | undefined;
  link: Link | undefined;
  reported: Record<string, { value: unknown; time?: number }>;
  desired: DesiredStore;
  logins: number[];
  bannedUntil: number;
}

interface Link {
  id: number;
  transport: Transport;
  tap: TapStream;
  inFramer: MqttFramer;
  outFramer: MqttFramer;
  inParser: ReturnType<typeof mqttParser>;
  outParser: ReturnType<typeof mqttParser>;
  lastDecoded: Record<string, unknown> | undefined;
  productId?: string;
  deviceName?: string;
  device?: DeviceState;
  online: boolean;
  closed: boolean;
  closeReason?: string;
  /** why authenticate refused, for the CONNACK event */
  refusal?: string | undefined;
  subs: Set<string>;
  /** The filters of a SUBSCRIBE that held more than OneNET's 8: each is refused. */
  oversizedSubscribe: WeakSet<object>;
}

interface ServerEntry {
  server: net.Server;
  host: string;
  port: number;
  tls?: { key: string | Buffer; cert: string | Buffer };
}

type Waiter = { pred: (e: BrokerEvent) => boolean; resolve: (e: BrokerEvent) => void };

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function deviceKey(productId: string, deviceName: string): string {
  return `${productId}\u0000${deviceName}`;
}

function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), "utf8");
}

function redact(packet: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...packet };
  if (copy["password"] !== undefined) copy["password"] = "<redacted>";
  if (copy["payload"] instanceof Uint8Array) copy["payload"] = Buffer.from(copy["payload"] as Uint8Array).toString("utf8");
  return copy;
}

class RuleViolation extends Error {}

/** OneNET's message with code 2402 (a parameter of the wrong shape, a property/post value without its wrapper). */
export const FORMAT_ERROR = "request format error";

/** What a property/desired/delete names: {"led":{"version":3},"other":{}}; undefined when malformed. */
function desiredDeleteParams(params: unknown): [string, number | undefined][] | undefined {
  if (typeof params !== "object" || params === null || Array.isArray(params)) return undefined;
  const out: [string, number | undefined][] = [];
  for (const [name, spec] of Object.entries(params as Record<string, unknown>)) {
    if (typeof spec !== "object" || spec === null || Array.isArray(spec)) return undefined;
    const version = (spec as { version?: unknown }).version;
    if (version !== undefined && !(Number.isInteger(version) && (version as number) >= 0)) return undefined;
    out.push([name, version as number | undefined]);
  }
  return out;
}

/**
 * A cloud request for a device that is not online: OneNET answers "device not online" and keeps
 * nothing (a property/set does not become a desired value; a desired value is set on purpose).
 */
export class DeviceOfflineError extends Error {
  override name = "DeviceOfflineError";
  constructor() {
    super("device not online");
  }
}

export class OneNetBroker {
  private readonly injectedRefusals: number[] = [];
  private readonly injectedSubscribeRefusals: string[] = [];
  private readonly aedes: Aedes;
  private readonly readyPromise: Promise<void>;
  private isReady = false;
  private readonly wallTime: () => number;
  private readonly log: (line: string) => void;
  private readonly banReturnCode: number;
  private readonly historyLimit: number;
  private readonly productKeys: Record<string, string>;
  private readonly devices = new Map<string, DeviceState>();
  private readonly links = new Set<Link>();
  private readonly linkOf = new WeakMap<object, Link>();
  private readonly listeners = new Set<(e: BrokerEvent) => void>();
  private readonly waiters = new Set<Waiter>();
  private readonly servers: ServerEntry[] = [];
  private nextLinkId = 1;
  private nextMessageId = 1;
  private downUntil = -Infinity;
  private restarting: Promise<void> | undefined;
  private closed = false;
  readonly history: BrokerEvent[] = [];
  /** events dropped off the front of `history` because of historyLimit */
  private historyBase = 0;

  constructor(options: OneNetBrokerOptions) {
    this.wallTime = options.wallTime ?? Date.now;
    this.log = options.log ?? (() => {});
    this.banReturnCode = options.banReturnCode ?? 3;
    this.historyLimit = options.historyLimit ?? 10_000;
    this.productKeys = { ...(options.productKeys ?? {}) };
    for (const d of options.devices) this.deviceState(d.productId, d.deviceName, d.key);

    this.aedes = new Aedes({
      connectTimeout: options.connectTimeoutMs ?? 30_000,
      // OneNET device names may be longer than MQTT 3.1's 23 characters.
      maxClientsIdLength: 256,
      preConnect: (client, packet, cb) => this.preConnect(client, packet, cb),
      authenticate: (client, username, password, cb) => this.authenticate(client, username, password, cb),
      authorizePublish: (client, packet, cb) => this.authorizePublish(client, packet, cb),
      authorizeSubscribe: (client, sub, cb) => this.authorizeSubscribe(client, sub, cb),
      // Only the cloud's own messages reach devices: OneNET never echoes a device's publish back.
      authorizeForward: (_client, packet) => ((packet as { clientId?: string }).clientId === undefined ? packet : null),
      published: (packet, client, cb) => {
        if (client) this.onDevicePublish(client, packet);
        cb();
      },
    });
    (this.aedes as EventEmitter).on("error", (err: Error) => this.log(`broker: internal error: ${err.message}`));
    this.aedes.on("keepaliveTimeout", (client) => {
      const link = this.linkOf.get(client.conn);
      if (link && !link.closeReason) link.closeReason = "keepalive timeout";
    });
    this.aedes.on("clientError", (client, err) => this.noteError(client, err));
    this.aedes.on("connectionError", (client, err) => this.noteError(client, err));
    this.aedes.on("subscribe", (subs, client) => this.onSubscribe(client, subs));
    this.aedes.on("unsubscribe", (topics, client) => this.onUnsubscribe(client, topics));
    this.readyPromise = this.aedes.listen().then(() => {
      this.isReady = true;
    });
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  get down(): boolean {
    return this.wallTime() < this.downUntil;
  }

  // ---- connections ----

  handle(stream: Duplex): void {
    this.attach(stream, "stream");
  }

  async listen(port = 0, host = "127.0.0.1", tlsOptions?: { key: string | Buffer; cert: string | Buffer }): Promise<number> {
    if (!isLoopback(host)) throw new Error(`OneNetBroker listens on loopback only, not ${host}`);
    await this.readyPromise;
    const entry: ServerEntry = { server: this.createServer(tlsOptions), host, port, ...(tlsOptions ? { tls: tlsOptions } : {}) };
    entry.server.listen(port, host);
    await once(entry.server, "listening");
    const addr = entry.server.address();
    entry.port = typeof addr === "object" && addr ? addr.port : port;
    this.servers.push(entry);
    this.log(`broker: listening on ${host}:${entry.port}${tlsOptions ? " (TLS)" : ""}`);
    return entry.port;
  }

  private createServer(tlsOptions: ServerEntry["tls"]): net.Server {
    if (tlsOptions) {
      const server = tls.createServer({ key: tlsOptions.key, cert: tlsOptions.cert });
      server.on("secureConnection", (socket) => this.attach(socket, "tls"));
      server.on("tlsClientError", () => {});
      return server;
    }
    return net.createServer((socket) => this.attach(socket, "tcp"));
  }

  private attach(stream: Duplex, transport: Transport): void {
    stream.on("error", () => {});
    if (this.closed || this.down) {
      this.emit({ type: "refused", t: this.wallTime(), transport, reason: this.closed ? "closed" : "restarting" });
      stream.destroy();
      return;
    }
    if (!this.isReady) {
      this.readyPromise.then(
        () => this.attach(stream, transport),
        () => stream.destroy(),
      );
      return;
    }
    const id = this.nextLinkId++;
    const tap = new TapStream(
      stream,
      (bytes) => this.onBytes(link, "in", bytes),
      (bytes) => this.onBytes(link, "out", bytes),
    );
    const link: Link = {
      id,
      transport,
      tap,
      inFramer: new MqttFramer(),
      outFramer: new MqttFramer(),
      inParser: mqttParser({ protocolVersion: 4 }),
      outParser: mqttParser({ protocolVersion: 4 }),
      lastDecoded: undefined,
      online: false,
      closed: false,
      subs: new Set(),
      oversizedSubscribe: new WeakSet(),
    };
    for (const p of [link.inParser, link.outParser]) {
      p.on("packet", (packet: unknown) => {
        link.lastDecoded = packet as Record<string, unknown>;
      });
      p.on("error", () => {
        link.lastDecoded = undefined;
      });
    }
    this.links.add(link);
    this.linkOf.set(tap, link);
    tap.on("close", () => this.onLinkClosed(link));
    this.emit({ type: "link-open", t: this.wallTime(), conn: id, transport });
    const client = this.aedes.handle(tap);
    // A SUBSCRIBE seen whole, before Aedes handles it filter by filter: the count of its filters,
    // and the QoS granted (Aedes grants what was asked; OneNET at most 0). Aedes's parser is
    // internal; without it these two limits go unchecked rather than the link failing.
    const parser = (client as unknown as { _parser?: EventEmitter })._parser;
    parser?.prependListener("packet", (packet: { cmd?: string; subscriptions?: { topic: string; qos: number }[] }) => {
      if (packet.cmd === "subscribe" && Array.isArray(packet.subscriptions)) this.onSubscribePacket(link, packet.subscriptions);
    });
  }

  private onBytes(link: Link, dir: "in" | "out", bytes: Uint8Array): void {
    const framer = dir === "in" ? link.inFramer : link.outFramer;
    const parser = dir === "in" ? link.inParser : link.outParser;
    for (const frame of framer.push(bytes)) {
      link.lastDecoded = undefined;
      try {
        parser.parse(Buffer.from(frame));
      } catch {
        link.lastDecoded = undefined;
      }
      const decoded = link.lastDecoded as Record<string, unknown> | undefined;
      if (decoded && decoded["cmd"] === "connect") {
        // The reply parser must follow the client's protocol level to decode CONNACK and the rest.
        const level = decoded["protocolVersion"];
        if (level === 5 || level === 3) (link.outParser as unknown as { settings: { protocolVersion: number } }).settings.protocolVersion = level;
      }
      this.emit({
        type: "packet",
        t: this.wallTime(),
        conn: link.id,
        dir,
        bytes: frame,
        cmd: decoded ? String(decoded["cmd"]) : "unparsable",
        ...(decoded ? { packet: redact(decoded) } : {}),
      });
      // Online from the moment the CONNACK bytes leave, not when Aedes reports it a tick later: the device
      // may already be acting on it.
      if (dir === "out" && decoded && decoded["cmd"] === "connack") this.onConnack(link, Number(decoded["returnCode"] ?? 0));
    }
  }

  private onLinkClosed(link: Link): void {
    if (link.closed) return;
    link.closed = true;
    this.links.delete(link);
    const wasOnline = link.online;
    link.online = false;
    if (link.device && link.device.link === link) link.device.link = undefined;
    const reason = link.closeReason ?? "peer closed";
    this.log(`broker: link ${link.id}${link.deviceName ? ` (${link.deviceName})` : ""} closed: ${reason}`);
    this.emit({
      type: "disconnected",
      t: this.wallTime(),
      conn: link.id,
      ...(link.productId !== undefined ? { productId: link.productId } : {}),
      ...(link.deviceName !== undefined ? { deviceName: link.deviceName } : {}),
      wasOnline,
      reason,
    });
  }

  private noteError(client: Client, err: Error): void {
    const link = this.linkOf.get(client.conn);
    if (link && !link.closeReason) link.closeReason = err instanceof RuleViolation ? `rule: ${err.message}` : err.message;
  }

  // ---- Aedes hooks ----

  private preConnect(client: Client, packet: ConnectPacket, cb: (err: Error | null, ok: boolean) => void): void {
    const link = this.linkOf.get(client.conn);
    const productId = packet.username ?? "";
    const deviceName = packet.clientId ?? "";
    if (link) {
      link.productId = productId;
      link.deviceName = deviceName;
    }
    this.countLogin(productId, deviceName);
    let violation: string | undefined;
    if (packet.protocolVersion === 3) violation = "protocol level must be 4 (MQTT 3.1.1)";
    else if (packet.clean !== true) violation = "clean session must be 1";
    else if (packet.will) violation = "will flag must be 0";
    else if (packet.keepalive === undefined || packet.keepalive < KEEPALIVE_MIN || packet.keepalive > KEEPALIVE_MAX) {
      violation = `keepalive must be ${KEEPALIVE_MIN}..${KEEPALIVE_MAX} s, got ${packet.keepalive ?? "none"}`;
    }
    if (violation) {
      if (link) link.closeReason = `rule: ${violation}`;
      this.log(`broker: CONNECT from ${deviceName}: ${violation}: closing without CONNACK`);
      cb(new RuleViolation(violation), false);
      return;
    }
    cb(null, true);
  }

  private countLogin(productId: string, deviceName: string): void {
    const state = this.deviceState(productId, deviceName);
    const now = this.wallTime();
    countLogins(state.logins, now);
    state.logins.push(now);
    if (state.logins.length > LOGIN_BAN_THRESHOLD && state.bannedUntil <= now) {
      state.bannedUntil = now + BAN_MS;
      this.log(`broker: ${deviceName}: more than ${LOGIN_BAN_THRESHOLD} logins in ${LOGIN_WINDOW_MS / 1000} s: banned for ${BAN_MS / 60_000} min`);
      this.emit({ type: "ban", t: now, productId, deviceName, untilMs: state.bannedUntil });
    }
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    cb: (err: AuthenticateError | null, ok: boolean | null) => void,
  ): void {
    const link = this.linkOf.get(client.conn);
    const productId = username ?? "";
    const deviceName = client.id;
    const state = this.deviceState(productId, deviceName);
    const refuse = (code: number, reason: string): void => {
      if (link) link.closeReason = `CONNACK ${code}: ${reason}`;
      this.log(`broker: CONNECT from ${deviceName}: refused, CONNACK ${code} (${reason})`);
      const err = new Error(reason) as AuthenticateError;
      err.returnCode = code as AuthenticateError["returnCode"];
      if (link) link.refusal = reason;
      cb(err, null);
    };
    const now = this.wallTime();
    if (state.bannedUntil > now) {
      refuse(this.banReturnCode, "banned: too many logins");
      return;
    }
    if (this.injectedRefusals.length > 0) {
      refuse(this.injectedRefusals.shift()!, "injected fault");
      return;
    }
    const logins = countLogins(state.logins, now);
    if (logins > LOGINS_PER_WINDOW) {
      const detail = `login ${logins} in ${LOGIN_WINDOW_MS / 1000} s, OneNET allows ${LOGINS_PER_WINDOW}`;
      this.limit(link, productId, deviceName, "login-rate", `refused with CONNACK ${this.banReturnCode}`, detail);
      refuse(this.banReturnCode, `login rate: ${detail}`);
      return;
    }
    if (username === undefined || password === undefined) {
      refuse(4, "user name and password required");
      return;
    }
    const verdict = verifyToken(password.toString("utf8"), {
      productId,
      deviceName,
      deviceKey: state.key,
      // Either key signs, but only for a device created on the platform (one with a device key).
      productKey: state.key === undefined ? undefined : this.productKeys[productId],
      nowMs: now,
    });
    if (!verdict.ok) {
      refuse(4, `token: ${verdict.failure}`);
      return;
    }
    cb(null, true);
  }

  private onConnack(link: Link, returnCode: number): void {
    const productId = link.productId ?? "";
    const deviceName = link.deviceName ?? "";
    const reason = link.refusal;
    link.refusal = undefined;
    if (returnCode === 0) {
      const state = this.deviceState(productId, deviceName);
      link.online = true;
      link.device = state;
      state.link = link;
      this.log(`broker: ${deviceName} online (link ${link.id})`);
    } else if (!link.closeReason) {
      link.closeReason = `CONNACK ${returnCode}`;
    }
    this.emit({
      type: "connack",
      t: this.wallTime(),
      conn: link.id,
      productId,
      deviceName,
      returnCode,
      ...(reason !== undefined ? { reason } : returnCode !== 0 ? { reason: `CONNACK ${returnCode}` } : {}),
    });
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, cb: (err?: Error | null) => void): void {
    if (!client) {
      cb(null);
      return;
    }
    const link = this.linkOf.get(client.conn);
    let violation: string | undefined;
    const size = typeof packet.payload === "string" ? Buffer.byteLength(packet.payload) : packet.payload.length;
    if (size > MAX_PAYLOAD_BYTES) {
      violation = `a ${size}-byte payload, OneNET allows ${MAX_PAYLOAD_BYTES}`;
      this.limit(link, link?.productId ?? "", link?.deviceName ?? client.id, "payload-size", "link closed", violation);
    } else if (packet.qos === 2) violation = "QoS 2 publish is not supported";
    else if (packet.retain) violation = "retain must be 0";
    else if (!link || !classifyDevicePublish(packet.topic, link.productId ?? "", link.deviceName ?? "")) {
      violation = `publish to a topic the device may not use: ${packet.topic}`;
    }
    if (violation) {
      if (link) link.closeReason = `rule: ${violation}`;
      this.log(`broker: ${client.id}: ${violation}: closing`);
      cb(new RuleViolation(violation));
      return;
    }
    cb(null);
  }

  private authorizeSubscribe(client: Client, sub: Subscription, cb: (err: Error | null, sub?: Subscription | null) => void): void {
    const link = this.linkOf.get(client.conn);
    const injected = this.injectedSubscribeRefusals.findIndex((suffix) => sub.topic.endsWith(suffix));
    if (injected >= 0) {
      this.injectedSubscribeRefusals.splice(injected, 1);
      cb(null, null);
      return;
    }
    if (!link) {
      cb(null, null);
      return;
    }
    const productId = link.productId ?? "";
    const deviceName = link.deviceName ?? "";
    if (link.oversizedSubscribe.has(sub)) {
      cb(null, null);
      return;
    }
    const problem = filterProblem(sub.topic);
    if (problem) {
      this.limit(link, productId, deviceName, problem.limit, "SUBACK 0x80", `${sub.topic.length > 80 ? `${sub.topic.slice(0, 80)}...` : sub.topic}: ${problem.detail}`);
      cb(null, null);
      return;
    }
    if (!subscriptionAllowed(sub.topic, productId, deviceName)) {
      cb(null, null);
      return;
    }
    if (!link.subs.has(sub.topic) && link.subs.size >= MAX_SUBSCRIPTIONS) {
      this.limit(link, productId, deviceName, "subscriptions", "SUBACK 0x80", `${sub.topic} would be filter ${link.subs.size + 1}, OneNET allows ${MAX_SUBSCRIPTIONS} per device`);
      cb(null, null);
      return;
    }
    link.subs.add(sub.topic);
    cb(null, sub);
  }

  /** A SUBSCRIBE as it arrived: more than 8 filters fail together; a QoS above 0 is granted as 0. */
  private onSubscribePacket(link: Link, subs: { topic: string; qos: number }[]): void {
    const productId = link.productId ?? "";
    const deviceName = link.deviceName ?? "";
    const distinct = new Set(subs.map((s) => s.topic)).size;
    if (distinct > MAX_FILTERS_PER_SUBSCRIBE) {
      for (const sub of subs) link.oversizedSubscribe.add(sub);
      this.limit(link, productId, deviceName, "filters-per-subscribe", "SUBACK 0x80 for every filter", `${distinct} filters in one SUBSCRIBE, OneNET allows ${MAX_FILTERS_PER_SUBSCRIBE}`);
    }
    for (const sub of subs) {
      if (sub.qos <= MAX_GRANTED_QOS) continue;
      this.limit(link, productId, deviceName, "granted-qos", `QoS ${MAX_GRANTED_QOS} granted`, `${sub.topic} asked QoS ${sub.qos}; OneNET delivers at QoS ${MAX_GRANTED_QOS}`);
      sub.qos = MAX_GRANTED_QOS;
    }
  }

  /** One of OneNET's limits reached: named in the log and as an event, with the reaction. */
  private limit(link: Link | undefined, productId: string, deviceName: string, limit: LimitName, reaction: string, detail: string): void {
    this.log(`broker: ${deviceName || "?"}: OneNET limit ${limit}: ${reaction} (${detail})`);
    this.emit({ type: "limit", t: this.wallTime(), ...(link ? { conn: link.id } : {}), productId, deviceName, limit, reaction, detail });
  }

  private onSubscribe(client: Client, subs: Subscription[]): void {
    const link = this.linkOf.get(client.conn);
    if (!link) return;
    this.emit({
      type: "subscribe",
      t: this.wallTime(),
      conn: link.id,
      productId: link.productId ?? "",
      deviceName: link.deviceName ?? "",
      topics: subs.map((s) => s.topic),
      granted: subs.map((s) => s.qos),
    });
  }

  private onUnsubscribe(client: Client, topics: string[]): void {
    const link = this.linkOf.get(client.conn);
    if (!link) return;
    for (const t of topics) link.subs.delete(t);
    if (client.closed || link.closed) return;
    this.emit({
      type: "unsubscribe",
      t: this.wallTime(),
      conn: link.id,
      productId: link.productId ?? "",
      deviceName: link.deviceName ?? "",
      topics,
    });
  }

  // ---- device -> cloud ----

  private onDevicePublish(client: Client, packet: PublishPacket): void {
    const link = this.linkOf.get(client.conn);
    if (!link || !link.device) return;
    const state = link.device;
    const cls = classifyDevicePublish(packet.topic, state.productId, state.deviceName);
    if (!cls) return;
    const payload = typeof packet.payload === "string" ? Buffer.from(packet.payload, "utf8") : Buffer.from(packet.payload);
    let json: unknown;
    let jsonOk = false;
    try {
      json = JSON.parse(payload.toString("utf8"));
      jsonOk = true;
    } catch {
      jsonOk = false;
    }
    const obj = jsonOk && typeof json === "object" && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
    const id = obj && typeof obj["id"] === "string" ? (obj["id"] as string) : undefined;
    const event: DevicePublishEvent = {
      type: "device-publish",
      t: this.wallTime(),
      conn: link.id,
      productId: state.productId,
      deviceName: state.deviceName,
      topic: packet.topic,
      qos: packet.qos,
      kind: cls.kind,
      ...(cls.serviceId !== undefined ? { serviceId: cls.serviceId } : {}),
      payload: new Uint8Array(payload),
      ...(jsonOk ? { json } : {}),
      ...(id !== undefined ? { id } : {}),
    };
    this.emit(event);
    this.answer(state, cls.kind, obj, id, payload);
  }

  private answer(
    state: DeviceState,
    kind: DevicePublishKind,
    obj: Record<string, unknown> | undefined,
    id: string | undefined,
    payload: Buffer,
  ): void {
    const topic = replyTopicFor(kind, state.productId, state.deviceName);
    if (!topic) return;
    const replyId = id ?? /"id"\s*:\s*"([0-9]{1,13})"/.exec(payload.toString("utf8"))?.[1] ?? "";
    const reply = (code: number, msg: string, data?: unknown): void => {
      const body: Record<string, unknown> = { id: replyId, code, msg };
      if (data !== undefined) body["data"] = data;
      this.cloudPublish(state, topic, "reply", replyId, body);
    };
    if (!obj || id === undefined) {
      reply(2400, "invalid format");
      return;
    }
    const params = obj["params"];
    switch (kind) {
      case "property/post":
      case "event/post": {
        if (typeof params !== "object" || params === null || Array.isArray(params)) {
          reply(2402, FORMAT_ERROR);
          return;
        }
        const entries = Object.entries(params as Record<string, unknown>);
        for (const [, v] of entries) {
          if (typeof v !== "object" || v === null || !("value" in v)) {
            reply(2402, FORMAT_ERROR);
            return;
          }
        }
        if (kind === "property/post") {
          for (const [name, v] of entries) {
            const w = v as { value: unknown; time?: unknown };
            state.reported[name] = typeof w.time === "number" ? { value: w.value, time: w.time } : { value: w.value };
          }
        }
        reply(200, "success");
        return;
      }
      case "desired/get": {
        const names = params === undefined ? [] : params;
        if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
          reply(2402, FORMAT_ERROR);
          return;
        }
        reply(200, "success", state.desired.get(names as string[]));
        return;
      }
      case "desired/delete": {
        const wanted = desiredDeleteParams(params);
        if (!wanted) {
          reply(2402, FORMAT_ERROR);
          return;
        }
        for (const [name, version] of wanted) {
          const outcome = state.desired.delete(name, version);
          if (outcome === "absent") continue;
          const named = version === undefined ? "any version" : `version ${version}`;
          this.log(`broker: ${state.deviceName}: desired ${name} ${outcome === "deleted" ? `deleted (${named})` : `kept: newer than the ${named} named`}`);
          this.emit({ type: "desired", t: this.wallTime(), productId: state.productId, deviceName: state.deviceName, action: outcome, name, ...(version !== undefined ? { version } : {}) });
        }
        reply(200, "success");
        return;
      }
      default:
        return;
    }
  }

  // ---- cloud -> device ----

  private newId(): string {
    const id = String(this.nextMessageId);
    this.nextMessageId = this.nextMessageId >= 999_999_999 ? 1 : this.nextMessageId + 1;
    return id;
  }

  private cloudPublish(
    state: DeviceState,
    topic: string,
    kind: "property/set" | "property/get" | "service/invoke" | "reply",
    id: string,
    body: unknown,
  ): void {
    const payload = encodeJson(body);
    const link = state.link;
    let delivered = false;
    if (link && link.online && !this.down) {
      for (const f of link.subs) if (topicMatches(f, topic)) delivered = true;
    }
    this.emit({
      type: "cloud-publish",
      t: this.wallTime(),
      productId: state.productId,
      deviceName: state.deviceName,
      topic,
      kind,
      id,
      payload: new Uint8Array(payload),
      json: body,
      delivered,
    });
    if (!this.closed) {
      this.aedes.publish({ cmd: "publish", topic, payload, qos: 0, retain: false, dup: false }, () => {});
    }
  }

  /** A raw QoS 0 message on one of the device's thing topics (tests, benchmarks): `suffix` follows `thing/`. */
  publishRaw(productId: string, deviceName: string, suffix: string, payload: Uint8Array): void {
    if (!this.closed) {
      const topic = thingPrefix(productId, deviceName) + suffix;
      this.aedes.publish({ cmd: "publish", topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, () => {});
    }
  }

  /**
   * The cloud's requests (property/set, property/get, service invoke) go to an online device only: to
   * an offline one they fail with OneNET's "device not online" and nothing is kept.
   */
  private onlineDevice(productId: string, deviceName: string, what: string): DeviceState {
    const state = this.deviceState(productId, deviceName);
    if (state.link?.online !== true || this.down) {
      this.log(`broker: ${what} to ${deviceName} refused: device not online`);
      throw new DeviceOfflineError();
    }
    return state;
  }

  setProperty(productId: string, deviceName: string, params: Record<string, unknown>): string {
    const state = this.onlineDevice(productId, deviceName, "property/set");
    const id = this.newId();
    this.cloudPublish(state, thingPrefix(productId, deviceName) + "property/set", "property/set", id, { id, version: "1.0", params });
    return id;
  }

  /** Desired values, kept by the platform until the device deletes them; the device may be offline. Returns the versions. */
  setDesired(productId: string, deviceName: string, params: Record<string, unknown>): Record<string, number> {
    const state = this.deviceState(productId, deviceName);
    const versions: Record<string, number> = {};
    for (const [name, value] of Object.entries(params)) {
      const version = state.desired.set(name, value);
      versions[name] = version;
      this.log(`broker: ${deviceName}: desired ${name}=${JSON.stringify(value)} set (version ${version})`);
      this.emit({ type: "desired", t: this.wallTime(), productId, deviceName, action: "set", name, version, value });
    }
    return versions;
  }

  getProperty(productId: string, deviceName: string, identifiers: string[]): string {
    const state = this.onlineDevice(productId, deviceName, "property/get");
    const id = this.newId();
    this.cloudPublish(state, thingPrefix(productId, deviceName) + "property/get", "property/get", id, {
      id,
      version: "1.0",
      params: identifiers,
    });
    return id;
  }

  invokeService(productId: string, deviceName: string, serviceId: string, params: Record<string, unknown>): string {
    if (!/^[^/+#]+$/.test(serviceId)) throw new Error(`invalid service id: ${serviceId}`);
    const state = this.onlineDevice(productId, deviceName, `service ${serviceId}`);
    const id = this.newId();
    this.cloudPublish(state, thingPrefix(productId, deviceName) + `service/${serviceId}/invoke`, "service/invoke", id, {
      id,
      version: "1.0",
      params,
    });
    return id;
  }

  waitForReply(id: string, timeoutMs = 5000): Promise<DevicePublishEvent> {
    return this.waitFor<DevicePublishEvent>(
      (e) =>
        e.type === "device-publish" &&
        (e.kind === "set_reply" || e.kind === "get_reply" || e.kind === "invoke_reply") &&
        e.id === id,
      timeoutMs,
    );
  }

  // ---- state ----

  private deviceState(productId: string, deviceName: string, key?: string): DeviceState {
    const k = deviceKey(productId, deviceName);
    let s = this.devices.get(k);
    if (!s) {
      s = { productId, deviceName, key, link: undefined, reported: {}, desired: new DesiredStore(), logins: [], bannedUntil: -Infinity };
      this.devices.set(k, s);
    } else if (key !== undefined) {
      s.key = key;
    }
    return s;
  }

  isOnline(productId: string, deviceName: string): boolean {
    return this.devices.get(deviceKey(productId, deviceName))?.link?.online === true;
  }

  reported(productId: string, deviceName: string): Record<string, { value: unknown; time?: number }> {
    return { ...(this.devices.get(deviceKey(productId, deviceName))?.reported ?? {}) };
  }

  desired(productId: string, deviceName: string): Record<string, DesiredValue> {
    return this.devices.get(deviceKey(productId, deviceName))?.desired.snapshot() ?? {};
  }

  subscriptions(productId: string, deviceName: string): string[] {
    const link = this.devices.get(deviceKey(productId, deviceName))?.link;
    return link ? [...link.subs] : [];
  }

  kick(productId: string, deviceName: string): boolean {
    const link = this.devices.get(deviceKey(productId, deviceName))?.link;
    if (!link) return false;
    link.closeReason = "closed by the cloud";
    link.tap.destroy();
    return true;
  }

  // ---- events ----

  private emit(e: BrokerEvent): void {
    this.history.push(e);
    if (this.history.length > this.historyLimit) {
      const drop = this.history.length - this.historyLimit;
      this.history.splice(0, drop);
      this.historyBase += drop;
    }
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log(`broker: event listener threw: ${(err as Error).message}`);
      }
    }
    for (const w of this.waiters) {
      if (w.pred(e)) {
        this.waiters.delete(w);
        w.resolve(e);
      }
    }
  }

  onEvent(listener: (e: BrokerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** An absolute event index, to pass to waitFor as `since`. */
  mark(): number {
    return this.historyBase + this.history.length;
  }

  waitFor<E extends BrokerEvent = BrokerEvent>(pred: (e: BrokerEvent) => boolean, timeoutMs = 5000, since = this.mark()): Promise<E> {
    for (let i = Math.max(0, since - this.historyBase); i < this.history.length; i++) {
      const e = this.history[i]!;
      if (pred(e)) return Promise.resolve(e as E);
    }
    return new Promise<E>((resolve, reject) => {
      const waiter: Waiter = {
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e as E);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`OneNetBroker.waitFor: no matching event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  // ---- lifecycle ----

  /** Fault injection: the next CONNECTs (any device) are refused with these CONNACK codes, in order. */
  refuseNextConnects(...codes: (1 | 2 | 3 | 4 | 5)[]): void {
    this.injectedRefusals.push(...codes);
  }

  /** Fault injection: the next subscription to a filter ending in `suffix` is refused (SUBACK 0x80). */
  refuseNextSubscription(suffix: string): void {
    this.injectedSubscribeRefusals.push(suffix);
  }

  restart(downMs = 2000): Promise<void> {
    if (this.restarting) return this.restarting;
    this.downUntil = this.wallTime() + downMs;
    this.emit({ type: "restart", t: this.wallTime(), downMs });
    this.log(`broker: restarting, down for ${downMs} ms`);
    const closing = this.servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.server.close(() => resolve());
        }),
    );
    for (const link of [...this.links]) {
      link.closeReason = "broker restart";
      link.tap.destroy();
    }
    this.restarting = (async () => {
      await Promise.all(closing);
      await new Promise((r) => setTimeout(r, downMs));
      if (this.closed) return;
      for (const s of this.servers) {
        s.server = this.createServer(s.tls);
        s.server.listen(s.port, s.host);
        await once(s.server, "listening");
      }
      this.restarting = undefined;
      this.emit({ type: "up", t: this.wallTime() });
      this.log("broker: up again");
    })();
    return this.restarting;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of [...this.links]) {
      link.closeReason = "broker closed";
      link.tap.destroy();
    }
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (!s.server.listening) resolve();
            else s.server.close(() => resolve());
          }),
      ),
    );
    await this.readyPromise.catch(() => {});
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
  }
}
