/*
 * The whole simulated bench in one object: the firmware (LedDevice) on a host board, a virtual
 * UART at 115200 baud, the emulated ESP8266, and a OneNET-compatible broker with its cloud side.
 *
 *   const sim = await Simulation.create({ ...options, onEvent });   // or create(options, xsDevice()): the firmware in XS
 *   sim.start();                              // power on: module boots, firmware starts
 *   await sim.runUntil(() => sim.online, 60_000);   // virtual mode: advance board time
 *   const id = await sim.setLed(true);        // the cloud sends property/set (DeviceOfflineError: not online)
 *   await sim.setLedDesired(true);            // a desired value the device fetches when (re)connecting
 *   sim.wifiDrop(); sim.tcpClose(); sim.resetModule(); await sim.brokerRestart();
 *   await sim.close();
 *
 * Two clock modes. "virtual" (tests, the demo): board time advances only through runFor/runUntil,
 * in big jumps while nothing happens and in 1 ms steps, yielding to Node's event loop, while real
 * I/O (the broker) is in flight; so hours of board time pass in seconds and runs replay. "real"
 * (the interactive console): board time follows the wall clock (RealTimeDriver).
 *
 * The broker is either the embedded OneNET-compatible one (in-process: the emulator's CIPSTART
 * reaches it through a MemoryNetwork, no sockets) or an external one (`broker: { host, port }`,
 * reached over real TCP through NodeNetwork, with `mqtts.heclouds.com` mapped to it). With an
 * external broker the device's messages are read off its own link (wire-watch.ts), so nothing but
 * the device needs a login there; the cloud console (sets and gets) logs in only when asked
 * (`cloudLogin`: a user the broker admits; `false`: no console, as against the real OneNET).
 *
 * close() is a power-down: the firmware's stop runs in board time (DISCONNECT, AT+CIPCLOSE) until
 * the module has closed its link (or `settleMs` has passed), then the module is switched off,
 * which closes whatever socket is left.
 */
import { LedDevice, type AppEvent, type LedDeviceObserver } from "../firmware/app.js";
import type { LinkStatus } from "../firmware/at/driver.js";
import { parseConfig } from "../firmware/config.js";
import type { DeviceConfig, ReceiveMode } from "../firmware/config.js";
import type { LogLevel, SerialHandlers } from "../firmware/board.js";
import { OneNetBroker } from "./broker/onenet-broker.js";
import { HostBoard } from "./board.js";
import { LinkGate } from "./gate.js";
import { RealTimeDriver, VirtualClock } from "./clock.js";
import { EmbeddedCloud, MqttCloud, type CloudLogin, type CloudSide, type DeviceMessage } from "./cloud.js";
import { Esp8266Emulator, type Dialect, type EmulatorOptions } from "./esp8266/emulator.js";
import { MemoryNetwork, NodeNetwork, type NetworkBackend } from "./network.js";
import { TappedNetwork } from "./net-tap.js";
import { VirtualUart, type UartDirection } from "./uart.js";
import { ThingWatch } from "./wire-watch.js";

/** The seed tutorial's device: the simulator's default identity, so its bytes match the seed's. */
export const SEED_DEVICE = {
  productId: "L14FCC38pq",
  deviceName: "test1",
  key: "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=",
} as const;
export const DEFAULT_WIFI = { ssid: "onenet-lab", password: "password123" } as const;

export type Layer = "wifi" | "tcp" | "mqtt";

/** How the AT driver's link statuses move the WiFi and TCP layers shown to users (MQTT follows the session). */
export const LINK_LAYERS: Readonly<Record<LinkStatus, readonly (readonly [Layer, string])[]>> = {
  "module-starting": [["wifi", "module-starting"], ["tcp", "down"]],
  "module-ready": [["wifi", "module-ready"]],
  "wifi-joining": [["wifi", "joining"]],
  "wifi-up": [["wifi", "up"]],
  "wifi-down": [["wifi", "down"], ["tcp", "down"]],
  "link-opening": [["tcp", "opening"]],
  "link-up": [["tcp", "up"]],
  "link-down": [["tcp", "down"]],
};

export type SimEvent =
  | { type: "led"; t: number; on: boolean }
  | { type: "link"; t: number; layer: Layer; state: string; detail: string }
  | { type: "publish"; t: number; direction: "up" | "down"; kind: string; topic: string; payload: string; /** down: false when the device was not there to get it */ delivered?: boolean }
  | { type: "error"; t: number; code: string; detail: string }
  | { type: "app"; t: number; event: AppEvent; detail: string }
  | { type: "fault"; t: number; fault: string }
  | { type: "log"; t: number; level: LogLevel; message: string }
  | { type: "uart"; t: number; direction: UartDirection; bytes: Uint8Array };

