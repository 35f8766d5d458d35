/*
 * Test rig for the MQTT session: a fake Transport on a VirtualClock and a scripted server side that
 * parses what the client sends with mqtt-packet (a peer nobody here wrote) and answers with packets
 * mqtt-packet generates.
 */
import mqttPacket from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { VirtualClock } from "../../host-sim/clock.js";
import type { LinkCause, LinkDownReason, Transport, TransportEvents } from "../../firmware/transport.js";
import { MqttClient } from "../../firmware/mqtt/client.js";
import type {
  ClientError,
  ClientState,
  MqttClientHandler,
  MqttClientOptions,
  OfflineReason,
} from "../../firmware/mqtt/client.js";
import type { DecodedPacket } from "../../firmware/mqtt/decode.js";

export interface Received {
  at: number;
  packet: Packet;
  /** Raw bytes as the client sent them. */
  raw: Buffer;
  link: number;
}

export class FakeTransport implements Transport {
  events: TransportEvents | undefined;
  up = false;
  opening = false;
  /** Link number, increases with every open(). */
  link = 0;
  opens: number[] = [];
  closes = 0;
  /** What open() does: "open" (onOpen after openDelayMs), "fail" (onClose with failReason), "hang". */
  openMode: "open" | "fail" | "hang" = "open";
  openDelayMs = 50;
  failReason: LinkDownReason = "connect-failed";
  /** The named cause a failed open reports (none: the session treats it as transient). */
  failCause: LinkCause | undefined = undefined;
  sendSpace = 4096;
  /** Server-to-client latency. */
  latencyMs = 5;
  private parser = mqttPacket.parser({ protocolVersion: 4 });
  private pendingRaw: Buffer[] = [];
  onClientPacket: (r: Received) => void = () => {};

  constructor(readonly clock: VirtualClock) {}

  /** close() was called; onClose("closed-by-us") not delivered yet. */
  closing = false;
  /** open() calls ignored because a link was still open, opening or closing (as the AT driver does). */
  ignoredOpens = 0;

  open(events: TransportEvents): void {
    if (this.up || this.opening || this.closing) {
      this.ignoredOpens++;
      return;
    }
    this.events = events;
    this.link++;
    this.opens.push(this.clock.now());
    this.opening = true;
    const link = this.link;
    if (this.openMode === "hang") return;
    this.clock.setTimeout(() => {
      if (link !== this.link || !this.opening) return;
      this.opening = false;
      if (this.openMode === "fail") {
        this.events?.onClose(this.failReason, "scripted failure", this.failCause);
        return;
      }
      this.up = true;
      this.newParser();
      this.events?.onOpen();
    }, this.openDelayMs);
  }

  private newParser(): void {
    this.parser = mqttPacket.parser({ protocolVersion: 4 });
    this.parser.on("packet", (packet: Packet) => {
      const raw = this.pendingRaw.shift() ?? Buffer.alloc(0);
      this.onClientPacket({ at: this.clock.now(), packet, raw, link: this.link });
    });
    this.parser.on("error", (error: Error) => {
      throw new Error(`client sent bytes mqtt-packet cannot parse: ${error.message}`);
    });
  }

  send(bytes: Uint8Array, offset: number, length: number): boolean {
    if (!this.up || this.closing) return false;
    if (length > this.sendSpace) return false;
    const copy = Buffer.from(bytes.subarray(offset, offset + length));
    // Each send() in these tests carries exactly one whole packet.
    this.pendingRaw.push(copy);
    this.parser.parse(copy);
    return true;
  }

  close(): void {
    this.closes++;
    if (!(this.up || this.opening) || this.closing) return;
    // Like the AT driver: the link stays busy until onClose is delivered on a later tick.
    this.closing = true;
    this.clock.setTimeout(() => {
      this.closing = false;
      this.up = false;
      this.opening = false;
      this.link++;
      this.events?.onClose("closed-by-us", "");
    }, 1);
  }

  /** The server (or the network) ends the link. */
  drop(reason: LinkDownReason, detail = "scripted"): void {
    if (!this.up) return;
    this.up = false;
    this.link++;
    this.clock.setTimeout(() => this.events?.onClose(reason, detail), 1);
  }

  /** Bytes from the server, delivered after latencyMs. */
  deliver(bytes: Uint8Array | Buffer): void {
    const link = this.link;
    const copy = Uint8Array.from(bytes);
    this.clock.setTimeout(() => {
      if (link === this.link && this.up) this.events?.onData(copy, 0, copy.length);
    }, this.latencyMs);
  }
}

/** Server behaviour: answers what a normal broker answers, each part switchable by the test. */
export class ScriptedServer {
  received: Received[] = [];
  connackCode: number | ((connectNumber: number) => number) = 0;
  sessionPresent = false;
  /** SUBACK codes; null = grant what was asked. */
  subackCodes: number[] | null = null;
  subackIdDelta = 0;
  answerConnect = true;
  answerSubscribe = true;
  answerPing = true;
  answerPublish = true;
  /** Drop the link right after sending CONNACK. */
  dropAfterConnack: LinkDownReason | null = null;
  connects = 0;

