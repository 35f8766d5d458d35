/*
 * The LED application: a OneNET thing-model device with one boolean property (default `led`).
 *
 *   const device = new LedDevice(board, config, observer?);   // validates; allocates everything
 *   device.start();                                           // comes online and stays online
 *   device.stop();
 *   device.setWifi(ssid, password);                           // fixed credentials: tried at once
 *   device.client.state / device.client.cause                 // e.g. "refused" / "wifi-wrong-password"
 *
 * What it does:
 * - Links through the ESP8266 (firmware/at) and keeps an MQTT session (firmware/mqtt/client) with a
 *   fresh OneNET token before every CONNECT.
 * - Subscribes to its own thing topics: property/set, property/get, property/post/reply and
 *   property/desired/get/reply (plus service invoke, answered "unknown service"). Anything else that
 *   arrives, including its own publishes echoed back by a broker, is ignored.
 * - property/set: read in one pass against the schema of the properties it accepts (every member
 *   checked while the payload is scanned, nothing applied when one is wrong); then the LED
 *   switches, set_reply goes out at once with the cloud's id and code 200 (or an error code and
 *   message, LED untouched), then the new state is posted with property/post at QoS 1.
 * - Offline, the session's state names why: "backoff" (the link dropped: back soon), "refused"
 *   (wrong WiFi password, no such network, OneNET refused the login: a long wait), "needs-config"
 *   (settings this module cannot work with). The device logs it with the cause.
 * - property/get: get_reply with the current state.
 * - Desired values (what OneNET keeps for a device while it is offline; a property/set to an offline
 *   device fails instead): after every (re)connect the device posts its state and asks
 *   property/desired/get once. From the reply it takes the newest version of its property; it
 *   applies it (and posts the new state) unless a property/set was applied since it came online (the
 *   set is newer), then deletes it with property/desired/delete naming that version (QoS 1, so a
 *   lost link cannot leave it behind to undo a later set at the next reconnect; a value set since
 *   with a newer version is kept by the platform). A reply to any other request is ignored.
 *
 * All buffers are allocated here, once; handling a message allocates nothing. Nothing throws out of
 * a callback: the session catches and reports, and the app reports through the observer and log.
 */
import type { Board, BoardTimer } from "./board.js";
import type { DeviceConfig } from "./config.js";
import { Esp8266Driver, type LinkStatus } from "./at/driver.js";
import { MqttClient, type ClientError, type ClientState, type MqttClientHandler, type OfflineReason, type TopicBytes } from "./mqtt/client.js";
import type { DecodedPacket } from "./mqtt/decode.js";
import { OneJsonBuilder, OneJsonParser, MessageIds, ONEJSON_NO_ROOM, PropertySchema, type OneJsonError } from "./onenet/onejson.js";
import { ThingTopics, type FixedThingTopic } from "./onenet/thing.js";
import { TokenBuilder, chooseExpiry } from "./onenet/token.js";

/** Named outcomes the application reports (besides the session's and the driver's own). */
export type AppEvent =
  | "set-applied" // a property/set switched (or confirmed) the LED
  | "set-rejected" // a property/set was answered with an error; LED untouched
  | "get-answered"
  | "desired-applied" // a desired value was applied after (re)connecting (detail: "on|off version N")
  | "desired-superseded" // a desired value not applied: a property/set came after it (detail: "version N")
  | "desired-delete-queued" // property/desired/delete handed to the session (detail: "version N")
  | "post-rejected" // the cloud answered our property/post with a code other than 200
  | "reply-dropped" // a set_reply/get_reply could not be sent (link down or TX full)
  | "post-deferred" // the state post waits for an in-flight slot
  | "post-queued"; // a property/post was handed to the session at QoS 1 (detail: its id)

/** Optional hooks for host tools (the simulator's console and dashboard); a board passes none. */
export interface LedDeviceObserver {
  led?(on: boolean): void;
  link?(status: LinkStatus, detail: string): void;
  session?(state: ClientState): void;
  online?(): void;
  offline?(reason: OfflineReason, detail: string): void;
  error?(code: ClientError, detail: string): void;
  app?(event: AppEvent, detail: string): void;
}

