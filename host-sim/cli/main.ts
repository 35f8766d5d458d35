/*
 * `onenet-led <command> ...`: the dispatcher. Each command lives in its own module exporting
 * `run(argv): Promise<number>` (the exit code) and prints its own `--help`.
 */
import { UsageError } from "./args.js";

interface Command {
  summary: string;
  load: () => Promise<{ run(argv: string[]): Promise<number> }>;
}

const commands: Record<string, Command> = {
  run: { summary: "run the firmware on the host simulator (emulated ESP8266, local OneNET broker, virtual LED)", load: () => import("./run.js") },
  packet: { summary: "encode or decode MQTT 3.1.1 packets as hex, annotated byte by byte", load: () => import("./packet.js") },
  token: { summary: "compute a OneNET token (version 2018-10-31) from a device or product key", load: () => import("./token.js") },
  chip: { summary: "build the firmware image for a board with Moddable's tools (chip build pico | stm32 | zephyr/<board>)", load: () => import("./chip.js") },
};

export function usage(): string {
  const lines = ["usage: onenet-led <command> [options]   (each command takes --help)", "", "commands:"];
  for (const [name, command] of Object.entries(commands)) lines.push(`  ${name.padEnd(8)} ${command.summary}`);
  return lines.join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    console.error(`onenet-led: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 1;
  }
  // A reader that goes away (`| head`) ends the output, not in a stack trace. `run` shuts the
  // board down first (its console watches stdout itself).
  const quietExit = (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE" && name !== "run") process.exit(0);
  };
  process.stdout.on("error", quietExit);
  process.stderr.on("error", () => {});
  try {
    const module = await command.load();
    return await module.run(rest);
  } catch (error) {
    // Bad input gets a message, never a stack trace.
    if (error instanceof UsageError) {
      console.error(`onenet-led ${name}: ${error.message} (see onenet-led ${name} --help)`);
      return 1;
    }
    console.error(`onenet-led ${name}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
