/*
 * `onenet-led run` (and `npm start`): the firmware on the host simulator, with a cloud console.
 *
 * By default everything is local: the embedded OneNET-compatible broker on loopback, the emulated
 * ESP8266 (its DNS sends mqtts.heclouds.com to that broker), the firmware on the host board, and the
 * virtual LED, printed as a clear line each time it changes. Type `help` at the prompt.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import readline from "node:readline";
import type { ReceiveMode } from "../../firmware/config.js";
import { DEFAULT_WIFI, SEED_DEVICE, Simulation, type SimEvent, type SimulationOptions } from "../sim.js";
import { intOption, parseArgs, UsageError, type ParsedArgs } from "./args.js";
import { runDemo } from "./demo.js";
import { HardwareRun } from "../hardware.js";

const HELP = `usage: onenet-led run [options]

Runs the LED firmware on the host simulator: emulated ESP8266 on a virtual UART (115200 baud),
a local OneNET-compatible broker, and a virtual LED. Then type cloud commands:
  on | off | toggle | get          what the OneNET console would send (property/set, property/get)
  wifi-drop | tcp-close | reset-module | broker-restart     faults
  status | help | quit

options:
  --broker <host:port>     use an external MQTT broker (Mosquitto, or the real OneNET at
                           mqtts.heclouds.com:1883) instead of the embedded one
  --serial <path>          drive a real ESP8266 on this serial port (USB-UART adapter) instead of
                           the emulator; it joins the real WiFi given by --ssid/--password and reaches
                           OneNET (or --broker, which also carries the cloud console's commands)
  --baud <n>               the serial port's baud rate (default 115200)
  --product <id>           OneNET product id        (default ${SEED_DEVICE.productId}, the seed tutorial's)
  --device <name>          OneNET device name       (default ${SEED_DEVICE.deviceName})
  --key <base64>           OneNET device key        (default the seed tutorial's)
  --ssid <name>            WiFi network the emulated module joins (default ${DEFAULT_WIFI.ssid})
  --password <text>        WiFi password            (default the emulator's lab password)
  --keepalive <s>          MQTT keepalive, 10..1800 (default 120)
  --dialect <1.7|2.x>      ESP8266 AT firmware family to emulate (default 2.x)
  --receive-mode <mode>    active | passive | transparent (default passive)
  --duration <s>           exit after this many seconds
  --events <file|->        write JSON lines (led, link, publish, error, fault events) to a file or stdout
  --demo                   run the scripted scenario (boot, connect, LED on, off, WiFi drop and
                           recovery) in virtual time, print each step, exit 0 (1 if a step fails)
  --dashboard-port <n>     port of the local web dashboard (default: any free port)
  --no-dashboard           do not serve the web dashboard
  --quiet                  print only the LED and the link state, not the firmware's log
  --help                   this text`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: ["broker", "product", "device", "key", "ssid", "password", "keepalive", "dialect", "receive-mode", "duration", "events", "dashboard-port", "seed", "serial", "baud"],
    flags: ["demo", "no-dashboard", "quiet"],
  });
  if (args.has("help")) {
    console.log(HELP);
    return 0;
  }
  if (args.positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[0])}`);
  const options = simulationOptions(args);
  const events = openEvents(args.get("events"));
  const quiet = args.has("quiet") || events?.toStdout === true;
  const print = events?.toStdout ? (line: string) => console.error(line) : (line: string) => console.log(line);

  if (args.get("serial") !== undefined) {
    if (args.has("demo")) throw new UsageError("--demo runs on the emulator; it does not go with --serial");
    return runHardware(args, options, print, quiet, events);
  }
  if (args.get("baud") !== undefined) throw new UsageError("--baud goes with --serial");

  if (args.has("demo")) {
    const sim = await Simulation.create({ ...options, mode: options.broker ? "real" : "virtual" });
    attachPrinter(sim, print, quiet, events);
    try {
      return await runDemo(sim, print);
    } finally {
      await sim.close();
      await events?.close();
    }
  }

  const sim = await Simulation.create({ ...options, mode: "real" });
  attachPrinter(sim, print, quiet, events);
  let dashboard: { url: string; close(): Promise<void> } | undefined;
  if (!args.has("no-dashboard")) dashboard = await startDashboardIfPresent(sim, intOption(args, "dashboard-port", 0, 65535) ?? 0, print);
  sim.start();
  print(`onenet-led simulator: device ${sim.config.onenet.deviceName} of product ${sim.config.onenet.productId}, ` +
    `broker ${options.broker ? `${options.broker.host}:${options.broker.port}` : "embedded (loopback)"}, ESP8266 AT ${options.dialect ?? "2.x"}.`);
  if (dashboard) print(`dashboard: ${dashboard.url}`);
  print(`type "help" for the cloud commands; Ctrl-C quits.`);

  const duration = intOption(args, "duration", 1, 365 * 24 * 3600);
  const done = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    if (duration) setTimeout(stop, duration * 1000).unref();
    startConsole(simulationTarget(sim), print, stop);
  });
  await done;
  print("stopping");
  await dashboard?.close();
  await sim.close();
  await events?.close();
  process.stdin.pause();
  return 0;
}

/** `--serial`: the firmware on the host board, a real module on the serial port, wall-clock time. */
async function runHardware(
  args: ParsedArgs,
  options: SimulationOptions,
  print: (line: string) => void,
  quiet: boolean,
  events: EventSink | undefined,
): Promise<number> {
  const raw: Record<string, unknown> = {
    product: options.productId ?? SEED_DEVICE.productId,
    device: options.deviceName ?? SEED_DEVICE.deviceName,
    key: options.key ?? SEED_DEVICE.key,
    ssid: options.ssid ?? DEFAULT_WIFI.ssid,
    password: options.password ?? DEFAULT_WIFI.password,
    keepalive: options.keepaliveS ?? 120,
    receiveMode: options.receiveMode ?? "passive",
  };
  const run = await HardwareRun.create({
    serial: { path: args.get("serial")!, baud: intOption(args, "baud", 300, 4_000_000) ?? 115200 },
    broker: options.broker,
    config: raw,
    onEvent: (event) => {
      events?.write(event, run.clock.wallTime());
      printEvent(event, print, quiet);
    },
  });
  run.start();
  print(`onenet-led: the firmware on this PC, driving the ESP8266 on ${args.get("serial")}; ` +
    `broker ${options.broker ? `${options.broker.host}:${options.broker.port}` : `${run.config.mqtt.host}:${run.config.mqtt.port}`}.`);
  print(run.cloud ? `type on, off, toggle, get, status or quit` : `no --broker: switch the LED from OneNET's console; type status or quit`);
  const duration = intOption(args, "duration", 1, 365 * 24 * 3600);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
    if (duration) setTimeout(resolve, duration * 1000).unref();
    const cloud = run.cloud;
    const led = run.config.led.identifier;
    startConsole(
      {
        get ledOn() {
          return run.ledOn;
        },
        link: run.link,
        cloud: cloud && {
          set: (on) => cloud.setProperty({ [led]: on }),
          toggle: () => cloud.setProperty({ [led]: !run.ledOn }),
          get: () => cloud.getProperty([led]),
        },
      },
      print,
      resolve,
    );
  });
  print("stopping");
  await run.close();
  await events?.close();
  process.stdin.pause();
  return 0;
}

