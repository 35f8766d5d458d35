/*
 * A scripted hostile MQTT "broker": a raw TCP server on loopback (node:net) that plays scripts of
 * malformed and out-of-order packets at the device, then behaves.
 *
 *   const broker = await HostileBroker.start();       // 127.0.0.1, a free port; every link behaves
 *   const sim = await Simulation.create({ mode: "real", broker: { host: "127.0.0.1", port: broker.port } });
 *   broker.arm([script]);   // from now on, device link k plays scripts[k]; later links behave
 *   ...; broker.deviceLinks; broker.onlineLinks; broker.log; await broker.close();
 *
 * Arming after Simulation.create() keeps the simulator's cloud-side MQTT client (which connects
 * first) on a well-behaved link. A script is an async function of the link: it waits for packets
 * (`await link.next(CONNECT)`), writes raw bytes (`link.send(...)`), closes (`link.close()`).
 * When it returns with the link still open, the link behaves from there on, answering what the
 * script left unanswered: CONNACK 0, SUBACK with the SUBSCRIBE's id and one code per filter,
 * PINGRESP, PUBACK/PUBREC/PUBCOMP. A well-behaved link that got CONNACK 0 and answered a SUBSCRIBE
 * counts in `onlineLinks`. Packets from the device are framed by the firmware's own decoder in
 * the server role.
 */
import { createServer, type Server, type Socket } from "node:net";
import { MqttDecoder, type DecodedPacket, type DecoderSink } from "../mqtt/index.js";

export const CONNECT = 1;
export const PUBLISH = 3;
export const PUBREL = 6;
export const SUBSCRIBE = 8;
export const PINGREQ = 12;
export const DISCONNECT = 14;

/** One packet from the device, copied out of the decoder. */
export interface Received {
  type: number;
  flags: number;
  packetId: number;
  /** SUBSCRIBE: number of topic filters. */
  filterCount: number;
  /** PUBLISH: topic and payload as text. */
  topic: string;
  payload: string;
  qos: number;
}

export type Script = (link: HostileLink) => Promise<void>;

const latin1 = (b: Uint8Array, off: number, n: number) => Buffer.from(b.buffer, b.byteOffset + off, n).toString("utf8");

export class HostileLink {
  readonly received: Received[] = [];
  closed = false;
  /** What the script (or good mode) did, for failure messages. */
  private waiters: { type: number; resolve: (p: Received) => void; reject: (e: Error) => void }[] = [];
  private consumed = new Set<Received>();
  private good = false;
  private decoder = new MqttDecoder({ bufferSize: 8192, role: "server" });

  constructor(
    readonly index: number,
    private readonly socket: Socket,
    private readonly broker: HostileBroker,
  ) {
    const sink: DecoderSink = {
      onPacket: (p) => this.onPacket(p),
      onError: (code) => this.broker.note(`link ${index}: device sent a bad packet: ${code}`),
    };
    socket.on("data", (chunk: Buffer) => this.decoder.feed(chunk, 0, chunk.length, sink));
    socket.on("close", () => {
      this.closed = true;
      this.broker.note(`link ${index}: closed`);
      for (const w of this.waiters) w.reject(new Error(`link ${index} closed while waiting for packet type ${w.type}`));
      this.waiters = [];
    });
    socket.on("error", () => {});
  }

  /** Writes raw bytes to the device. */
  send(bytes: Uint8Array | readonly number[]): void {
    if (this.closed) return;
    this.socket.write(Uint8Array.from(bytes));
  }

  /** Adds a line to the broker's log. */
  note(line: string): void {
    this.broker.note(`link ${this.index}: ${line}`);
  }

  /** Closes the TCP link (FIN). */
  close(): void {
    this.socket.end();
  }