/** After a refused subscription, the session is restarted to subscribe again: first after a minute,
 * doubling up to half an hour (a refusal by mistake heals; a permanent one does not hammer OneNET). */
const RESUBSCRIBE_FIRST_MS = 60_000;
/** deleteVersion when no property/desired/delete waits for an in-flight slot. */
const NO_DELETE = -2;
const RESUBSCRIBE_MAX_MS = 30 * 60_000;

/** The device is its session's handler (MqttClientHandler): the client calls it directly. */
export class LedDevice implements MqttClientHandler {
  readonly driver: Esp8266Driver;
  readonly client: MqttClient;
  private readonly topics: ThingTopics;
  private readonly token: TokenBuilder;
  /** The properties a property/set may carry: the LED's, index 0. */
  private readonly schema: PropertySchema;
  private readonly identifier: string;
  private readonly activeLow: boolean;
  private readonly json = new OneJsonBuilder();
  private readonly parser: OneJsonParser;
  private readonly ids = new MessageIds();
  /** Payloads we build (replies, posts): never the decoder's buffer, so echoed ids can be copied. */
  private readonly out: Uint8Array;
  private readonly postTopic: TopicBytes;
  private readonly setReplyTopic: TopicBytes;
  private readonly getReplyTopic: TopicBytes;
  private readonly desiredGetTopic: TopicBytes;
  private readonly desiredDeleteTopic: TopicBytes;
  private readonly invokeReplyTopic: TopicBytes;
  private ledOn = false;
  private postPending = false;
  /** The id of this session's property/desired/get until its reply is handled; 0: none awaited. */
  private desiredGetId = 0;
  /** A property/set was applied in this session: any desired value fetched now is older than it. */
  private setThisSession = false;
  /** The desired version still to delete (every in-flight slot was busy); -2: none. */
  private deleteVersion = NO_DELETE;
  /** A thing topic was refused (SUBACK 0x80) in this session: without it the device is deaf to part of the cloud. */
  private refusedThisSession = false;
  private resubscribeDelayMs = RESUBSCRIBE_FIRST_MS;
  private readonly resubscribeTimer: BoardTimer;
  private lastPostId = 0;
  private started = false;

  constructor(
    private readonly board: Board,
    private readonly config: DeviceConfig,
    private readonly observer: LedDeviceObserver = {},
  ) {
    const onenet = config.onenet;
    this.identifier = config.led.identifier;
    this.activeLow = config.led.activeLow;
    this.schema = new PropertySchema([{ identifier: this.identifier, type: "bool" }]);
    this.token = new TokenBuilder({ productId: onenet.productId, deviceName: onenet.deviceName, key: onenet.key, keyKind: onenet.keyKind, method: onenet.method });
    this.topics = new ThingTopics(onenet.productId, onenet.deviceName);
    this.parser = new OneJsonParser({ maxBytes: config.mqtt.bufferSize });
    this.out = new Uint8Array(config.mqtt.bufferSize);
    this.postTopic = this.topicBytes("property/post");
    this.setReplyTopic = this.topicBytes("property/set_reply");
    this.getReplyTopic = this.topicBytes("property/get_reply");
    this.desiredGetTopic = this.topicBytes("property/desired/get");
    this.desiredDeleteTopic = this.topicBytes("property/desired/delete");
    // Service ids vary; the reply topic is rebuilt in this one buffer for each invoke.
    this.invokeReplyTopic = { bytes: new Uint8Array(this.topics.maxLength(64)), offset: 0, length: 0 };

    this.driver = new Esp8266Driver(board, {
      ssid: config.wifi.ssid,
      password: config.wifi.password,
      host: config.mqtt.host,
      port: config.mqtt.port,
      tls: config.mqtt.tls,
      tlsVerify: config.mqtt.tlsVerify,
      tlsServerName: config.mqtt.tlsServerName,
      receiveMode: config.at.receiveMode,
      rxChunkSize: config.at.passiveReadSize,
      // Room for the largest packet the session may send (plus acks queued behind it).
      txBufferSize: Math.max(2048, config.mqtt.bufferSize + 64),
      onStatus: (status, detail) => this.observer.link?.(status, detail),
    });

    this.resubscribeTimer = board.clock.createTimer(() => {
      this.board.log("warn", "a thing topic was refused: reconnecting to subscribe again");
      this.client.stop();
      if (this.started) this.client.start();
    });
    const prefix = this.topics.topicString("property/set").slice(0, -"property/set".length);
    const clock = board.clock;
    this.client = new MqttClient(
      board,
      this.driver,
      {
        clientId: onenet.deviceName,
        username: onenet.productId,
        // A fresh token before every CONNECT: an expired `et` must never loop on CONNACK 4.
        writePassword: (out, offset) =>
          this.token.build(out, offset, chooseExpiry(clock.wallTime(), onenet.tokenLifetimeS, onenet.farFutureEt)),
        passwordBufferSize: this.token.maxLength,
        keepaliveS: config.mqtt.keepaliveS,
        bufferSize: config.mqtt.bufferSize,
        subscriptions: [
          { topic: `${prefix}property/set`, qos: 0 },
          { topic: `${prefix}property/get`, qos: 0 },
          { topic: `${prefix}property/post/reply`, qos: 0 },
          { topic: `${prefix}property/desired/get/reply`, qos: 0 },
          { topic: `${prefix}service/+/invoke`, qos: 0 },
        ],
      },
      this,
    );
  }

