/*
 * `onenet-led run` (and `npm start`): the firmware on the host simulator, with a cloud console.
 *
 * By default everything is local: the embedded OneNET-compatible broker on loopback, the emulated
 * ESP8266 (its DNS sends mqtts.heclouds.com to that broker), the firmware on the host board, and the
 * virtual LED, printed as a clear line each time it changes. Type `help` at the prompt.
 */
import { lookup } from "node:dns/promises";
import { createWriteStream, existsSync, type WriteStream } from "node:fs";
import { join, resolve } from "node:path";
import { isIP } from "node:net";
import type { ReceiveMode } from "../../firmware/config.js";
import { readFileSync } from "node:fs";
import { DEFAULT_WIFI, type DeviceFactory, SEED_DEVICE, type SimDevice, Simulation, type SimEvent, type SimulationOptions } from "../sim.js";
import { BootromError, bootromPath, loadBootrom } from "../chip/bootrom.js";
import { picoDevice } from "../chip/pico-device.js";
import { parseUf2, Uf2Error } from "../chip/uf2.js";
import { buildFolder } from "../chip/stm32/build.js";
import { stm32ImagePath } from "../chip/stm32/run.js";
import { stm32Device } from "../chip/stm32/stm32-device.js";
import { stm32Wiring } from "../chip/stm32/wiring.js";
import { intOption, parseArgs, UsageError, type ParsedArgs } from "./args.js";
import { runDemo } from "./demo.js";
import { HardwareRun } from "../hardware.js";
import type { CloudLogin } from "../cloud.js";
import { ConsoleOutput, startConsole, type ConsoleTarget } from "./console.js";

