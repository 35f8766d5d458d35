// A real Mosquitto broker for tests: started on a free loopback port with a generated config, waited on until
// it accepts TCP connections, stopped, and restarted on the same port for the broker-restart scenario.
// Needs the Debian package `mosquitto` (CI installs it); when the binary is missing the start fails with a
// message saying how to install it: tests that need a real peer must not silently skip.
//
// Public API:
//   findMosquitto(): string                                 path of the binary, or throws MosquittoMissingError
//   startMosquitto(opts?: MosquittoOptions): Promise<Mosquitto>
//   interface MosquittoOptions { port?: number; extraConfig?: string[]; startTimeoutMs?: number = 10000 }
//   class Mosquitto {
//     readonly host: "127.0.0.1"; readonly port: number; readonly url: string   ("mqtt://127.0.0.1:<port>")
//     readonly running: boolean; readonly output: string   (Mosquitto's own log lines, for failure messages)
//     start(): Promise<void>; stop(): Promise<void>; restart(downMs = 0): Promise<void>   (same port)
//     dispose(): Promise<void>   stop and delete the generated config directory
//   }
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export class MosquittoMissingError extends Error {
  constructor() {
    super(
      "mosquitto binary not found (looked in PATH, /usr/sbin, /usr/local/sbin). " +
        "Install it: apt-get install -y mosquitto (Debian/Ubuntu) or brew install mosquitto (macOS).",
    );
    this.name = "MosquittoMissingError";
  }
}

export function findMosquitto(): string {
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin", "/opt/homebrew/sbin"];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, "mosquitto");
    if (existsSync(p)) return p;
  }
  throw new MosquittoMissingError();
}

export interface MosquittoOptions {
  /** fixed port; default: a free one */
  port?: number;
  /** more lines for mosquitto.conf */
  extraConfig?: string[];
  startTimeoutMs?: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => {
      s.destroy();
      resolve(false);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MAX_OUTPUT = 64 * 1024;

export class Mosquitto {
  readonly host = "127.0.0.1";
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly dir: string;
  private readonly confPath: string;
  private readonly bin: string;
  private outputText = "";

  constructor(
    private portNumber: number,
    private readonly opts: MosquittoOptions,
    bin: string,
  ) {
    this.bin = bin;
    this.dir = mkdtempSync(join(tmpdir(), "mosquitto-test-"));
    this.confPath = join(this.dir, "mosquitto.conf");
  }

  get port(): number {
    return this.portNumber;
  }

  get url(): string {
    return `mqtt://${this.host}:${this.portNumber}`;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get output(): string {
    return this.outputText;
  }

  private writeConfig(): void {
    const lines = [
      `listener ${this.portNumber} ${this.host}`,
      "allow_anonymous true",
      "persistence false",
      "log_dest stderr",
      ...(this.opts.extraConfig ?? []),
    ];
    writeFileSync(this.confPath, lines.join("\n") + "\n");
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.writeConfig();
    const proc = spawn(this.bin, ["-c", this.confPath], { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    const append = (chunk: Buffer) => {
      this.outputText = (this.outputText + chunk.toString("utf8")).slice(-MAX_OUTPUT);
    };
    proc.stdout?.on("data", append);
    proc.stderr?.on("data", append);
    let spawnError: Error | undefined;
    proc.on("error", (err) => {
      spawnError = err;
    });
    this.exited = new Promise((resolve) => proc.once("close", () => resolve()));
    const deadline = Date.now() + (this.opts.startTimeoutMs ?? 10_000);
    while (Date.now() < deadline) {
      if (spawnError) throw new Error(`mosquitto could not be started (${this.bin}): ${spawnError.message}`);
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`mosquitto exited at start (code ${proc.exitCode}, signal ${proc.signalCode}):\n${this.outputText}`);
      }
      if (await canConnect(this.host, this.portNumber)) return;
      await sleep(50);
    }
    await this.stop();
    throw new Error(`mosquitto did not accept connections on ${this.host}:${this.portNumber} in time:\n${this.outputText}`);
  }

  async stop(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      const killer = setTimeout(() => proc.kill("SIGKILL"), 5_000);
      await this.exited;
      clearTimeout(killer);
    }
    this.proc = undefined;
  }

  /** Stop, stay down for downMs, start again on the same port (clients see the broker go away and return). */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await sleep(downMs);
    // The port was ours a moment ago; TIME_WAIT sockets do not block a listener with SO_REUSEADDR, but retry
    // briefly in case the kernel is slow to release it.
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.start();
        return;
      } catch (err) {
        lastError = err;
        await sleep(200);
      }
    }
    throw lastError;
  }

  /** Stop and remove the generated config. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const bin = findMosquitto();
  // A free port can be taken by someone else between probing and binding: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < (opts.port === undefined ? 5 : 1); attempt++) {
    const port = opts.port ?? (await freePort());
    const m = new Mosquitto(port, opts, bin);
    try {
      await m.start();
      return m;
    } catch (err) {
      lastError = err;
      await m.dispose();
    }
  }
  throw lastError;
}