export interface SimulationOptions {
  mode?: "virtual" | "real";
  dialect?: Dialect;
  receiveMode?: ReceiveMode;
  baud?: number;
  /** UART delivery chunk (bytes). */
  chunkSize?: number;
  /** An external broker instead of the embedded one. */
  broker?: { host: string; port: number };
  productId?: string;
  deviceName?: string;
  key?: string;
  /**
   * The product's access key: the embedded broker also accepts tokens signed with it (the firmware
   * signs with it when `config` says keyKind "product" and gives it as `key`).
   */
  productKey?: string;
  ssid?: string;
  password?: string;
  keepaliveS?: number;
  ledActiveLow?: boolean;
  /** Seeds the board's jitter and the UART's fault generator. */
  seed?: number;
  /** Epoch ms at board time 0 (the board's and the broker's wall clock). Default: now; -1: the board has no clock. */
  wallClockStart?: number;
  /** Wraps the UART callbacks the firmware registers (benchmarks time the firmware's work in them). */
  wrapSerialHandlers?: (handlers: SerialHandlers) => SerialHandlers;
  /** Extra raw configuration keys (mc/config style), applied over the above. */
  config?: Record<string, unknown>;
  /** What is flashed into the module for TLS: `caPem` (its client CA), `sslClientConf` (see Esp8266Emulator). */
  module?: Pick<EmulatorOptions, "caPem" | "sslClientConf">;
  /**
   * With `broker`: the cloud side to use instead of an MQTT client on broker host:port (e.g. an
   * EmbeddedCloud on a OneNetBroker the caller serves over loopback TLS). Closed by close().
   */
  cloud?: CloudSide;
  /**
   * With `broker` and no `cloud`: how the cloud console logs in (default: anonymously); `false`: no
   * console at all, for a broker that admits only the device (then setLed and getLed throw a
   * NoCloudConsoleError).
   */
  cloudLogin?: CloudLogin | false;
  onEvent?: (event: SimEvent) => void;
}

/** What the bench needs of the firmware it runs: the Node LedDevice, or the same firmware in XS. */
export interface SimDevice {
  start(): void;
  stop(): void;
  readonly client: { readonly online: boolean; readonly stats: { readonly connects: number; readonly connacks: number } };
  /** Frees what the device holds outside the bench (an XS worker). */
  close?(): void;
  /**
   * In real mode, the most board time to run per turn of Node's event loop: a device slower than
   * real time (an emulated chip) then lags the wall clock instead of blocking the event loop.
   */
  readonly realTimeStepMs?: number;
}

/** The parts of the bench a device may need beyond its board (an emulated chip watches the module and its links). */
export interface BenchParts {
  clock: VirtualClock;
  uart: VirtualUart;
  emulator: Esp8266Emulator;
  /** The module's network, tapped: every link it opens and the bytes each way. */
  network: TappedNetwork;
}

/** Builds the firmware on the bench's board; the observer feeds the bench's link, LED and app events. */
export type DeviceFactory<D extends SimDevice> = (board: HostBoard, config: DeviceConfig, observer: LedDeviceObserver, bench: BenchParts) => D;

export class Simulation<D extends SimDevice = LedDevice> {
  readonly clock: VirtualClock;
  readonly uart: VirtualUart;
  readonly emulator: Esp8266Emulator;
  readonly board: HostBoard;
  readonly device: D;
  readonly config: DeviceConfig;
  /** The module's network, tapped (every link and its bytes). */
  readonly network: TappedNetwork;
  /** What sends sets and gets like the OneNET console; undefined when the broker admits only the device. */
  readonly cloud: CloudSide | undefined;
  /** The embedded broker (undefined with an external one). */
  readonly broker: OneNetBroker | undefined;
  readonly events: SimEvent[] = [];
  /** The embedded broker's links pass through this gate (black-hole fault). */
  readonly gate: LinkGate;
  readonly link: Record<Layer, string> = { wifi: "down", tcp: "down", mqtt: "stopped" };
  /** The messages the device published, as the cloud saw them (the last 20,000). */
  readonly deviceMessages: DeviceMessage[] = [];
  /** set_reply and get_reply messages by id (the last 20,000 ids). */
  private readonly replies = new Map<string, DeviceMessage[]>();
  private readonly listeners = new Set<(event: SimEvent) => void>();
  private readonly realTime: RealTimeDriver | undefined;
  private readonly unsubscribeCloud: () => void;
  private activity = 0;
  private started = false;
  private closing: Promise<void> | undefined;

