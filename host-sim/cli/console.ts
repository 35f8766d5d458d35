/*
 * The interactive console of `onenet-led run`: a prompt on a terminal, commands typed in any case,
 * cloud commands held while the device is offline, and printing that never tears the line being
 * typed.
 *
 *   const out = new ConsoleOutput(stream);            // print(line): above the prompt when there is one
 *   const console = startConsole(target, out, quit);  // reads stdin; console.close()
 *
 * Without a terminal (stdin a pipe or a file) there is no prompt and lines are read as they come.
 */
import readline from "node:readline";

/** What the console drives: the simulator, or the firmware on a real module. */
export interface ConsoleTarget {
  readonly ledOn: boolean;
  readonly online: boolean;
  readonly link: Record<string, string>;
  /** The cloud's commands; absent when the broker admits only the device. */
  cloud?: { set(on: boolean): Promise<string>; toggle(): Promise<string>; get(): Promise<string> };
  /** Why there is no cloud console (printed by help and by the cloud commands). */
  noCloud?: string;
  faults?: Record<string, () => void | Promise<void>>;
  /** Calls `listener` each time the device comes online; returns an unsubscribe function. */
  onOnline(listener: () => void): () => void;
}

const CLOUD_COMMANDS = ["on", "off", "toggle", "get"] as const;
type CloudCommand = (typeof CLOUD_COMMANDS)[number];
/** Commands typed while offline, kept for when the device is back (the oldest go first). */
const QUEUE_MAX = 16;

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
  const queue: CloudCommand[] = [];
  if (terminal) {
    rl.setPrompt(target.cloud ? "onenet-led> " : "onenet-led (device only)> ");
    out.attach(rl);
    rl.prompt();
    // At a terminal readline takes Ctrl-C for itself: it means quit here.
    rl.on("SIGINT", () => quit("Ctrl-C"));
  }
  const fail = (error: unknown) => out.print(`error: ${error instanceof Error ? error.message : String(error)}`);
  const send = async (command: CloudCommand, queued: boolean): Promise<void> => {
    const cloud = target.cloud!;
    const note = queued ? " (typed while offline)" : "";
    switch (command) {
      case "on":
      case "off":
        out.print(`cloud: property/set led=${command === "on"} sent${note} (id ${await cloud.set(command === "on")})`);
        return;
      case "toggle":
        out.print(`cloud: property/set toggle sent${note} (id ${await cloud.toggle()})`);
        return;
      case "get":
        out.print(`cloud: property/get led sent${note} (id ${await cloud.get()})`);
        return;
    }
  };
  const offOnline = target.onOnline(() => {
    const pending = queue.splice(0);
    void (async () => {
      for (const command of pending) await send(command, true).catch(fail);
    })();
  });
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
        out.print(`LED ${target.ledOn ? "on" : "off"}; wifi ${target.link.wifi}, tcp ${target.link.tcp}, mqtt ${target.link.mqtt}` +
          (queue.length ? `; ${queue.length} command${queue.length === 1 ? "" : "s"} queued for when the device is online` : ""));
        return;
      case "help":
      case "?":
        out.print(`commands: ${[...(target.cloud ? CLOUD_COMMANDS : []), ...Object.keys(target.faults ?? {}), "status", "quit"].join(", ")}`);
        if (!target.cloud && target.noCloud) out.print(target.noCloud);
        return;
      case "quit":
      case "exit":
      case "q":
        quit("quit");
        return;
    }
    if ((CLOUD_COMMANDS as readonly string[]).includes(word)) {
      const command = word as CloudCommand;
      if (!target.cloud) {
        out.print(`${command}: not available: ${target.noCloud ?? "no cloud console"}`);
        return;
      }
      if (!target.online) {
        if (queue.length >= QUEUE_MAX) out.print(`queue full: "${queue.shift()}" dropped`);
        queue.push(command);
        out.print(`queued: the device is offline; "${command}" is sent when it is back online`);
        return;
      }
      await send(command, false);
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
      offOnline();
      out.attach(undefined);
      rl.removeAllListeners("close");
      rl.close();
      if (terminal) out.print("");
      process.stdin.pause();
    },
  };
}
