/*
 * The interactive console of `onenet-led run`: a prompt on a terminal, commands typed in any case,
 * and printing that never tears the line being typed.
 *
 *   const out = new ConsoleOutput(stream);            // print(line): above the prompt when there is one
 *   const console = startConsole(target, out, quit);  // reads stdin; console.close()
 *
 * The cloud commands are OneNET's console's two ways to switch the LED:
 *   set on | set off (on | off)   property/set: to an online device only; offline it fails the way
 *                                 OneNET says ("device not online") and nothing is kept
 *   set desired on | off          a desired value: the platform keeps it, online or not; the device
 *                                 fetches it when it (re)connects, applies it and deletes it
 *   toggle, get                   property/set of the other state; property/get
 *
 * Without a terminal (stdin a pipe or a file) there is no prompt and lines are read as they come.
 */
import readline from "node:readline";
import { DeviceOfflineError, OFFLINE_HINT } from "../cloud.js";

/** What the console drives: the simulator, or the firmware on a real module. */
export interface ConsoleTarget {
  readonly ledOn: boolean;
  readonly online: boolean;
  readonly link: Record<string, string>;
  /** The cloud's commands; absent when the broker admits only the device. */
  cloud?: {
    set(on: boolean): Promise<string>;
    toggle(): Promise<string>;
    get(): Promise<string>;
    /** A desired value; resolves to its version (rejects on a broker that keeps none). */
    setDesired(on: boolean): Promise<number>;
  };
  /** Why there is no cloud console (printed by help and by the cloud commands). */
  noCloud?: string;
  faults?: Record<string, () => void | Promise<void>>;
}

type CloudCommand = { kind: "set"; on: boolean } | { kind: "desired"; on: boolean } | { kind: "toggle" } | { kind: "get" };
/** Every spelling of a cloud command (typed in any case, spaces squeezed). */
const CLOUD_COMMANDS: Record<string, CloudCommand> = {
  "set on": { kind: "set", on: true },
  "set off": { kind: "set", on: false },
  on: { kind: "set", on: true },
  off: { kind: "set", on: false },
  "set desired on": { kind: "desired", on: true },
  "set desired off": { kind: "desired", on: false },
  toggle: { kind: "toggle" },
  get: { kind: "get" },
};
const CLOUD_HELP = ["set on|off (or on|off)", "set desired on|off", "toggle", "get"];

/** Where the console's lines go: a stream shared with the prompt, and a broken pipe tolerated. */
export class ConsoleOutput {
  private rl: readline.Interface | undefined;
  private broken = false;
  /** Called once when the stream is gone (EPIPE: the reader of a pipe quit). */
  onBroken: (() => void) | undefined;

  constructor(readonly stream: NodeJS.WriteStream) {
    // EPIPE (the reader of a pipe quit, e.g. `| head`) or any other write error: stop printing.
    stream.on("error", () => {
      if (this.broken) return;
      this.broken = true;
      this.onBroken?.();
    });
  }

  get closed(): boolean {
    return this.broken;
  }

  print = (line: string): void => {
    if (this.broken) return;
    const rl = this.rl;
    if (rl) {
      readline.cursorTo(this.stream, 0);
      readline.clearLine(this.stream, 0);
      this.stream.write(`${line}\n`);
      rl.prompt(true);
    } else this.stream.write(`${line}\n`);
  };

  /** While `rl` shows a prompt, lines are printed above it. */
  attach(rl: readline.Interface | undefined): void {
    this.rl = rl;
  }
}

export interface Console {
  close(): void;
}

/**
 * Reads commands from stdin. `quit` is called for quit/exit, Ctrl-C at the prompt and the end of
 * a terminal's input (Ctrl-D).
 */
export function startConsole(target: ConsoleTarget, out: ConsoleOutput, quit: (reason: string) => void): Console {
  const terminal = process.stdin.isTTY === true;
  const rl = readline.createInterface({ input: process.stdin, output: out.stream, terminal });
  if (terminal) {
    rl.setPrompt(target.cloud ? "onenet-led> " : "onenet-led (device only)> ");
    out.attach(rl);
    rl.prompt();
    // At a terminal readline takes Ctrl-C for itself: it means quit here.
    rl.on("SIGINT", () => quit("Ctrl-C"));
  }
  const fail = (error: unknown) => out.print(`error: ${error instanceof Error ? error.message : String(error)}`);
  const send = async (command: CloudCommand): Promise<void> => {
    const cloud = target.cloud!;
    const what =
      command.kind === "set" ? `property/set led=${command.on}` : command.kind === "toggle" ? "property/set toggle" : command.kind === "get" ? "property/get led" : `desired led=${command.on}`;
    if (command.kind === "desired") {
      const version = await cloud.setDesired(command.on);
      out.print(`cloud: ${what} set (version ${version}): the device applies it when it next comes online, then deletes it`);
      return;
    }
    try {
      // The device's own view first (an external broker cannot tell); the embedded one checks again.
      if (!target.online) throw new DeviceOfflineError();
      const id = await (command.kind === "set" ? cloud.set(command.on) : command.kind === "toggle" ? cloud.toggle() : cloud.get());
      out.print(`cloud: ${what} sent (id ${id})`);
    } catch (error) {
      if (!(error instanceof DeviceOfflineError)) throw error;
      out.print(`cloud: ${what} failed: device not online (${command.kind === "get" ? "OneNET reads a property only from an online device" : OFFLINE_HINT})`);
    }
  };
  const run = async (line: string): Promise<void> => {
    const word = line.trim().toLowerCase().replace(/\s+/g, " ");
    const fault = target.faults?.[word];
    if (fault) {
      await fault();
      return;
    }
    switch (word) {
      case "":
        return;
      case "status":
        out.print(`LED ${target.ledOn ? "on" : "off"}; wifi ${target.link.wifi}, tcp ${target.link.tcp}, mqtt ${target.link.mqtt}`);
        return;
      case "help":
      case "?":
        out.print(`commands: ${[...(target.cloud ? CLOUD_HELP : []), ...Object.keys(target.faults ?? {}), "status", "quit"].join(", ")}`);
        if (!target.cloud && target.noCloud) out.print(target.noCloud);
        return;
      case "quit":
      case "exit":
      case "q":
        quit("quit");
        return;
    }
    const command = CLOUD_COMMANDS[word];
    if (command) {
      if (!target.cloud) {
        out.print(`${word}: not available: ${target.noCloud ?? "no cloud console"}`);
        return;
      }
      await send(command);
      return;
    }
    out.print(`unknown command ${JSON.stringify(line.trim())}; type "help"`);
  };
  rl.on("line", (line) => {
    void run(line)
      .catch(fail)
      .finally(() => {
        if (terminal) rl.prompt();
      });
  });
  rl.on("close", () => {
    // Ctrl-D at a terminal quits; a pipe or file that ends leaves the run to --duration or a signal.
    if (terminal) quit("end of input");
  });
  return {
    close() {
      out.attach(undefined);
      rl.removeAllListeners("close");
      rl.close();
      if (terminal) out.print("");
      process.stdin.pause();
    },
  };
}