  private constructor(
    readonly options: SimulationOptions,
    createDevice: DeviceFactory<D>,
    parts: {
      clock: VirtualClock;
      network: NetworkBackend;
      broker: OneNetBroker | undefined;
      cloud: CloudSide | undefined;
      config: DeviceConfig;
      gate: LinkGate;
      /** External broker: the device's messages are read off its link instead of asked of the cloud side. */
      watchWire: boolean;
    },
  ) {
    const { clock, broker, cloud, config } = parts;
    const network = new TappedNetwork(parts.network);
    this.network = network;
    // Real I/O started inside a clock event: let its answer in before board time moves on.
    const yieldForIo = () => {
      this.activity++;
      clock.requestYield();
    };
    network.listen({ open: yieldForIo, up: yieldForIo, close: yieldForIo });
    this.gate = parts.gate;
    this.clock = clock;
    this.broker = broker;
    this.cloud = cloud;
    this.config = config;
    if (options.onEvent) this.listeners.add(options.onEvent);
    const seed = options.seed ?? 1;
    this.uart = new VirtualUart(clock, { baud: options.baud ?? 115200, chunkSize: options.chunkSize ?? 32, faults: { seed } });
    // The bench owns the UART tap (runUntil counts activity through it): others listen to "uart" events.
    this.uart.onTraffic = (direction, bytes, t) => {
      this.activity++;
      if (this.listeners.size) this.emitOnly({ type: "uart", t, direction, bytes });
    };
    this.emulator = new Esp8266Emulator({
      clock,
      uart: this.uart,
      dialect: options.dialect ?? "2.x",
      network,
      accessPoints: [{ ssid: config.wifi.ssid, password: config.wifi.password }],
      random: () => this.board.random(),
      ...options.module,
    });
    this.board = new HostBoard({
      clock,
      openSerial: (handlers) => this.uart.mcu.open(options.wrapSerialHandlers ? options.wrapSerialHandlers(handlers) : handlers),
      ledActiveLow: config.led.activeLow,
      seed,
      moduleReset: this.emulator.resetPin,
      onLog: (line) => this.emit({ type: "log", t: line.time, level: line.level, message: line.message }),
    });
    const t = () => clock.now();
    this.device = createDevice(this.board, config, {
      led: (on) => this.emit({ type: "led", t: t(), on }),
      link: (status, detail) => this.onLinkStatus(status, detail),
      session: (state) => this.setLayer("mqtt", state, ""),
      error: (code, detail) => this.emit({ type: "error", t: t(), code, detail }),
      app: (event, detail) => this.emit({ type: "app", t: t(), event, detail }),
    }, { clock, uart: this.uart, emulator: this.emulator, network });
    const recordDeviceMessage = (message: DeviceMessage): void => {
      this.activity++;
      if (this.deviceMessages.length >= 20_000) this.deviceMessages.splice(0, 10_000);
      this.deviceMessages.push(message);
      const id = (message.json as { id?: unknown } | undefined)?.id;
      if ((message.kind === "set_reply" || message.kind === "get_reply") && typeof id === "string") {
        const list = this.replies.get(id);
        if (list) list.push(message);
        else {
          if (this.replies.size >= 20_000) this.replies.delete(this.replies.keys().next().value!);
          this.replies.set(id, [message]);
        }
      }
      this.emit({ type: "publish", t: t(), direction: "up", kind: message.kind, topic: message.topic, payload: message.payload });
    };
    if (parts.watchWire) {
      const watch = new ThingWatch(config.onenet.productId, config.onenet.deviceName, (message) => {
        if (message.direction === "up") recordDeviceMessage(message);
        else {
          this.activity++;
          this.emit({ type: "publish", t: t(), direction: "down", kind: message.kind, topic: message.topic, payload: message.payload, delivered: true });
        }
      });
      this.unsubscribeCloud = network.listen(watch);
    } else if (cloud) this.unsubscribeCloud = cloud.onDeviceMessage(recordDeviceMessage);
    else this.unsubscribeCloud = () => {};
    broker?.onEvent((event) => {
      this.activity++;
      if (event.type === "cloud-publish")
        this.emit({
          type: "publish",
          t: t(),
          direction: "down",
          kind: event.kind,
          topic: event.topic,
          payload: new TextDecoder().decode(event.payload),
          delivered: event.delivered,
        });
    });
    this.realTime = options.mode === "real" ? new RealTimeDriver(clock, 2, this.device.realTimeStepMs ?? Infinity) : undefined;
  }