const HELP = `usage: onenet-led run [options]

Runs the LED firmware on the host simulator: emulated ESP8266 on a virtual UART (115200 baud),
a local OneNET-compatible broker, and a virtual LED. Then type commands (any case):
  set on | set off (or on | off)   property/set, as OneNET's console sends it: to an online device
                                   only; offline it fails ("device not online") and nothing is kept
  set desired on | set desired off a desired value: kept by the platform, online or not; the device
                                   applies it when it (re)connects, then deletes it
  toggle | get                     property/set of the other state; property/get
  wifi-drop | tcp-close | reset-module | broker-restart     faults
  status | help | quit
"quit", Ctrl-C, SIGTERM, --duration and a closed stdout all stop the board cleanly: the firmware
sends DISCONNECT and closes its link, then the process exits 0 (--demo: 0 when it passed).

options:
  --broker <host:port>     use an external MQTT broker (Mosquitto, or the real OneNET at
                           mqtts.heclouds.com:1883) instead of the embedded one. Only the device
                           logs in there: OneNET admits nothing else
  --cloud-user <name>      with --broker: a login for the cloud console, so set/toggle/get work
  --cloud-password <text>  (a broker user allowed to publish on $sys/{product}/{device}/#; a plain
                           MQTT broker keeps no desired values: "set desired" is OneNET's)
  --serial <path>          drive a real ESP8266 on this serial port (USB-UART adapter) instead of
                           the emulator; it joins the real WiFi given by --ssid/--password and reaches
                           OneNET (or --broker)
  --baud <n>               the serial port's baud rate (default 115200)
  --product <id>           OneNET product id        (default ${SEED_DEVICE.productId}, the seed tutorial's)
  --device <name>          OneNET device name       (default ${SEED_DEVICE.deviceName})
  --key <base64>           OneNET device key        (default the seed tutorial's)
  --ssid <name>            WiFi network the emulated module joins (default ${DEFAULT_WIFI.ssid})
  --password <text>        WiFi password            (default the emulator's lab password)
  --keepalive <s>          MQTT keepalive, 10..1800 (default 120)
  --dialect <1.7|2.x>      ESP8266 AT firmware family to emulate (default 2.x)
  --receive-mode <mode>    active | passive | transparent (default passive)
  --duration <s>           stop after this many seconds
  --events <file|->        write JSON lines (led, link, publish, error, fault events; t: board time in
                           whole ms) to a file or stdout
  --demo                   run the scripted scenario (boot, connect, LED on, off, WiFi drop and
                           recovery) in virtual time, print each step, exit 0 (1 if a step fails)
  --chip pico              run the real firmware image on an emulated Raspberry Pi Pico (RP2040)
  --image <file.uf2>       with --chip: the image (onenet-led chip build pico), built with the same
                           --ssid/--password/--product/--device/--key as given here
  --bootrom <file>         with --chip: the RP2040 bootrom (default: $RP2040_BOOTROM; see the README)
  --chip stm32             run the real firmware image on the STM32F405 in QEMU (netduinoplus2), in
                           real time (README, "The emulated STM32"); --image <zephyr.elf> (default:
                           the last \`onenet-led chip build stm32\`, else \`npm run chip\`'s release)
  --dashboard-port <n>     port of the local web dashboard (default: any free port)
  --no-dashboard           do not serve the web dashboard
  --quiet                  print only the LED and the link state, not the firmware's log
  --help                   this text`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: [
      "broker", "product", "device", "key", "ssid", "password", "keepalive", "dialect", "receive-mode", "duration", "events",
      "dashboard-port", "seed", "serial", "baud", "cloud-user", "cloud-password", "chip", "image", "bootrom",
    ],
    flags: ["demo", "no-dashboard", "quiet"],
  });
  if (args.has("help")) {
    console.log(HELP);
    return 0;
  }
  if (args.positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[0])}`);
  const options = simulationOptions(args);
  const login = cloudLogin(args, options);
  const duration = intOption(args, "duration", 1, 365 * 24 * 3600);
  const dashboardPort = intOption(args, "dashboard-port", 0, 65535) ?? 0;
  if (args.get("serial") === undefined && args.get("baud") !== undefined) throw new UsageError("--baud goes with --serial");
  if (args.get("serial") !== undefined && args.has("demo")) throw new UsageError("--demo runs on the emulator; it does not go with --serial");
  if (options.broker) await checkBrokerHost(options.broker);
  const chip = chipDevice(args);
  const device = chip?.factory;
  if (chip) Object.assign(options, chip.options);

  const events = openEvents(args.get("events"));
  const quiet = args.has("quiet") || events?.toStdout === true;
  // With --events - the JSON lines own stdout: the human lines (and the prompt) go to stderr.
  const out = new ConsoleOutput(events?.toStdout ? process.stderr : process.stdout);
  const exit = new ExitRequest();
  out.onBroken = () => exit.request("stdout closed");
  if (events?.toStdout) events.onBroken = () => exit.request("stdout closed");
  exit.onSignals();
  if (duration) exit.after(duration * 1000, `--duration ${duration}`);
  const context: RunContext = { options, login, out, quiet, events, exit, device, chipBanner: chip?.banner };
  try {
    if (args.get("serial") !== undefined) return await runHardware(args, context);
    if (args.has("demo")) return await runDemoCommand(context);
    return await runInteractive(args, dashboardPort, context);
  } finally {
    exit.dispose();
    await events?.close();
  }
}

/** What every kind of run shares: the checked options, where lines go, and when to stop. */
interface RunContext {
  options: SimulationOptions;
  login: CloudLogin | false;
  out: ConsoleOutput;
  quiet: boolean;
  events: EventSink | undefined;
  exit: ExitRequest;
  /** The board the firmware runs on: the emulated chip (--chip), or the host board (undefined). */
  device: DeviceFactory<SimDevice> | undefined;
  /** What the emulated chip is, for the banner. */
  chipBanner: string | undefined;
}

function createSimulation(options: SimulationOptions, device: DeviceFactory<SimDevice> | undefined): Promise<Simulation<SimDevice>> {
  return device ? Simulation.create(options, device) : Simulation.create(options);
}

/** An emulated chip for the bench: its device, the bench settings its wiring implies, and its banner. */
interface ChipChoice {
  factory: DeviceFactory<SimDevice>;
  options: Partial<SimulationOptions>;
  banner: string;
}

/** `--chip pico --image F.uf2 [--bootrom F]` or `--chip stm32 [--image zephyr.elf]`, checked before anything starts. */
function chipDevice(args: ParsedArgs): ChipChoice | undefined {
  const chip = args.get("chip");
  if (chip === undefined) {
    for (const name of ["image", "bootrom"]) if (args.get(name) !== undefined) throw new UsageError(`--${name} goes with --chip pico or --chip stm32`);
    return undefined;
  }
  if (chip !== "pico" && chip !== "stm32") throw new UsageError(`--chip must be pico or stm32, got ${JSON.stringify(chip)}`);
  if (args.get("serial") !== undefined) throw new UsageError("--chip runs the firmware on the emulated chip; it does not go with --serial");
  if (chip === "stm32") return stm32Chip(args);
  const path = args.get("image");
  if (path === undefined) throw new UsageError("--chip pico needs --image <file.uf2> (build one with: onenet-led chip build pico)");
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UsageError(`--image ${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String(error)}`);
  }
  try {
    const image = parseUf2(bytes);
    const bootrom = loadBootrom(bootromPath(args.get("bootrom")));
    return {
      factory: picoDevice({ image, bootrom }),
      options: {},
      banner: `the firmware image ${path} runs on an emulated Raspberry Pi Pico (RP2040, 125 MHz; UART1 GP4/GP5 to the module, GP25 the LED). ` +
        "It runs slower than real time here: board time follows as fast as it can.",
    };
  } catch (error) {
    if (error instanceof Uf2Error) throw new UsageError(`--image ${path}: ${error.message}`);
    if (error instanceof BootromError) throw new UsageError(error.message);
    throw error;
  }
}

/** `--chip stm32`: the Zephyr image in QEMU, wired to the bench as manifest.json wires the board. */
function stm32Chip(args: ParsedArgs): ChipChoice {
  if (args.has("demo")) throw new UsageError("--demo runs in virtual time; the STM32 in QEMU runs in real time");
  if (args.get("bootrom") !== undefined) throw new UsageError("--bootrom goes with --chip pico");
  // The last `chip build stm32`, else the release image `npm run chip` built.
  const built = [join(buildFolder("onenet-led-olimex-stm32-h405"), "zephyr.elf"), stm32ImagePath("stm32-release")];
  const given = args.get("image");
  const elf = resolve(given ?? built.find((p) => existsSync(p)) ?? built[0]);
  if (!existsSync(elf)) throw new UsageError(`no firmware image at ${elf}: build it with \`onenet-led chip build stm32\` or name it with --image`);
  const wiring = stm32Wiring();
  return {
    factory: stm32Device({ elf, usarts: wiring.usarts, led: wiring.led }),
    options: { ledActiveLow: wiring.led.activeLow, baud: wiring.baud },
    banner: `STM32F405 in QEMU (netduinoplus2) running ${elf}; USART${wiring.usarts.modem} to the ESP8266 at ${wiring.baud} baud, LED on P${wiring.led.port.toUpperCase()}${wiring.led.pin}`,
  };
}

