/*
 * The firmware on the host board, driving a REAL ESP8266 on a serial port (a USB-UART adapter:
 * `onenet-led run --serial /dev/ttyUSB0 --baud 115200`) instead of the emulator. The module joins a
 * real WiFi network and reaches a real broker (OneNET, or `--broker host:port`, e.g. a Mosquitto on
 * the LAN); time is the wall clock. The same LedDevice runs as on the chip and in the simulator.
 *
 *   const run = await HardwareRun.create({ serial: { path, baud }, broker, ...identity, onEvent });
 *   run.start(); ...; await run.close();
 *
 * The cloud console works when it has a login on the broker (`cloudLogin`, through the npm `mqtt`
 * client: it publishes property/set on the device's topics); against the real OneNET, which admits
 * only devices, use OneNET's console instead. The device's own messages are read off the UART
 * either way, so what OneNET's console sends still shows.
 *
 * The serial port is opened by create(): a port that cannot be opened fails there, naming it and
 * the reason. A port that goes away while running (adapter unplugged) is reported at once, the
 * link shown down, and the port opened again every second until it is back.
 */
import { LedDevice } from "../firmware/app.js";
import { parseConfig, type DeviceConfig } from "../firmware/config.js";
import { HostBoard } from "./board.js";
import { RealTimeDriver, VirtualClock } from "./clock.js";
import { MqttCloud, type CloudLogin, type CloudSide, type DeviceMessage } from "./cloud.js";
import { UartView } from "./dashboard/uart-view.js";
import { SerialPortBoardSerial } from "./serial/board-serial.js";
import { LINK_LAYERS, type SimEvent } from "./sim.js";
import { ThingWatch } from "./wire-watch.js";

export interface HardwareOptions {
  serial: { path: string; baud: number };
  /** The MQTT server the module connects to, and the cloud console's broker. Default: OneNET. */
  broker?: { host: string; port: number };
  /** How the cloud console logs into `broker`; false or absent: no console. */
  cloudLogin?: CloudLogin | false;
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
  private readonly serial: SerialPortBoardSerial;
  private reopenTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  private constructor(options: HardwareOptions, config: DeviceConfig, cloud: CloudSide | undefined, serial: SerialPortBoardSerial) {
    this.config = config;
    this.cloud = cloud;
    this.serial = serial;
    const emit = (event: SimEvent) => options.onEvent?.(event);
    this.clock = new VirtualClock({ wallOffset: Date.now() });
    serial.onError = (error) => emit({ type: "error", t: this.clock.now(), code: "serial-error", detail: error.message });
    serial.onLost = (error) => {
      emit({ type: "error", t: this.clock.now(), code: "serial-closed", detail: `${error.message}; the link is down until it is back` });
      for (const name of ["wifi", "tcp", "mqtt"] as const) layer(name, "down", "serial port closed");
      this.reopenTimer ??= setInterval(() => {
        serial.reopen().then(
          () => {
            clearInterval(this.reopenTimer);
            this.reopenTimer = undefined;
            emit({ type: "error", t: this.clock.now(), code: "serial-back", detail: `serial port ${serial.path} is back` });
          },
          () => {},
        );
      }, 1000);
    };
    this.board = new HostBoard({
      clock: this.clock,
      openSerial: (handlers) => serial.attach(handlers),
      ledActiveLow: config.led.activeLow,
      seed: Date.now() & 0x7fffffff,
      onLog: (line) => emit({ type: "log", t: line.time, level: line.level, message: line.message }),
    });
    const t = () => this.clock.now();
    const layer = (name: "wifi" | "tcp" | "mqtt", state: string, detail: string) => {
      if (this.link[name] === state) return;
      this.link[name] = state;
      // A new TCP link starts new MQTT byte streams.
      if (name === "tcp" && state !== "up") watch.reset();
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
    // The device's MQTT, read from the data crossing the UART (+IPD / CIPRECVDATA / CIPSEND).
    const watch = new ThingWatch(config.onenet.productId, config.onenet.deviceName, (message) => {
      if (message.direction === "up") {
        if (this.deviceMessages.length >= 20_000) this.deviceMessages.splice(0, 10_000);
        this.deviceMessages.push(message);
      }
      emit({ type: "publish", t: t(), direction: message.direction, kind: message.kind, topic: message.topic, payload: message.payload });
    });
    const uart = new UartView();
    uart.onData = (direction, bytes) => (direction === "to-module" ? watch.feedUp(bytes) : watch.feedDown(bytes));
    serial.onTraffic = (direction, bytes) => {
      uart.feed(direction, bytes, t());
      uart.take(0, Number.POSITIVE_INFINITY); // drop the display entries: only the data is wanted
    };
    this.driver = new RealTimeDriver(this.clock);
  }

  static async create(options: HardwareOptions): Promise<HardwareRun> {
    const raw = { ...options.config };
    // A real module resolves and reaches the broker itself: it connects to the given host.
    if (options.broker) Object.assign(raw, { host: options.broker.host, port: options.broker.port });
    const config = parseConfig(raw);
    const serial = await SerialPortBoardSerial.open({ path: options.serial.path, baudRate: options.serial.baud });
    let cloud: CloudSide | undefined;
    try {
      if (options.broker && options.cloudLogin) {
        const url = `mqtt://${options.broker.host}:${options.broker.port}`;
        cloud = await MqttCloud.connect(url, config.onenet.productId, config.onenet.deviceName, options.cloudLogin);
      }
    } catch (error) {
      await serial.close();
      throw error;
    }
    return new HardwareRun(options, config, cloud, serial);
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

  /**
   * The firmware's stop (DISCONNECT when online, AT+CIPCLOSE) runs in board time until the link is
   * down or `settleMs` has passed; then the port and the console close. Safe to call twice.
   */
  close(settleMs = 1500): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.reopenTimer);
      const wasOnline = this.link.tcp !== "down";
      this.device.stop();
      const deadline = Date.now() + settleMs;
      while (wasOnline && this.link.tcp !== "down" && !this.serial.lost && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      // The CIPCLOSE's bytes are on their way: let the OS pass them to the adapter.
      await new Promise((resolve) => setTimeout(resolve, 20));
      this.driver.stop();
      await this.serial.close();
      await this.cloud?.close();
    })();
    return this.closing;
  }
}