  /** The bench with the Node LedDevice, or with the device `createDevice` builds (the firmware in XS). */
  static async create(options?: SimulationOptions): Promise<Simulation>;
  static async create<D extends SimDevice>(options: SimulationOptions, createDevice: DeviceFactory<D>): Promise<Simulation<D>>;
  static async create<D extends SimDevice>(options: SimulationOptions = {}, createDevice?: DeviceFactory<D>): Promise<Simulation<D>> {
    // wallClockStart -1: a board with no trustworthy clock (no RTC, no SNTP).
    const clock = new VirtualClock({ wallOffset: options.wallClockStart ?? Date.now() });
    const productId = options.productId ?? SEED_DEVICE.productId;
    const deviceName = options.deviceName ?? SEED_DEVICE.deviceName;
    const key = options.key ?? SEED_DEVICE.key;
    const config = parseConfig({
      ssid: options.ssid ?? DEFAULT_WIFI.ssid,
      password: options.password ?? DEFAULT_WIFI.password,
      product: productId,
      device: deviceName,
      key,
      keepalive: options.keepaliveS ?? 120,
      receiveMode: options.receiveMode ?? "passive",
      ledActiveLow: options.ledActiveLow ?? false,
      ...(options.broker ? {} : { host: "mqtts.heclouds.com", port: 1883 }),
      ...options.config,
    });
    let network: NetworkBackend;
    let broker: OneNetBroker | undefined;
    const gate = new LinkGate();
    let cloud: CloudSide | undefined;
    if (options.broker) {
      const { host, port } = options.broker;
      network = new NodeNetwork({ dns: { [config.mqtt.host]: host }, ports: { [config.mqtt.port]: port } });
      const login = options.cloudLogin ?? {};
      cloud = options.cloud ?? (login === false ? undefined : await MqttCloud.connect(`mqtt://${host}:${port}`, productId, deviceName, login));
    } else {
      // The broker's clock is the board's when the board has one (token expiry replays exactly),
      // else real time: a board without a clock signs with a far-future `et`.
      const brokerTime = () => {
        const wall = clock.wallTime();
        return wall >= 0 ? wall : Date.now();
      };
      broker = new OneNetBroker({
        devices: [{ productId, deviceName, key }],
        ...(options.productKey !== undefined ? { productKeys: { [productId]: options.productKey } } : {}),
        wallTime: brokerTime,
      });
      await broker.ready();
      const memory = new MemoryNetwork();
      const b = broker;
      memory.listen(config.mqtt.host, config.mqtt.port, (stream) => b.handle(gate.wrap(stream)));
      network = memory;
      cloud = new EmbeddedCloud(broker, productId, deviceName);
    }
    const factory = createDevice ?? ((board, c, observer) => new LedDevice(board, c, observer) as unknown as D);
    return new Simulation<D>(options, factory, { clock, network, broker, cloud, config, gate, watchWire: options.broker !== undefined });
  }

  /** Powers the board and the module on. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.emulator.powerOn();
    this.device.start();
    this.realTime?.startDriving();
  }

  get online(): boolean {
    return this.device.client.online;
  }

  get ledOn(): boolean {
    return this.board.led.lit;
  }

  onEvent(listener: (event: SimEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ------------------------------------------------------------------ time (virtual mode)

  /** Advances board time by `ms`, letting real I/O (the broker) run in between. */
  async runFor(ms: number): Promise<void> {
    await this.runUntil(() => false, ms);
  }

  /**
   * Advances board time until `predicate()` holds or `limitMs` passes; returns whether it held.
   * While nothing is in flight the clock jumps to the next timer; after any real I/O it moves in
   * 1 ms steps until the event loop has been quiet for a few turns, so a broker's answer is never
   * skipped over by a jump.
   */
  async runUntil(predicate: () => boolean, limitMs: number): Promise<boolean> {
    if (this.realTime) throw new Error("runUntil is for virtual mode; in real mode time follows the wall clock");
    const clock = this.clock;
    const end = clock.now() + limitMs;
    let quietTurns = 0;
    for (;;) {
      if (predicate()) return true;
      if (clock.now() >= end) return false;
      const before = this.activity;
      let target: number;
      if (quietTurns < 8) target = Math.min(end, clock.now() + 1);
      else target = Math.min(end, Math.max(clock.now() + 1, clock.nextEventTime() ?? end));
      clock.runUntil(target, { yieldable: true });
      await new Promise<void>((resolve) => setImmediate(resolve));
      quietTurns = this.activity === before ? quietTurns + 1 : 0;
    }
  }

  // ------------------------------------------------------------------ the cloud

  async setLed(on: boolean): Promise<string> {
    return this.console().setProperty({ [this.config.led.identifier]: on });
  }