/** The simulator, interactive: banner, dashboard, console; every way out shuts the board down cleanly. */
async function runInteractive(args: ParsedArgs, dashboardPort: number, { options, login, out, quiet, events, exit, device, chipBanner }: RunContext): Promise<number> {
  const print = out.print;
  const sim = await createSimulation({ ...options, mode: "real", cloudLogin: login }, device);
  let dashboard: { url: string; close(): Promise<void> } | undefined;
  try {
    // The banner comes first: the board starts only after it.
    print(`onenet-led simulator: device ${sim.config.onenet.deviceName} of product ${sim.config.onenet.productId}, ` +
      `broker ${options.broker ? `${options.broker.host}:${options.broker.port}` : "embedded (loopback)"}, ESP8266 AT ${options.dialect ?? "2.x"}.`);
    if (chipBanner) print(chipBanner);
    if (!sim.cloud) print(NO_CONSOLE);
    attachPrinter(sim, print, quiet, events);
    if (!args.has("no-dashboard")) dashboard = await startDashboardIfPresent(sim, dashboardPort, print);
    if (dashboard) print(`dashboard: ${dashboard.url}`);
    print(`type "help" for the commands; "quit" or Ctrl-C quits.`);
    const console = startConsole(simulationTarget(sim), out, (reason) => exit.request(reason));
    sim.start();
    const reason = await exit.requested;
    console.close();
    print(`stopping (${reason}): ${args.get("chip") !== undefined ? "the emulated chip is powered off, the module closes its link" : "the firmware disconnects and closes its link"}`);
    // The board first, so the dashboard shows it going offline; then the page learns the simulator stopped.
    await sim.close();
    await dashboard?.close();
    print("stopped");
    return 0;
  } finally {
    await sim.close();
    await dashboard?.close();
  }
}