  constructor(readonly transport: FakeTransport) {
    transport.onClientPacket = (r) => this.onPacket(r);
  }

  send(packet: Record<string, unknown>): void {
    this.transport.deliver(mqttPacket.generate(packet as unknown as Packet, { protocolVersion: 4 }));
  }

  sendRaw(bytes: number[]): void {
    this.transport.deliver(Uint8Array.from(bytes));
  }

  of(cmd: string): Received[] {
    return this.received.filter((r) => r.packet.cmd === cmd);
  }

  private onPacket(r: Received): void {
    this.received.push(r);
    const p = r.packet as Packet & Record<string, any>;
    switch (p.cmd) {
      case "connect": {
        this.connects++;
        if (!this.answerConnect) return;
        const code = typeof this.connackCode === "function" ? this.connackCode(this.connects) : this.connackCode;
        this.send({ cmd: "connack", returnCode: code, sessionPresent: code === 0 && this.sessionPresent });
        if (this.dropAfterConnack) {
          const reason = this.dropAfterConnack;
          this.transport.clock.setTimeout(() => this.transport.drop(reason), this.transport.latencyMs + 1);
        }
        return;
      }
      case "subscribe": {
        if (!this.answerSubscribe) return;
        const granted = this.subackCodes ?? p.subscriptions.map((s: { qos: number }) => s.qos);
        this.send({ cmd: "suback", messageId: (p.messageId ?? 0) + this.subackIdDelta, granted });
        return;
      }
      case "pingreq":
        if (this.answerPing) this.send({ cmd: "pingresp" });
        return;
      case "publish":
        if (!this.answerPublish) return;
        if (p.qos === 1) this.send({ cmd: "puback", messageId: p.messageId });
        if (p.qos === 2) this.send({ cmd: "pubrec", messageId: p.messageId });
        return;
      case "pubrel":
        if (this.answerPublish) this.send({ cmd: "pubcomp", messageId: p.messageId });
        return;
      default:
        return;
    }
  }
}

export interface Message {
  topic: string;
  payload: string;
  qos: number;
  dup: boolean;
  packetId: number;
}

export class Recorder implements MqttClientHandler {
  events: string[] = [];
  errors: { code: ClientError; detail: string; at: number }[] = [];
  offline: { reason: OfflineReason; detail: string; at: number }[] = [];
  messages: Message[] = [];
  acked: number[] = [];
  states: ClientState[] = [];
  onlineAt: number[] = [];
  constructor(private readonly clock: VirtualClock) {}
  onOnline(): void {
    this.events.push("online");
    this.onlineAt.push(this.clock.now());
  }
  onOffline(reason: OfflineReason, detail: string): void {
    this.events.push(`offline:${reason}`);
    this.offline.push({ reason, detail, at: this.clock.now() });
  }
  onMessage(p: DecodedPacket, buffer: Uint8Array): void {
    const text = (o: number, l: number) => Buffer.from(buffer.subarray(o, o + l)).toString("utf8");
    this.messages.push({
      topic: text(p.topicOffset, p.topicLength),
      payload: text(p.payloadOffset, p.payloadLength),
      qos: p.qos,
      dup: p.dup,
      packetId: p.packetId,
    });
  }
  onPublishAcked(packetId: number): void {
    this.acked.push(packetId);
  }
  onError(code: ClientError, detail: string): void {
    this.errors.push({ code, detail, at: this.clock.now() });
  }
  onStateChange(state: ClientState): void {
    this.states.push(state);
  }
  errorCodes(): ClientError[] {
    return this.errors.map((e) => e.code);
  }
}

/** A small seeded PRNG so back-off jitter is reproducible. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export interface Rig {
  clock: VirtualClock;
  transport: FakeTransport;
  server: ScriptedServer;
  handler: Recorder;
  client: MqttClient;
  logs: string[];
  passwords: string[];
}

export function makeRig(options: Partial<MqttClientOptions> = {}, seed = 42): Rig {
  const clock = new VirtualClock();
  const transport = new FakeTransport(clock);
  const server = new ScriptedServer(transport);
  const handler = new Recorder(clock);
  const logs: string[] = [];
  const passwords: string[] = [];
  let n = 0;
  const random = seededRandom(seed);
  const board = {
    clock,
    log: (level: string, message: string) => {
      logs.push(`${level} ${message}`);
    },
    random,
  };
  const client = new MqttClient(
    board,
    transport,
    {
      clientId: "test1",
      username: "L14FCC38pq",
      writePassword: (out, offset) => {
        const token = `token-${++n}`;
        passwords.push(token);
        return Buffer.from(token).copy(out, offset);
      },
      keepaliveS: 60,
      subscriptions: [{ topic: "$sys/L14FCC38pq/test1/thing/#", qos: 0 }],
      ...options,
    },
    handler,
  );
  return { clock, transport, server, handler, client, logs, passwords };
}

export function bytes(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, "utf8"));
}