  /** Whether the LED is lit (the application's view; the pin level follows polarity). */
  get on(): boolean {
    return this.ledOn;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.board.led.write(this.ledOn !== this.activeLow ? 1 : 0);
    this.board.log("info", `starting: device ${this.config.onenet.deviceName} of product ${this.config.onenet.productId}, broker ${this.config.mqtt.host}:${this.config.mqtt.port}${this.config.mqtt.tls ? " (TLS)" : ""}`);
    this.client.start();
  }

  stop(): void {
    this.started = false;
    this.resubscribeTimer.cancel();
    this.client.stop();
  }

  /**
   * New WiFi credentials (the user fixed a wrong password): the session leaves its wait and tries
   * them at once (within OneNET's login cap).
   */
  setWifi(ssid: string, password: string): void {
    this.driver.setWifi(ssid, password);
    this.board.log("info", `WiFi settings changed: network "${ssid}"`);
    this.client.retryNow();
  }

  // ---- the session's handler (MqttClientHandler): called by the client, not by users ----

  onOffline(reason: OfflineReason, detail: string): void {
    this.refusedThisSession = false;
    this.board.log("warn", `offline: ${reason}${detail ? ` (${detail})` : ""}`);
    this.observer.offline?.(reason, detail);
  }

  onPublishAcked(): void {
    if (this.deleteVersion !== NO_DELETE) this.deleteDesired(this.deleteVersion);
    if (this.postPending) this.postState();
  }

  onError(code: ClientError, detail: string): void {
    if (code === "suback-refused" && !this.refusedThisSession) {
      this.refusedThisSession = true;
      this.resubscribeTimer.schedule(this.resubscribeDelayMs);
      this.resubscribeDelayMs = Math.min(RESUBSCRIBE_MAX_MS, this.resubscribeDelayMs * 2);
    }
    this.board.log("error", `mqtt: ${code}${detail ? ` (${detail})` : ""}`);
    this.observer.error?.(code, detail);
  }

  onStateChange(state: ClientState): void {
    if (state === "refused" || state === "needs-config") {
      this.board.log("warn", `offline, ${state === "refused" ? "refused" : "needs a configuration change"}: ${this.client.cause ?? "unknown cause"}`);
    }
    this.observer.session?.(state);
  }

  private topicBytes(kind: FixedThingTopic): TopicBytes {
    const bytes = new Uint8Array(this.topics.maxLength());
    const length = this.topics.write(kind, bytes, 0);
    return { bytes, offset: 0, length };
  }