async function runDemoCommand({ options, login, out, quiet, events, exit, device }: RunContext): Promise<number> {
  const print = out.print;
  const sim = await createSimulation({ ...options, mode: options.broker ? "real" : "virtual", cloudLogin: login }, device);
  try {
    if (!sim.cloud) print(NO_CONSOLE);
    attachPrinter(sim, print, quiet, events);
    const status = await runDemo(sim, print, exit.signal);
    if (!exit.signal.aborted) {
      await sim.close();
      return status;
    }
    print(`demo stopped (${exit.reason}) before its end`);
    await sim.close();
    // Nobody reading the output is no failure; anything else stopped the demo before it passed.
    return exit.reason === "stdout closed" ? 0 : 1;
  } finally {
    await sim.close();
  }
}

/** `--serial`: the firmware on the host board, a real module on the serial port, wall-clock time. */
async function runHardware(args: ParsedArgs, { options, login, out, quiet, events, exit }: RunContext): Promise<number> {
  const print = out.print;
  const raw: Record<string, unknown> = {
    product: options.productId ?? SEED_DEVICE.productId,
    device: options.deviceName ?? SEED_DEVICE.deviceName,
    key: options.key ?? SEED_DEVICE.key,
    ssid: options.ssid ?? DEFAULT_WIFI.ssid,
    password: options.password ?? DEFAULT_WIFI.password,
    keepalive: options.keepaliveS ?? 120,
    receiveMode: options.receiveMode ?? "passive",
  };
  const path = args.get("serial")!;
  const run = await HardwareRun.create({
    serial: { path, baud: intOption(args, "baud", 300, 4_000_000) ?? 115200 },
    broker: options.broker,
    cloudLogin: login,
    config: raw,
    onEvent: (event) => {
      events?.write(event, run.clock.wallTime());
      printEvent(event, print, quiet);
    },
  });
  try {
    print(`onenet-led: the firmware on this PC, driving the ESP8266 on ${path}; ` +
      `broker ${options.broker ? `${options.broker.host}:${options.broker.port}` : `${run.config.mqtt.host}:${run.config.mqtt.port}`}.`);
    if (!run.cloud) print(options.broker ? NO_CONSOLE : `cloud console: none: switch the LED from OneNET's console (see README: the OneNET console).`);
    print(`type "help" for the commands; "quit" or Ctrl-C quits.`);
    const cloud = run.cloud;
    const led = run.config.led.identifier;
    const console = startConsole(
      {
        get ledOn() {
          return run.ledOn;
        },
        get online() {
          return run.online;
        },
        link: run.link,
        cloud: cloud && {
          set: (on) => cloud.setProperty({ [led]: on }),
          toggle: () => cloud.setProperty({ [led]: !run.ledOn }),
          get: () => cloud.getProperty([led]),
          setDesired: async (on) => (await cloud.setDesired({ [led]: on }))[led]!,
        },
        noCloud: options.broker ? NO_CONSOLE_SHORT : "against OneNET, switch the LED from OneNET's console",
      },
      out,
      (reason) => exit.request(reason),
    );
    run.start();
    const reason = await exit.requested;
    console.close();
    print(`stopping (${reason}): ${args.get("chip") !== undefined ? "the emulated chip is powered off, the module closes its link" : "the firmware disconnects and closes its link"}`);
    await run.close();
    print("stopped");
    return 0;
  } finally {
    await run.close();
  }
}

