// `onenet-led` as a user runs it: a child process whose output is watched line by line, with the
// wall-clock time of every line and of the exit, so a test can say "exited within 2 s of quit".
//
//   const p = startCli(["run", "--no-dashboard"]);
//   await p.waitFor(/mqtt\s+online/, 30_000);   // the line, or throws with everything printed so far
//   p.type("quit");                              // a line on stdin
//   const { code, at } = await p.exited;         // at: Date.now() when it exited
//   p.text                                       // stdout + stderr so far
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";

export const CLI = new URL("../../bin/onenet-led.js", import.meta.url).pathname;

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  readonly stdout: string;
  readonly stderr: string;
  readonly text: string;
  /** When the first byte of output arrived (Date.now()), or 0. */
  readonly firstOutputAt: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  waitFor(pattern: RegExp, ms: number, stream?: "stdout" | "stderr" | "both"): Promise<string>;
  type(line: string): void;
  kill(signal?: NodeJS.Signals): void;
}

export function startCli(args: string[], options: { env?: NodeJS.ProcessEnv } = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...options.env } });
  let stdout = "";
  let stderr = "";
  let firstOutputAt = 0;
  const seen = () => {
    if (!firstOutputAt) firstOutputAt = Date.now();
  };
  child.stdout.on("data", (chunk: Buffer) => {
    seen();
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    seen();
    stderr += chunk.toString();
  });
  child.stdin.on("error", () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    get text() {
      return stdout + stderr;
    },
    get firstOutputAt() {
      return firstOutputAt;
    },
    exited,
    async waitFor(pattern, ms, stream = "both") {
      const deadline = Date.now() + ms;
      for (;;) {
        const text = stream === "stdout" ? stdout : stream === "stderr" ? stderr : stdout + stderr;
        const match = pattern.exec(text);
        if (match) return match[0];
        if (done || Date.now() > deadline)
          throw new Error(`${done ? "the process exited" : `nothing after ${ms} ms`} before ${pattern}; output:\n${stdout}\n--- stderr ---\n${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    type(line) {
      child.stdin.write(`${line}\n`);
    },
    kill(signal = "SIGTERM") {
      if (!done) child.kill(signal);
    },
  };
}