  async toggleLed(): Promise<string> {
    const reported = this.broker?.reported(this.config.onenet.productId, this.config.onenet.deviceName)[this.config.led.identifier];
    const current = reported ? reported.value === true : this.ledOn;
    return this.setLed(!current);
  }

  /** A desired value for the LED (the platform keeps it; the device applies it when it next comes online). Returns its version. */
  async setLedDesired(on: boolean): Promise<number> {
    const identifier = this.config.led.identifier;
    return (await this.console().setDesired({ [identifier]: on }))[identifier]!;
  }

  async getLed(): Promise<string> {
    return this.console().getProperty([this.config.led.identifier]);
  }

  private console(): CloudSide {
    if (!this.cloud) throw new NoCloudConsoleError();
    return this.cloud;
  }

  /** The device's reply to the cloud message `id`, once it has arrived. */
  replyTo(id: string): DeviceMessage | undefined {
    return this.replies.get(id)?.[0];
  }

  repliesTo(id: string): DeviceMessage[] {
    return this.replies.get(id) ?? [];
  }

  // ------------------------------------------------------------------ faults

  /** The access point disappears; it comes back after `restoreAfterMs` of board time (0: never). */
  wifiDrop(restoreAfterMs = 5000): void {
    this.fault("wifi-drop");
    this.emulator.wifiDrop();
    if (restoreAfterMs > 0) this.clock.setTimeout(() => this.emulator.wifiRestore(), restoreAfterMs);
  }

  /** The server side closes the TCP link. */
  tcpClose(): void {
    this.fault("tcp-close");
    if (this.broker) this.broker.kick(this.config.onenet.productId, this.config.onenet.deviceName);
    else this.emulator.closeByPeer();
  }

  /** The module reboots on its own (brown-out, watchdog): `ready` arrives mid-stream. */
  resetModule(): void {
    this.fault("reset-module");
    this.emulator.reset();
  }

  /** The embedded broker drops everyone and refuses links for `downMs`. */
  async brokerRestart(downMs = 2000): Promise<void> {
    if (!this.broker) throw new Error("broker-restart needs the embedded broker");
    this.fault("broker-restart");
    await this.broker.restart(downMs);
  }

  /**
   * Switches the bench off as a user would the board: the firmware's stop() (DISCONNECT when
   * online, AT+CIPCLOSE) runs in board time until the module's link is closed or `settleMs` of
   * board time (virtual mode) or wall time (real mode) has passed; then the module is powered off
   * (any socket left is closed) and the cloud side and broker are closed. Safe to call twice.
   */
  close(options: { settleMs?: number } = {}): Promise<void> {
    this.closing ??= this.shutDown(options.settleMs ?? 1500);
    return this.closing;
  }

  private async shutDown(settleMs: number): Promise<void> {
    try {
      this.device.stop();
      if (this.started) await this.settle(() => !this.emulator.hasOpenLink, settleMs);
    } finally {
      this.realTime?.stop();
      this.emulator.powerOff();
      this.device.close?.();
      this.unsubscribeCloud();
      await this.cloud?.close();
      await this.broker?.close();
    }
  }

  /** Lets board time run (the firmware's work reaches the UART and the module) until `done()` or `limitMs`. */
  private async settle(done: () => boolean, limitMs: number): Promise<void> {
    if (!this.realTime) {
      await this.runUntil(done, limitMs);
      return;
    }
    const deadline = Date.now() + limitMs;
    while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  // ------------------------------------------------------------------ internals

  /** Records a fault injected from outside (the campaign pokes the emulator or the UART directly). */
  recordFault(fault: string): void {
    this.fault(fault);
  }

  private fault(fault: string): void {
    this.emit({ type: "fault", t: this.clock.now(), fault });
  }

  private onLinkStatus(status: LinkStatus, detail: string): void {
    for (const [layer, state] of LINK_LAYERS[status]) this.setLayer(layer, state, detail);
  }

  private setLayer(layer: Layer, state: string, detail: string): void {
    if (this.link[layer] === state) return;
    this.link[layer] = state;
    this.emit({ type: "link", t: this.clock.now(), layer, state, detail });
  }

  private emit(event: SimEvent): void {
    if (this.events.length >= 20_000) this.events.splice(0, 10_000);
    this.events.push(event);
    this.emitOnly(event);
  }

  private emitOnly(event: SimEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A display that fails must not stop the board.
      }
    }
  }
}

/** setLed/getLed on a bench whose broker admits only the device (no cloud console login). */
export class NoCloudConsoleError extends Error {
  override name = "NoCloudConsoleError";
  constructor() {
    super("no cloud console on this broker: it admits only the device (give the console a login, or use the broker's own console)");
  }
}