  private setLed(on: boolean): void {
    const changed = on !== this.ledOn;
    this.ledOn = on;
    this.board.led.write(on !== this.activeLow ? 1 : 0);
    if (changed) {
      this.board.log("info", `LED ${on ? "on" : "off"}`);
      this.observer.led?.(on);
    }
  }

  onOnline(): void {
    if (!this.refusedThisSession) {
      this.resubscribeTimer.cancel();
      this.resubscribeDelayMs = RESUBSCRIBE_FIRST_MS;
    }
    this.board.log("info", "online");
    this.observer.online?.();
    this.setThisSession = false;
    this.postState();
    // Once per session: the values the cloud wants, kept while the device was away.
    const id = this.ids.next();
    this.json.beginDesiredGet(this.out, 0, id);
    this.json.addIdentifier(this.identifier);
    const length = this.json.end();
    this.desiredGetId = length > 0 && this.client.publish(this.desiredGetTopic, this.out, 0, length, 0) === "sent" ? id : 0;
  }

  /** Posts the LED state at QoS 1; when every in-flight slot is busy, posts once one frees up. */
  private postState(): void {
    this.lastPostId = this.ids.next();
    this.json.beginPropertyPost(this.out, 0, this.lastPostId, this.board.clock.wallTime());
    this.json.addBoolean(this.identifier, this.ledOn);
    const length = this.json.end();
    if (length <= 0) {
      this.report("post-deferred", "property/post does not fit the buffer");
      return;
    }
    const id = this.lastPostId;
    const result = this.client.publish(this.postTopic, this.out, 0, length, 1);
    this.postPending = result === "inflight-full";
    if (this.postPending) this.report("post-deferred", "every in-flight slot is busy");
    else if (result === "sent" || result === "queued") {
      if (this.observer.app) this.report("post-queued", String(id));
    } else this.board.log("error", `property/post not accepted: ${result}`);
  }

  onMessage(packet: DecodedPacket, buffer: Uint8Array): void {
    const kind = this.topics.matchThingTopic(buffer, packet.topicOffset, packet.topicLength);
    const payloadOffset = packet.payloadOffset;
    const payloadLength = packet.payloadLength;
    switch (kind) {
      case "property/set":
        this.onSet(buffer, payloadOffset, payloadLength);
        return;
      case "property/get":
        this.onGet(buffer, payloadOffset, payloadLength);
        return;
      case "property/desired/get/reply":
        this.onDesired(buffer, payloadOffset, payloadLength);
        return;
      case "property/post/reply": {
        const error = this.parser.parse(kind, buffer, payloadOffset, payloadLength);
        if (error !== "ok" || this.parser.code !== 200) this.report("post-rejected", error !== "ok" ? error : `code ${this.parser.code}`);
        return;
      }
      case "service/invoke":
        this.onInvoke(buffer, payloadOffset, payloadLength);
        return;
      default:
        // Our own publishes echoed back (a broker subscribed with thing/#), or a topic we do not
        // know: never acted on.
        return;
    }
  }

  private onSet(buffer: Uint8Array, offset: number, length: number): void {
    const parser = this.parser;
    const schema = this.schema;
    const error = parser.parseSet(buffer, offset, length, schema);
    if (error !== "ok") {
      this.sendReply(this.setReplyTopic, this.json.errorReply(this.out, 0, parser, error));
      if (this.observer.app) this.report("set-rejected", `${this.idText(buffer)} ${error}`);
      return;
    }
    const value = schema.given(0) ? schema.bool(0) : this.ledOn;
    this.setLed(value);
    this.setThisSession = true;
    this.sendReply(this.setReplyTopic, this.json.reply(this.out, 0, buffer, parser.idOffset, parser.idLength, 200, "success"));
    if (this.observer.app) this.report("set-applied", `${this.idText(buffer)} ${value ? "on" : "off"}`);
    this.postState();
  }