  /** Resolves with the next packet of `type` not yet taken (already received or still to come). */
  next(type: number, timeoutMs = 20_000): Promise<Received> {
    const ready = this.received.find((p) => p.type === type && !this.consumed.has(p));
    if (ready) {
      this.consumed.add(ready);
      return Promise.resolve(ready);
    }
    if (this.closed) return Promise.reject(new Error(`link ${this.index} closed before packet type ${type}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`link ${this.index}: no packet type ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = {
        type,
        resolve: (p: Received) => {
          clearTimeout(timer);
          resolve(p);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
    });
  }

  /** From now on the link behaves; what the script left unanswered is answered now. */
  behave(): void {
    this.good = true;
    for (const p of this.received) if (!this.consumed.has(p)) this.answer(p);
  }

  private onPacket(d: DecodedPacket): void {
    const b = d.buffer;
    const p: Received = {
      type: d.type,
      flags: d.flags,
      packetId: d.packetId,
      filterCount: d.filterCount,
      topic: d.type === PUBLISH ? latin1(b, d.topicOffset, d.topicLength) : "",
      payload: d.type === PUBLISH ? latin1(b, d.payloadOffset, d.payloadLength) : "",
      qos: d.qos,
    };
    this.received.push(p);
    this.broker.note(`link ${this.index}: device sent type ${p.type}${p.topic ? " " + p.topic : ""}`);
    const w = this.waiters.findIndex((x) => x.type === p.type);
    if (w >= 0) {
      this.consumed.add(p);
      this.waiters.splice(w, 1)[0].resolve(p);
      return;
    }
    if (this.good) this.answer(p);
  }

  private answer(p: Received): void {
    this.consumed.add(p);
    switch (p.type) {
      case CONNECT:
        this.send([0x20, 0x02, 0x00, 0x00]);
        this.connacked = true;
        return;
      case SUBSCRIBE:
        this.send([0x90, 2 + p.filterCount, p.packetId >> 8, p.packetId & 255, ...new Array<number>(p.filterCount).fill(0)]);
        if (this.connacked) this.broker.linkOnline(this);
        return;
      case PINGREQ:
        this.send([0xd0, 0x00]);
        return;
      case PUBLISH:
        if (p.qos === 1) this.send([0x40, 0x02, p.packetId >> 8, p.packetId & 255]);
        if (p.qos === 2) this.send([0x50, 0x02, p.packetId >> 8, p.packetId & 255]);
        this.broker.publishedByDevice(this, p);
        return;
      case PUBREL:
        this.send([0x70, 0x02, p.packetId >> 8, p.packetId & 255]);
        return;
      case DISCONNECT:
        this.close();
        return;
    }
  }

  private connacked = false;
}

export class HostileBroker {
  readonly host = "127.0.0.1";
  port = 0;
  /** Human-readable trail of what happened (failure messages). */
  readonly log: string[] = [];
  /** Device links since arm(). */
  readonly links: HostileLink[] = [];
  /** Device links that became well-behaved sessions (CONNACK 0 and SUBACK sent). */
  onlineLinks = 0;
  /** Scripts that threw (a waited-for packet never came, say). */
  readonly scriptErrors: string[] = [];
  /** PUBLISHes the device sent on well-behaved links. */
  readonly devicePublishes: Received[] = [];
  private server: Server | undefined;
  private scripts: Script[] | undefined;
  private readonly sockets = new Set<Socket>();
  private cloudLinks: HostileLink[] = [];

  static async start(): Promise<HostileBroker> {
    const b = new HostileBroker();
    await b.listen();
    return b;
  }

  /** Device links from now on play `scripts` in order; links beyond them behave. */
  arm(scripts: Script[]): void {
    this.scripts = scripts;
  }

  get deviceLinks(): number {
    return this.links.length;
  }

  note(line: string): void {
    if (this.log.length < 2000) this.log.push(line);
  }

  /** @internal */
  linkOnline(link: HostileLink): void {
    if (this.links.includes(link)) this.onlineLinks++;
  }

  /** @internal */
  publishedByDevice(link: HostileLink, p: Received): void {
    if (this.links.includes(link)) this.devicePublishes.push(p);
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.accept(socket));
      server.on("error", reject);
      server.listen(0, this.host, () => {
        const address = server.address();
        this.port = typeof address === "object" && address ? address.port : 0;
        resolve();
      });
      this.server = server;
    });
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.setNoDelay(true);
    if (!this.scripts) {
      // Before arm(): the simulator's cloud client. It behaves and stays out of the counts.
      const link = new HostileLink(-1, socket, this);
      link.behave();
      this.cloudLinks.push(link);
      return;
    }
    const index = this.links.length;
    const link = new HostileLink(index, socket, this);
    this.links.push(link);
    this.note(`link ${index}: accepted`);
    const script = this.scripts[index];
    if (!script) {
      link.behave();
      return;
    }
    script(link).then(
      () => {
        this.note(`link ${index}: script done`);
        if (!link.closed) link.behave();
      },
      (e: unknown) => {
        this.scriptErrors.push(`link ${index}: ${e instanceof Error ? e.message : String(e)}`);
        this.note(`link ${index}: script failed: ${String(e)}`);
        socket.destroy();
      },
    );
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
