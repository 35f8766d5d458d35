/*
 * `onenet-led chip build pico`: the firmware image for a real board (and for the emulated one),
 * built with Moddable's mcconfig from the committed manifest, the device settings taken from the
 * same flags `onenet-led run` takes. It checks the environment first and names what is missing.
 */
import { relative } from "node:path";
import { DEFAULT_WIFI, SEED_DEVICE } from "../sim.js";
import { buildChipImage, ChipBuildError, checkEnvironment, type ChipTarget } from "../chip/build.js";
import { intOption, parseArgs, UsageError } from "./args.js";

const HELP = `usage: onenet-led chip build pico [options]

Builds the LED firmware for the Raspberry Pi Pico with Moddable's tools
(mcconfig -m -p pico -t build) from this project's manifest.json, and prints where the
UF2 image is: copy it to the Pico's RPI-RP2 drive (hold BOOTSEL while plugging it in), or run
it on the emulated Pico: onenet-led run --chip pico --image <that file>.

Needs the Moddable SDK (MODDABLE) with its host tools built, the Pico SDK (PICO_ROOT or
PICO_SDK_DIR, PICO_EXTRAS_DIR, pico-examples configured) and arm-none-eabi-gcc (PICO_GCC_ROOT);
see the README, "Building and flashing with Moddable". What is missing is listed before anything runs.

options (the device's settings, as for onenet-led run; default: the simulator's lab identity):
  --ssid <name>  --password <text>           WiFi the ESP8266 joins
  --product <id>  --device <name>  --key <base64>   OneNET identity
  --keepalive <s>  --receive-mode <mode>    MQTT keepalive; active | passive | transparent
  --config key=value                        any other mc/config key (repeatable)
  --debug                                   a debug build (xsbug over USB; logs and instruments)
  --instrument                              a release build that prints XS's memory figures
  --check                                   only check the environment
  --help                                    this text`;

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, {
    values: ["ssid", "password", "product", "device", "key", "keepalive", "receive-mode"],
    repeated: ["config"],
    flags: ["debug", "instrument", "check"],
  });
  if (args.has("help")) {
    console.log(HELP);
    return 0;
  }
  const [verb, target, ...rest] = args.positional;
  if (verb !== "build") throw new UsageError(verb === undefined ? "say what to do: onenet-led chip build pico" : `unknown chip command ${JSON.stringify(verb)} (only "build")`);
  if (target !== "pico") throw new UsageError(target === undefined ? "name the board: onenet-led chip build pico" : `unknown board ${JSON.stringify(target)} (pico)`);
  if (rest.length) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  if (args.has("debug") && args.has("instrument")) throw new UsageError("--debug and --instrument do not go together (a debug build is instrumented)");

  const problems = checkEnvironment(target as ChipTarget);
  if (problems.length) {
    console.error(`onenet-led chip: cannot build for ${target}; missing:\n  - ${problems.join("\n  - ")}`);
    return 1;
  }
  if (args.has("check")) {
    console.log(`onenet-led chip: the environment can build for ${target}`);
    return 0;
  }
  const config: Record<string, string> = {
    ssid: args.get("ssid") ?? DEFAULT_WIFI.ssid,
    password: args.get("password") ?? DEFAULT_WIFI.password,
    product: args.get("product") ?? SEED_DEVICE.productId,
    device: args.get("device") ?? SEED_DEVICE.deviceName,
    key: args.get("key") ?? SEED_DEVICE.key,
  };
  const keepalive = intOption(args, "keepalive", 10, 1800);
  if (keepalive !== undefined) config.keepalive = String(keepalive);
  const mode = args.get("receive-mode");
  if (mode !== undefined) {
    if (mode !== "active" && mode !== "passive" && mode !== "transparent") throw new UsageError("--receive-mode must be active, passive or transparent");
    config.receiveMode = mode;
  }
  for (const pair of args.all("config")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--config takes key=value, got ${JSON.stringify(pair)}`);
    config[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const kind = args.has("debug") ? "debug" : args.has("instrument") ? "instrument" : "release";
  console.log(`building the ${kind} image for ${target} with mcconfig (the first build takes a few minutes)...`);
  try {
    const image = await buildChipImage({ target: target as ChipTarget, kind, config, variant: kind === "release" ? target : `${target}-${kind}` });
    const s = image.sizes;
    console.log(`image: ${relative(process.cwd(), image.uf2) || image.uf2}`);
    console.log(`flash ${s.text} B (XS archive ${s.archive} B, of which this firmware's bytecode ${s.appBytecode} B in ${s.appModules} modules), RAM ${s.data + s.bss} B static + the XS budget of manifest.json`);
    return 0;
  } catch (error) {
    if (error instanceof ChipBuildError) {
      console.error(`onenet-led chip: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