function simulationOptions(args: ParsedArgs): SimulationOptions {
  const options: SimulationOptions = {};
  const broker = args.get("broker");
  if (broker !== undefined) {
    const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(broker);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new UsageError("--broker must be host:port, e.g. 127.0.0.1:1883");
    options.broker = { host: match[1].replace(/^\[|\]$/g, ""), port: Number(match[2]) };
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

interface EventSink {
  toStdout: boolean;
  write(event: SimEvent, wallTime: number): void;
  close(): Promise<void>;
}

/** The JSON-lines event stream of `--events`: machine-readable, secret-free (no UART bytes, no log). */
function openEvents(target: string | undefined): EventSink | undefined {
  if (target === undefined) return undefined;
  const stream: NodeJS.WritableStream | WriteStream = target === "-" ? process.stdout : createWriteStream(target, { flags: "w" });
  return {
    toStdout: target === "-",
    write(event, wallTime) {
      if (event.type === "uart" || event.type === "log") return;
      stream.write(`${JSON.stringify({ time: new Date(wallTime).toISOString(), ...event })}\n`);
    },
    close: () =>
      target === "-" ? Promise.resolve() : new Promise<void>((resolve) => (stream as WriteStream).end(() => resolve())),
  };
}

function stamp(t: number): string {
  return `[${(t / 1000).toFixed(3).padStart(9)} s]`;
}

/** Human-readable lines: the LED loudly, link states, cloud traffic, and (unless quiet) the firmware's log. */
function attachPrinter(sim: Simulation, print: (line: string) => void, quiet: boolean, events: EventSink | undefined): void {
  sim.onEvent((event) => {
    events?.write(event, sim.clock.wallTime());
    printEvent(event, print, quiet);
  });
}

function printEvent(event: SimEvent, print: (line: string) => void, quiet: boolean): void {
  switch (event.type) {
    case "led":
      print(`${stamp(event.t)} ${event.on ? "LED ON   (*)" : "LED OFF  ( )"}`);
      break;
    case "link":
      print(`${stamp(event.t)} ${event.layer.padEnd(4)} ${event.state}${event.detail ? `  ${event.detail}` : ""}`);
      break;
    case "publish":
      if (!quiet) print(`${stamp(event.t)} ${event.direction === "down" ? "cloud -> device" : "device -> cloud"} ${event.kind} ${event.payload}`);
      break;
    case "fault":
      print(`${stamp(event.t)} fault: ${event.fault}`);
      break;
    case "log":
      if (!quiet && event.level !== "debug") print(`${stamp(event.t)} firmware ${event.level}: ${event.message}`);
      break;
    default:
      break;
  }
}

/** What the console drives: the simulator, or the firmware on a real module (no faults, maybe no cloud). */
interface ConsoleTarget {
  readonly ledOn: boolean;
  readonly link: Record<string, string>;
  /** The cloud's commands; absent against the real OneNET (use its console). */
  cloud?: { set(on: boolean): Promise<string>; toggle(): Promise<string>; get(): Promise<string> };
  faults?: Record<string, () => void | Promise<void>>;
}

function simulationTarget(sim: Simulation): ConsoleTarget {
  return {
    get ledOn() {
      return sim.ledOn;
    },
    link: sim.link,
    cloud: { set: (on) => sim.setLed(on), toggle: () => sim.toggleLed(), get: () => sim.getLed() },
    faults: {
      "wifi-drop": () => sim.wifiDrop(),
      "tcp-close": () => sim.tcpClose(),
      "reset-module": () => sim.resetModule(),
      "broker-restart": () => sim.brokerRestart(),
    },
  };
}

function startConsole(target: ConsoleTarget, print: (line: string) => void, quit: () => void): void {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  rl.on("line", (line) => {
    void command(target, line.trim(), print, quit).catch((error: unknown) => print(`error: ${error instanceof Error ? error.message : String(error)}`));
  });
  rl.on("close", () => {
    if (process.stdin.isTTY) quit();
  });
}

async function command(target: ConsoleTarget, line: string, print: (line: string) => void, quit: () => void): Promise<void> {
  const cloud = target.cloud;
  const fault = target.faults?.[line];
  if (fault) {
    await fault();
    return;
  }
  switch (line) {
    case "":
      return;
    case "status":
      print(`LED ${target.ledOn ? "on" : "off"}; wifi ${target.link.wifi}, tcp ${target.link.tcp}, mqtt ${target.link.mqtt}`);
      return;
    case "help":
      print(`commands: ${[...(cloud ? ["on", "off", "toggle", "get"] : []), ...Object.keys(target.faults ?? {}), "status", "quit"].join(", ")}`);
      return;
    case "quit":
    case "exit":
      quit();
      return;
  }
  if (cloud && (line === "on" || line === "off")) print(`cloud: property/set led=${line === "on"} (id ${await cloud.set(line === "on")})`);
  else if (cloud && line === "toggle") print(`cloud: property/set toggle (id ${await cloud.toggle()})`);
  else if (cloud && line === "get") print(`cloud: property/get led (id ${await cloud.get()})`);
  else print(`unknown command ${JSON.stringify(line)}; type "help"`);
}

/** The web dashboard lives in host-sim/dashboard; the console works without it. */
async function startDashboardIfPresent(
  sim: Simulation,
  port: number,
  print: (line: string) => void,
): Promise<{ url: string; close(): Promise<void> } | undefined> {
  const path = "../dashboard/server.js";
  let module: { startDashboard?: (sim: Simulation, options: { port?: number }) => Promise<{ url: string; close(): Promise<void> }> };
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
