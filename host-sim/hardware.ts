/*
 * The firmware on the host board, driving a REAL ESP8266 on a serial port (a USB-UART adapter:
 * `onenet-led run --serial /dev/ttyUSB0 --baud 115200`) instead of the emulator. The module joins a
 * real WiFi network and reaches a real broker (OneNET, or `--broker host:port`, e.g. a Mosquitto on
 * the LAN); time is the wall clock. The same LedDevice runs as on the chip and in the simulator.
 *
 *   const run = await HardwareRun.create({ serial: { path, baud }, broker, ...identity, onEvent });
 *   run.start(); ...; await run.close();
 *
 * The cloud console works when a broker is given (through the npm `mqtt` client: it publishes
 * property/set on the device's topics); against the real OneNET, use OneNET's console instead.
 */
import { LedDevice } from "../firmware/app.js";
import { parseConfig, type DeviceConfig } from "../firmware/config.js";
import { HostBoard } from "./board.js";
import { RealTimeDriver, VirtualClock } from "./clock.js";
import { MqttCloud, type CloudSide, type DeviceMessage } from "./cloud.js";
import { boardSerial, type SerialPortBoardSerial } from "./serial/board-serial.js";
import { LINK_LAYERS, type SimEvent } from "./sim.js";

export interface HardwareOptions {
  serial: { path: string; baud: number };
  /** The MQTT server the module connects to, and the cloud console's broker. Default: OneNET. */
  broker?: { host: string; port: number };
  config: Record<string, unknown>;
  onEvent?: (event: SimEvent) => void;
}

export class HardwareRun {
  readonly clock: VirtualClock;
  readonly board: HostBoard;
  readonly device: LedDevice;
  readonly config: DeviceConfig;
  readonly cloud: CloudSide | undefined;
  readonly link: Record<"wifi" | "tcp" | "mqtt", string> = { wifi: "down", tcp: "down", mqtt: "stopped" };
  readonly deviceMessages: DeviceMessage[] = [];
  private readonly driver: RealTimeDriver;
  private serial: SerialPortBoardSerial | undefined;

  private constructor(options: HardwareOptions, config: DeviceConfig, cloud: CloudSide | undefined) {
    this.config = config;
    this.cloud = cloud;
    const emit = (event: SimEvent) => options.onEvent?.(event);
    this.clock = new VirtualClock({ wallOffset: Date.now() });
    const open = boardSerial({ path: options.serial.path, baudRate: options.serial.baud });
    this.board = new HostBoard({
      clock: this.clock,
      openSerial: (handlers) => {
        this.serial = open(handlers);
        this.serial.onError = (error) => emit({ type: "error", t: this.clock.now(), code: "serial-error", detail: error.message });
        return this.serial;
      },
      ledActiveLow: config.led.activeLow,
      seed: Date.now() & 0x7fffffff,
      onLog: (line) => emit({ type: "log", t: line.time, level: line.level, message: line.message }),
    });
    const t = () => this.clock.now();
    const layer = (name: "wifi" | "tcp" | "mqtt", state: string, detail: string) => {
      if (this.link[name] === state) return;
      this.link[name] = state;
      emit({ type: "link", t: t(), layer: name, state, detail });
    };
    this.device = new LedDevice(this.board, config, {
      led: (on) => emit({ type: "led", t: t(), on }),
      link: (status, detail) => {
        for (const [name, state] of LINK_LAYERS[status]) layer(name, state, detail);
      },
      session: (state) => layer("mqtt", state, ""),
      error: (code, detail) => emit({ type: "error", t: t(), code, detail }),
      app: (event, detail) => emit({ type: "app", t: t(), event, detail }),
    });
    cloud?.onDeviceMessage((message) => {
      this.deviceMessages.push(message);
      emit({ type: "publish", t: t(), direction: "up", kind: message.kind, topic: message.topic, payload: message.payload });
    });
    this.driver = new RealTimeDriver(this.clock);
  }

  static async create(options: HardwareOptions): Promise<HardwareRun> {
    const raw = { ...options.config };
    // A real module resolves and reaches the broker itself: it connects to the given host.
    if (options.broker) Object.assign(raw, { host: options.broker.host, port: options.broker.port });
    const config = parseConfig(raw);
    let cloud: CloudSide | undefined;
    if (options.broker) {
      cloud = await MqttCloud.connect(`mqtt://${options.broker.host}:${options.broker.port}`, config.onenet.productId, config.onenet.deviceName);
    }
    return new HardwareRun(options, config, cloud);
  }

  get online(): boolean {
    return this.device.client.online;
  }

  get ledOn(): boolean {
    return this.board.led.lit;
  }

  start(): void {
    this.device.start();
    this.driver.startDriving();
  }

  async close(): Promise<void> {
    this.device.stop();
    // Let the DISCONNECT and AT+CIPCLOSE reach the module before the port closes.
    await new Promise((resolve) => setTimeout(resolve, 300));
    this.driver.stop();
    await this.serial?.close();
    await this.cloud?.close();
  }
}
