/*
 * `onenet-led chip build <board>`: the firmware image for a real board (and for the emulated ones),
 * built with Moddable's mcconfig from the committed manifest, the device settings taken from the
 * same flags `onenet-led run` takes. It checks the environment first and names what is missing.
 * Boards: pico (../chip/build.ts), and the STM32 boards through Moddable's Zephyr port
 * (../chip/stm32/build.ts).
 */
import { relative } from "node:path";
import { DEFAULT_WIFI, SEED_DEVICE } from "../sim.js";
import { buildChipImage, ChipBuildError, checkEnvironment, type ImageSizes } from "../chip/build.js";
import { buildZephyrImage, checkZephyrEnvironment, ZEPHYR_TARGET_NAMES, zephyrTarget, type ZephyrSizes } from "../chip/stm32/build.js";
import { intOption, parseArgs, UsageError } from "./args.js";

const BOARDS = ["pico", ...ZEPHYR_TARGET_NAMES];

const HELP = `usage: onenet-led chip build <board> [options]

Builds the LED firmware with Moddable's tools from this project's manifest.json and prints where
the image is. Boards:
  pico                     Raspberry Pi Pico (mcconfig -m -p pico -t build): copy the UF2 to the
                           Pico's RPI-RP2 drive (hold BOOTSEL while plugging it in), or run it on
                           the emulated Pico: onenet-led run --chip pico --image <that file>
  stm32                    the STM32F405 board QEMU emulates (= zephyr/olimex_stm32_h405):
                           onenet-led run --chip stm32 runs it
  zephyr/nucleo_f413zh     ST NUCLEO-F413ZH      } real STM32 boards through Moddable's Zephyr
  zephyr/stm32f4_disco     ST STM32F4DISCOVERY   } port: flash with west flash (README)

Needs the Moddable SDK (MODDABLE) with its host tools built; for pico the Pico SDK (PICO_ROOT or
PICO_SDK_DIR, PICO_EXTRAS_DIR, pico-examples configured) and arm-none-eabi-gcc (PICO_GCC_ROOT);
for the STM32 boards Zephyr >= 4.3 (ZEPHYR_BASE, west, its hal_stm32 and cmsis_6 modules) and a
toolchain (the Zephyr SDK, or ZEPHYR_TOOLCHAIN_VARIANT=gnuarmemb GNUARMEMB_TOOLCHAIN_PATH=/usr);
see the README, "Building and flashing with Moddable" and "STM32 through Zephyr". What is missing
is listed before anything runs.

options (the device's settings, as for onenet-led run; default: the simulator's lab identity):
  --ssid <name>  --password <text>           WiFi the ESP8266 joins
  --product <id>  --device <name>  --key <base64>   OneNET identity
  --keepalive <s>  --receive-mode <mode>    MQTT keepalive; active | passive | transparent
  --config key=value                        any other mc/config key (repeatable)
  --debug                                   a debug build (xsbug; pico only here)
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
  const [verb, board, ...rest] = args.positional;
  if (verb !== "build") throw new UsageError(verb === undefined ? "say what to do: onenet-led chip build <board>" : `unknown chip command ${JSON.stringify(verb)} (only "build")`);
  if (board === undefined || !BOARDS.includes(board)) {
    throw new UsageError(board === undefined ? `name the board: onenet-led chip build <${BOARDS.join(" | ")}>` : `unknown board ${JSON.stringify(board)} (${BOARDS.join(", ")})`);
  }
  if (rest.length) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  if (args.has("debug") && args.has("instrument")) throw new UsageError("--debug and --instrument do not go together (a debug build is instrumented)");
  const zephyr = zephyrTarget(board);
  if (zephyr && args.has("debug")) throw new UsageError("--debug: the STM32 images here are release or --instrument builds");

  const problems = zephyr ? checkZephyrEnvironment() : checkEnvironment("pico");
  if (problems.length) {
    console.error(`onenet-led chip: cannot build for ${board}; missing:\n  - ${problems.join("\n  - ")}`);
    return 1;
  }
  if (args.has("check")) {
    console.log(`onenet-led chip: the environment can build for ${board}`);
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
  console.log(`building the ${kind} image for ${zephyr ? `${zephyr.platform} (${zephyr.description})` : board} with mcconfig (the first build takes a few minutes)...`);
  try {
    if (zephyr) {
      const image = await buildZephyrImage({ target: zephyr, kind: kind === "instrument" ? "instrument" : "release", config });
      for (const line of describeZephyrImage(image.elf, image.sizes, image.shims)) console.log(line);
      return 0;
    }
    const image = await buildChipImage({ target: "pico", kind, config, variant: kind === "release" ? board : `${board}-${kind}` });
    console.log(`image: ${relative(process.cwd(), image.uf2) || image.uf2}`);
    console.log(`flash ${image.sizes.text} B (${bytecode(image.sizes)}), RAM ${image.sizes.data + image.sizes.bss} B static + the XS budget of manifest.json`);
    return 0;
  } catch (error) {
    if (error instanceof ChipBuildError) {
      console.error(`onenet-led chip: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

function bytecode(s: ImageSizes): string {
  return `XS archive ${s.archive} B, of which this firmware's bytecode ${s.appBytecode} B in ${s.appModules} modules`;
}

export function describeZephyrImage(elf: string, s: ZephyrSizes, shims: readonly string[]): string[] {
  const pct = (used: number, size: number) => `${((100 * used) / size).toFixed(1)} %`;
  const lines = [
    `image: ${relative(process.cwd(), elf) || elf} (and zephyr.bin beside it)`,
    `flash ${s.flash.used} B of ${s.flash.size} (${pct(s.flash.used, s.flash.size)}), RAM ${s.ram.used} B of ${s.ram.size} (${pct(s.ram.used, s.ram.size)}); ${bytecode(s)}`,
  ];
  for (const shim of shims) lines.push(`note: ${shim}`);
  return lines;
}
