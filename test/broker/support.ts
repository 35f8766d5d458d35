// Test support for the embedded OneNET broker: tokens computed here with node:crypto (independently of both
// the broker's checker and the firmware), a raw MQTT client over TCP for rule violations, and an in-memory
// duplex pair for handle().
import { createHmac } from "node:crypto";
import net from "node:net";
import { Duplex } from "node:stream";
import { generate, parser, type Packet } from "mqtt-packet";

export const PID = "L14FCC38pq";
export const DEV = "test1";
export const KEY = "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=";
export const FAR_ET = 4102444800; // 2100-01-01

export function token(opts: { key?: string; res?: string; et?: number; method?: "md5" | "sha1" | "sha256"; version?: string } = {}): string {
  const key = opts.key ?? KEY;
  const res = opts.res ?? `products/${PID}/devices/${DEV}`;
  const et = String(opts.et ?? FAR_ET);
  const method = opts.method ?? "sha1";
  const version = opts.version ?? "2018-10-31";
  const sign = createHmac(method, Buffer.from(key, "base64")).update(`${et}\n${method}\n${res}\n${version}`).digest("base64");
  return `version=${version}&res=${encodeURIComponent(res)}&et=${et}&method=${method}&sign=${encodeURIComponent(sign)}`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A byte-level MQTT client: sends exactly what the test builds, records every packet and the close. */
export class RawClient {
  readonly packets: Packet[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;
  private readonly waiters: { pred: (p: Packet) => boolean; resolve: (p: Packet) => void }[] = [];

  constructor(readonly stream: Duplex) {
    const p = parser({ protocolVersion: 4 });
    p.on("packet", (pkt: Packet) => {
      this.packets.push(pkt);
      for (const w of [...this.waiters]) {
        if (w.pred(pkt)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(pkt);
        }
      }
    });
    stream.on("data", (b: Buffer) => p.parse(b));
    stream.on("error", () => {});
    this.closedPromise = new Promise((resolve) =>
      stream.once("close", () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  static tcp(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => resolve(new RawClient(s)));
      s.once("error", reject);
    });
  }

  send(packet: Record<string, unknown>): void {
    this.stream.write(generate(packet as unknown as Packet));
  }

  sendBytes(bytes: Uint8Array): void {
    this.stream.write(bytes);
  }

  next(cmd: string, timeoutMs = 3000, pred: (p: Packet) => boolean = () => true): Promise<Packet> {
    const have = this.packets.find((p) => p.cmd === cmd && pred(p));
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${cmd} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        pred: (p) => p.cmd === cmd && pred(p),
        resolve: (p) => {
          clearTimeout(timer);
          resolve(p);
        },
      });
    });
  }

  async waitClosed(timeoutMs = 3000): Promise<void> {
    await Promise.race([
      this.closedPromise,
      sleep(timeoutMs).then(() => {
        throw new Error(`link not closed within ${timeoutMs} ms`);
      }),
    ]);
  }

  connect(overrides: Record<string, unknown> = {}): void {
    this.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 4,
      clean: true,
      clientId: DEV,
      keepalive: 60,
      username: PID,
      password: Buffer.from(token()),
      ...overrides,
    });
  }

  async connectOk(overrides: Record<string, unknown> = {}): Promise<void> {
    this.connect(overrides);
    const ack = (await this.next("connack")) as { returnCode?: number };
    if (ack.returnCode !== 0) throw new Error(`CONNACK ${ack.returnCode}`);
  }

  end(): void {
    this.stream.destroy();
  }
}

/** Two connected in-memory Duplex ends, like the emulated ESP8266's network gives the broker. */
export function duplexPair(): [Duplex, Duplex] {
  let a!: Duplex;
  let b!: Duplex;
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        const p = peer();
        if (p.destroyed) return cb(new Error("peer closed"));
        p.push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
      destroy(err, cb) {
        const p = peer();
        if (!p.destroyed) p.destroy();
        cb(err);
      },
    });
  a = make(() => b);
  b = make(() => a);
  return [a, b];
}
