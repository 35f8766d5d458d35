/*
 * The LED application running inside Moddable's XS engine, driven from Node as a drop-in for
 * `new LedDevice(board, config, observer)`: same board, same config, same observer hooks, same
 * `start()` / `stop()` / `on` / `client.online` / `client.stats`. The firmware (firmware/app.ts and
 * everything it imports) is bundled into an xsnap worker; the board it sees is the proxy of
 * board-proxy.ts, whose every call lands on `board` here, synchronously and in order.
 *
 *   const device = new XsLedDevice(board, config, observer);   // board: a HostBoard (or any Board)
 *   device.start();  ...virtual time runs...  device.stop();  device.close();
 *   device.worker.totalCompute, device.host.stats                // XS metering
 */
import type { LedDeviceObserver, AppEvent } from "../../firmware/app.js";
import type { LinkStatus } from "../../firmware/at/driver.js";
import type { Board } from "../../firmware/board.js";
import type { DeviceConfig } from "../../firmware/config.js";
import type { ClientError, ClientState, OfflineReason } from "../../firmware/mqtt/client.js";
import { XsBoardHost } from "./board-host.js";
import { bundleForXs, type XsBundle } from "./bundle.js";
import { XsWorker, type XsWorkerOptions } from "./worker.js";

const SEP = "\u0001";

let cachedBundle: XsBundle | undefined;

/** The device bundle (firmware/app.ts and the harness), built once per process. */
export function deviceBundle(): XsBundle {
  cachedBundle ??= bundleForXs({ modules: { device: "host-sim/xs/labs/device.ts" } });
  return cachedBundle;
}

const ENTRY = "host-sim/xs/labs/entry";
let cachedEntryBundle: XsBundle | undefined;

/**
 * The Moddable entry bundle: firmware/main.ts with Moddable's modules (`embedded:io/serial`,
 * `embedded:io/digital`, `timer`, `time`, `mc/config`) replaced by stand-ins on the proxy board.
 */
export function entryBundle(): XsBundle {
  cachedEntryBundle ??= bundleForXs({
    modules: { entry: `${ENTRY}/lab.ts` },
    alias: {
      "onenet-led-main": "./firmware/main.ts",
      "mc/config": `./${ENTRY}/mc-config.ts`,
      "embedded:io/serial": `./${ENTRY}/serial.ts`,
      "embedded:io/digital": `./${ENTRY}/digital.ts`,
      timer: `./${ENTRY}/timer.ts`,
      time: `./${ENTRY}/time.ts`,
    },
  });
  return cachedEntryBundle;
}

/** Boot through the Moddable entry instead of constructing LedDevice directly. */
export interface XsEntryOptions {
  /** The raw mc/config keys (as a manifest gives them): device settings and board pins. */
  config: Record<string, unknown>;
  /** Which pins are the LED and the ESP8266's RST line (as in `config`). */
  pins: { led: number; reset?: number };
}

export interface XsLedDeviceOptions {
  /**
   * Run firmware/main.ts (the Moddable entry: mc/config, the ECMA-419 board adapter) instead of
   * `new LedDevice(board, config)`. Then `config` and the observer are not used by the firmware
   * (it has none on a device), and the device starts as the entry runs, at start().
   */
  entry?: XsEntryOptions;
  /** A prebuilt bundle (default: deviceBundle()). */
  bundle?: XsBundle;
  worker?: XsWorkerOptions;
  /**
   * Forward the observer hooks from XS (default: true when an observer hook is given). Off, the
   * firmware runs with no observer at all, as on a board: for measurements.
   */
  observe?: boolean;
}

export interface XsSnapshot {
  on: boolean;
  online: boolean;
  state: ClientState;
  stats: XsClientStats;
  driver: Record<string, number>;
}

/** The session's counters as read from XS (the same names as ClientStats). */
export type XsClientStats = Record<string, number> & { connects: number; connacks: number };

export class XsLedDevice {
  readonly worker: XsWorker;
  readonly host: XsBoardHost;
  /** The session as Node sees it (mirrors of the XS state; stats are read from XS on access). */
  readonly client: { readonly online: boolean; readonly state: ClientState; readonly stats: XsClientStats };
  private readonly observing: boolean;
  private readonly entry: XsEntryOptions | undefined;
  private state: ClientState = "stopped";
  private lit = false;

  constructor(
    readonly board: Board,
    readonly config: DeviceConfig,
    private readonly observer: LedDeviceObserver = {},
    options: XsLedDeviceOptions = {},
  ) {
    this.entry = options.entry;
    this.observing = !this.entry && (options.observe ?? Object.keys(observer).length > 0);
    this.worker = new XsWorker({ name: "onenet-led-xs-device", ...options.worker });
    try {
      this.worker.evaluate((options.bundle ?? (this.entry ? entryBundle() : deviceBundle())).code);
      this.host = new XsBoardHost(this.worker, board);
      this.host.onEvent = (message) => this.onEvent(message);
      if (!this.entry) {
        this.host.evaluate(
          `xsHarness.state.device = xsHarness.modules.device.create(xsHarness.board(), ${JSON.stringify(config)}, ` +
            `${this.observing ? "(m) => xsHarness.emit(m)" : "null"});`,
        );
      }
    } catch (error) {
      this.worker.close();
      throw error;
    }
    const self = this;
    this.client = {
      get online() {
        return self.observing ? self.state === "online" : self.snapshot().online;
      },
      get state() {
        return self.observing ? self.state : self.snapshot().state;
      },
      get stats() {
        return self.snapshot().stats;
      },
    };
  }

  /** Whether the application has the LED on (its own view, as LedDevice.on). */
  get on(): boolean {
    return this.observing ? this.lit : this.snapshot().on;
  }

  start(): void {
    const entry = this.entry;
    if (!entry) {
      this.host.evaluate("xsHarness.state.device.start();");
      return;
    }
    if (this.host.evaluateJson<boolean>("xsHarness.state.device !== undefined")) return;
    // The entry builds the board and the device and starts it, as on a device at power-on.
    this.host.evaluate(
      `xsHarness.modules.entry.boot(xsHarness.board(), ${JSON.stringify(entry.config)}, ${JSON.stringify(entry.pins)})` +
        `.then(() => { xsHarness.state.device = xsHarness.modules.entry.state.device; });`,
    );
    const error = this.host.evaluateJson<string>("xsHarness.modules.entry.state.error");
    if (error) throw new Error(`the Moddable entry failed in XS: ${error}`);
  }

  stop(): void {
    if (this.worker.alive) this.host.evaluate("xsHarness.state.device?.stop();");
  }

  /** Everything XS knows about the device now (one evaluation). */
  snapshot(): XsSnapshot {
    const lab = this.entry ? "entry" : "device";
    return this.host.evaluateJson<XsSnapshot>(`xsHarness.modules.${lab}.snapshot(xsHarness.state.device)`);
  }

  /** Ends the XS worker. */
  close(): void {
    this.worker.close();
  }

  private onEvent(message: string): void {
    const [kind, a = "", b = ""] = message.split(SEP);
    const o = this.observer;
    switch (kind) {
      case "led":
        this.lit = a === "1";
        o.led?.(this.lit);
        break;
      case "link":
        o.link?.(a as LinkStatus, b);
        break;
      case "session":
        this.state = a as ClientState;
        o.session?.(this.state);
        break;
      case "online":
        o.online?.();
        break;
      case "offline":
        o.offline?.(a as OfflineReason, b);
        break;
      case "error":
        o.error?.(a as ClientError, b);
        break;
      case "app":
        o.app?.(a as AppEvent, b);
        break;
    }
  }
}