  private onGet(buffer: Uint8Array, offset: number, length: number): void {
    const parser = this.parser;
    let error: OneJsonError = parser.parse("property/get", buffer, offset, length);
    if (error === "ok") {
      parser.rewind();
      while (parser.next()) {
        if (parser.valueKind !== "string") error = "bad-params";
        else if (!parser.keyIs(this.identifier)) error = "unknown-identifier";
        if (error !== "ok") break;
      }
    }
    if (error !== "ok") {
      this.sendReply(this.getReplyTopic, this.json.errorReply(this.out, 0, parser, error));
      return;
    }
    this.json.beginGetReply(this.out, 0, buffer, parser.idOffset, parser.idLength);
    this.json.addBoolean(this.identifier, this.ledOn);
    this.sendReply(this.getReplyTopic, this.json.end());
    this.report("get-answered", this.ledOn ? "on" : "off");
  }

  private onDesired(buffer: Uint8Array, offset: number, length: number): void {
    const parser = this.parser;
    if (this.desiredGetId === 0) return;
    if (parser.parse("property/desired/get/reply", buffer, offset, length) !== "ok" || !parser.idEquals(this.desiredGetId)) return;
    this.desiredGetId = 0;
    if (parser.code !== 200) return;
    // The newest version of our property (a reply names each property once; should it not, the newest wins).
    let found = false;
    let value = false;
    let version = -1;
    parser.rewind();
    while (parser.next()) {
      if (!parser.keyIs(this.identifier) || !parser.unwrapValue()) continue;
      if (parser.valueKind !== "true" && parser.valueKind !== "false") continue;
      if (found && parser.valueVersion <= version) continue;
      found = true;
      value = parser.valueKind === "true";
      version = parser.valueVersion;
    }
    if (!found) return;
    if (this.setThisSession) {
      // The console set the LED after this device came online: that set is newer than anything the
      // platform kept while it was away.
      if (this.observer.app) this.report("desired-superseded", `version ${version}`);
    } else {
      const changed = value !== this.ledOn;
      this.setLed(value);
      if (this.observer.app) this.report("desired-applied", `${value ? "on" : "off"} version ${version}`);
      if (changed) this.postState();
    }
    this.deleteDesired(version);
  }

  /** property/desired/delete of `version` (-1: any) at QoS 1; when every slot is busy, once one frees up. */
  private deleteDesired(version: number): void {
    const id = this.ids.next();
    this.json.beginDesiredDelete(this.out, 0, id);
    this.json.addDesiredVersion(this.identifier, version);
    const length = this.json.end();
    const result = length > 0 ? this.client.publish(this.desiredDeleteTopic, this.out, 0, length, 1) : "invalid";
    this.deleteVersion = result === "inflight-full" ? version : NO_DELETE;
    if (result === "sent" || result === "queued") {
      if (this.observer.app) this.report("desired-delete-queued", `version ${version}`);
    } else if (result !== "inflight-full") this.board.log("error", `property/desired/delete not accepted: ${result}`);
  }

  private onInvoke(buffer: Uint8Array, offset: number, length: number): void {
    const topics = this.topics;
    const target = this.invokeReplyTopic;
    target.length = topics.writeService("service/invoke_reply", buffer, topics.serviceIdOffset, topics.serviceIdLength, target.bytes, 0);
    if (target.length <= 0) return;
    const parsed = this.parser.parse("service/invoke", buffer, offset, length);
    this.sendReply(target, this.json.errorReply(this.out, 0, this.parser, parsed === "ok" ? "unknown-service" : parsed));
  }

  private sendReply(topic: TopicBytes, length: number): void {
    if (length === ONEJSON_NO_ROOM || length <= 0) {
      this.report("reply-dropped", "reply does not fit the buffer");
      return;
    }
    const result = this.client.publish(topic, this.out, 0, length, 0);
    if (result !== "sent") this.report("reply-dropped", result);
  }

  /** The request's id as text, for observers only (host tools): a board has none and never pays for it. */
  private idText(buffer: Uint8Array): string {
    const parser = this.parser;
    let text = "";
    for (let i = 0; i < parser.idLength; i++) text += String.fromCharCode(buffer[parser.idOffset + i]);
    return text || "-";
  }

  private report(event: AppEvent, detail: string): void {
    this.observer.app?.(event, detail);
  }
}