function simulationOptions(args: ParsedArgs): SimulationOptions {
  const options: SimulationOptions = {};
  const broker = args.get("broker");
  if (broker !== undefined) {
    const match = /^(\[[^\]]+\]|[^:]+):([^:]*)$/.exec(broker);
    if (!match || match[1] === "") throw new UsageError(`--broker must be host:port, e.g. 127.0.0.1:1883 or mqtts.heclouds.com:1883, got ${JSON.stringify(broker)}`);
    if (!/^\d+$/.test(match[2])) throw new UsageError(`--broker ${broker}: the port must be a number, got ${JSON.stringify(match[2])}`);
    const port = Number(match[2]);
    if (port < 1 || port > 65535) throw new UsageError(`--broker ${broker}: port ${port} is out of range (1..65535)`);
    options.broker = { host: match[1].replace(/^\[|\]$/g, ""), port };
  }
  const text = (name: string) => args.get(name);
  if (text("product") !== undefined) options.productId = text("product");
  if (text("device") !== undefined) options.deviceName = text("device");
  if (text("key") !== undefined) options.key = text("key");
  if (text("ssid") !== undefined) options.ssid = text("ssid");
  if (text("password") !== undefined) options.password = text("password");
  const keepalive = intOption(args, "keepalive", 10, 1800);
  if (keepalive !== undefined) options.keepaliveS = keepalive;
  const dialect = text("dialect");
  if (dialect !== undefined) {
    if (dialect !== "1.7" && dialect !== "2.x") throw new UsageError("--dialect must be 1.7 or 2.x");
    options.dialect = dialect;
  }
  const mode = text("receive-mode");
  if (mode !== undefined) {
    if (mode !== "active" && mode !== "passive" && mode !== "transparent") throw new UsageError("--receive-mode must be active, passive or transparent");
    options.receiveMode = mode as ReceiveMode;
  }
  const seed = intOption(args, "seed", 0, 2 ** 31 - 1);
  if (seed !== undefined) options.seed = seed;
  return options;
}

/** Without a console login on an external broker: what the console cannot do, and how to get it. */
const NO_CONSOLE_SHORT =
  "the broker is given only the device's login; switch the LED from the broker's own console (OneNET: the device's page), " +
  "or start with --cloud-user and --cloud-password to send sets from here";
const NO_CONSOLE = `cloud console: none (set, set desired, toggle and get are off): ${NO_CONSOLE_SHORT}.`;

/** --cloud-user/--cloud-password: the console's own login on an external broker; without them, none. */
function cloudLogin(args: ParsedArgs, options: SimulationOptions): CloudLogin | false {
  const username = args.get("cloud-user");
  const password = args.get("cloud-password");
  if ((username !== undefined || password !== undefined) && !options.broker)
    throw new UsageError("--cloud-user and --cloud-password go with --broker (the embedded broker needs no login; OneNET admits no console login)");
  if (password !== undefined && username === undefined) throw new UsageError("--cloud-password needs --cloud-user");
  if (username === undefined) return false;
  return { username, ...(password !== undefined ? { password } : {}) };
}

/** An unknown host is a mistake to report now, not a DNS failure to retry for ever. */
async function checkBrokerHost(broker: { host: string; port: number }): Promise<void> {
  if (isIP(broker.host)) return;
  try {
    await lookup(broker.host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTFOUND" || code === "EAI_NONAME" || code === "EAI_FAIL" || code === "EAI_NODATA")
      throw new UsageError(`--broker ${broker.host}:${broker.port}: unknown host ${JSON.stringify(broker.host)}`);
    throw new UsageError(`--broker ${broker.host}:${broker.port}: cannot look up ${JSON.stringify(broker.host)} (${code ?? (error as Error).message})`);
  }
}

/**
 * Why and when to stop: the first of quit, --duration, SIGINT, SIGTERM, a closed stdout. A second
 * signal while the board is shutting down ends the process at once.
 */
class ExitRequest {
  readonly requested: Promise<string>;
  private resolve!: (reason: string) => void;
  private readonly controller = new AbortController();
  private readonly cleanups: (() => void)[] = [];
  reason = "";

  constructor() {
    this.requested = new Promise((resolve) => (this.resolve = resolve));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  request(reason: string): void {
    if (this.reason) return;
    this.reason = reason;
    this.resolve(reason);
    this.controller.abort();
  }

  onSignals(): void {
    for (const [signal, name, code] of [["SIGINT", "Ctrl-C", 130], ["SIGTERM", "SIGTERM", 143]] as const) {
      const handler = () => {
        if (this.reason) process.exit(code);
        this.request(name);
      };
      process.on(signal, handler);
      this.cleanups.push(() => process.off(signal, handler));
    }
  }

  after(ms: number, reason: string): void {
    const timer = setTimeout(() => this.request(reason), ms);
    this.cleanups.push(() => clearTimeout(timer));
  }

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }
}

interface EventSink {
  toStdout: boolean;
  write(event: SimEvent, wallTime: number): void;
  close(): Promise<void>;
  /** Called once when the stream fails (stdout closed). */
  onBroken?: () => void;
}

/**
 * The JSON-lines event stream of `--events`: machine-readable, secret-free (no UART bytes, no
 * log). `t` is board time in whole milliseconds; `time` the wall clock (ISO 8601).
 */
function openEvents(target: string | undefined): EventSink | undefined {
  if (target === undefined) return undefined;
  const stream: NodeJS.WriteStream | WriteStream = target === "-" ? process.stdout : createWriteStream(target, { flags: "w" });
  let broken = false;
  const sink: EventSink = {
    toStdout: target === "-",
    write(event, wallTime) {
      if (broken || event.type === "uart" || event.type === "log") return;
      stream.write(`${JSON.stringify({ time: new Date(Math.floor(wallTime)).toISOString(), ...event, t: Math.round(event.t) })}\n`);
    },
    close: () =>
      target === "-" || broken ? Promise.resolve() : new Promise<void>((resolve) => (stream as WriteStream).end(() => resolve())),
  };
  (stream as WriteStream).on("error", (error: Error) => {
    if (broken) return;
    broken = true;
    if (target === "-") sink.onBroken?.();
    else process.stderr.write(`onenet-led run: --events ${target}: ${error.message}\n`);
  });
  return sink;
}

function stamp(t: number): string {
  return `[${(t / 1000).toFixed(3).padStart(9)} s]`;
}

/** Human-readable lines: the LED loudly, link states, cloud traffic, and (unless quiet) the firmware's log. */
function attachPrinter(sim: Simulation<SimDevice>, print: (line: string) => void, quiet: boolean, events: EventSink | undefined): void {
  const backoff = new BackoffNote();
  sim.onEvent((event) => {
    events?.write(event, sim.clock.wallTime());
    printEvent(event, print, quiet, backoff);
  });
}

/**
 * One line when the reconnect wait grows, saying why: read from the session's own log line
 * ("mqtt: link down (...), retry in N ms"), so it follows whatever the firmware decided.
 */
class BackoffNote {
  private last = 0;
  private refused = false;
  private readonly explained = new Set<string>();

  observe(event: SimEvent): string | undefined {
    if (event.type === "error" && event.code.startsWith("connack-")) this.refused = event.code !== "connack-server-unavailable";
    if (event.type === "link" && event.layer === "mqtt" && event.state === "online") {
      this.last = 0;
      this.refused = false;
    }
    if (event.type !== "log") return undefined;
    const match = /retry in (\d+(?:\.\d+)?) ms/.exec(event.message);
    if (!match) return undefined;
    const delay = Math.round(Number(match[1]));
    const grew = this.last > 0 && delay > this.last;
    this.last = delay;
    if (!grew) return undefined;
    const seconds = delay >= 10_000 ? Math.round(delay / 1000) : Math.round(delay / 100) / 10;
    // The whole reason once per kind of wait; after that, the short form.
    const kind = this.refused ? "refused" : "failed";
    const first = !this.explained.has(kind);
    this.explained.add(kind);
    const why = this.refused
      ? first
        ? "after a refused login the wait starts at 2 min and doubles up to 30 min: check the product id, device name and key"
        : "refused again: the wait doubles, up to 30 min"
      : first
        ? "the wait doubles after each failed try, up to 60 s, so a broker that is down is not hammered (OneNET bans a device that logs in 10 times in 5 s)"
        : "the wait doubles after each failed try, up to 60 s";
    return `${stamp(event.t)} mqtt  next try in ${seconds} s: ${why}`;
  }
}

function printEvent(event: SimEvent, print: (line: string) => void, quiet: boolean, backoff?: BackoffNote): void {
  const note = backoff?.observe(event);
  switch (event.type) {
    case "led":
      print(`${stamp(event.t)} ${event.on ? "LED ON   (*)" : "LED OFF  ( )"}`);
      break;
    case "link":
      print(`${stamp(event.t)} ${event.layer.padEnd(4)} ${event.state}${event.detail ? `  ${event.detail}` : ""}`);
      break;
    case "publish":
      if (quiet) break;
      if (event.direction === "up") print(`${stamp(event.t)} device -> cloud ${event.kind} ${event.payload}`);
      else if (event.delivered === false) print(`${stamp(event.t)} cloud -> device ${event.kind} NOT DELIVERED (the device is offline) ${event.payload}`);
      else print(`${stamp(event.t)} cloud -> device ${event.kind} ${event.payload}`);
      break;
    case "fault":
      print(`${stamp(event.t)} fault: ${event.fault}`);
      break;
    case "error":
      if (event.code.startsWith("serial-")) print(`${stamp(event.t)} serial: ${event.detail}`);
      break;
    case "log":
      if (!quiet && event.level !== "debug") print(`${stamp(event.t)} firmware ${event.level}: ${event.message}`);
      break;
    default:
      break;
  }
  if (note) print(note);
}

function simulationTarget(sim: Simulation<SimDevice>): ConsoleTarget {
  return {
    get ledOn() {
      return sim.ledOn;
    },
    get online() {
      return sim.online;
    },
    link: sim.link,
    cloud: sim.cloud && { set: (on) => sim.setLed(on), toggle: () => sim.toggleLed(), get: () => sim.getLed(), setDesired: (on) => sim.setLedDesired(on) },
    noCloud: NO_CONSOLE_SHORT,
    faults: {
      "wifi-drop": () => sim.wifiDrop(),
      "tcp-close": () => sim.tcpClose(),
      "reset-module": () => sim.resetModule(),
      ...(sim.broker ? { "broker-restart": () => sim.brokerRestart() } : {}),
    },
  };
}

/** The web dashboard lives in host-sim/dashboard; the console works without it. */
async function startDashboardIfPresent(
  sim: Simulation<SimDevice>,
  port: number,
  print: (line: string) => void,
): Promise<{ url: string; close(): Promise<void> } | undefined> {
  const path = "../dashboard/server.js";
  let module: { startDashboard?: (sim: Simulation<SimDevice>, options: { port?: number }) => Promise<{ url: string; close(): Promise<void> }> };
  try {
    module = (await import(path)) as typeof module;
  } catch {
    return undefined;
  }
  if (!module.startDashboard) return undefined;
  try {
    return await module.startDashboard(sim, { port });
  } catch (error) {
    print(`dashboard not started: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}
