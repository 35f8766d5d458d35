/*
 * One XS engine (Moddable's, as built by @agoric/xsnap) in a child process, driven synchronously.
 *
 * Why not @agoric/xsnap's JS API: it is asynchronous (promises over stream pipes) and needs SES's
 * `harden` installed in Node. Our simulator is synchronous: VirtualClock callbacks run to completion,
 * so a timer firing in Node must be able to run the firmware's callback in XS and apply what it did
 * (bytes written, LED switched, timers armed) before the clock moves on. So we speak the worker's
 * documented netstring protocol ourselves, over two named pipes read and written with blocking
 * syscalls: every exchange completes inside the caller's stack frame, and virtual time stays exact.
 *
 * Protocol of xsnap-worker (xsnap-worker.c), fd 3 = to XS, fd 4 = from XS, each message a netstring:
 *   to XS:   `e<code>` evaluate a script; `?<bytes>` call globalThis.handleCommand(ArrayBuffer);
 *            `/<bytes>` reply to XS's issueCommand; `q` quit.
 *   from XS: `.<meter JSON>\x01<reply>` done; `!<message>` uncaught exception; `?<bytes>` XS called
 *            issueCommand(ArrayBuffer) and waits for our `/` reply.
 * The meter JSON gives `compute` (XS metering units: deterministic for the same code and inputs)
 * and `currentHeapCount` (slots in use; exact live slots right after a gc()).
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** Metering of one evaluation or command (one "crank"). */
export interface XsMeter {
  /** XS metering units spent in the crank (including nested issueCommand round trips). */
  compute: number;
  /** Heap slots in use at the end of the crank (live slots if the crank ended with gc()). */
  currentHeapCount: number;
  /** Bytes of chunk memory XS has allocated from the OS so far. */
  allocate: number;
}

export interface XsResult {
  reply: Uint8Array;
  meter: XsMeter;
}

export interface XsWorkerOptions {
  /** Compute budget per crank; a crank that exceeds it kills the worker (default 2e9). */
  meteringLimit?: number;
  /** Where the worker's own stdout (XS `print`) goes (default: ignored). */
  stdout?: "inherit" | "ignore";
  /** Name shown in `ps` and in errors. */
  name?: string;
}

/** XS threw out of an evaluation or command; the worker is still usable. */
export class XsException extends Error {
  constructor(message: string) {
    super(message);
    this.name = "XsException";
  }
}

/** The worker process died or broke the protocol; the worker is unusable. */
export class XsWorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "XsWorkerError";
  }
}

const EXIT_CODES: Record<number, string> = {
  1: "bad argument usage",
  2: "I/O error",
  11: "not enough memory",
  12: "stack overflow",
  15: "unhandled exception",
  16: "property (key) name space exhausted",
  17: "too much computation (metering limit)",
};

/** Absolute path of the xsnap-worker binary built by `npm install`. */
export function xsnapWorkerPath(): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve("@agoric/xsnap/package.json"));
  return join(pkg, "xsnap-native/xsnap/build/bin/lin/release/xsnap-worker");
}

const COMMA = 0x2c;
const COLON = 0x3a;
const DOT = 0x2e;
const BANG = 0x21;
const QUERY = 0x3f;
const SEPARATOR = 0x01;

export class XsWorker {
  /** Called synchronously when code in XS calls `issueCommand(buffer)`; returns the reply bytes. */
  onQuery: (request: Uint8Array) => Uint8Array = (request) => request;
  /** Metering of the last completed crank. */
  lastMeter: XsMeter = { compute: 0, currentHeapCount: 0, allocate: 0 };
  /** Sum of `compute` over every crank since start (or since the caller reset it). */
  totalCompute = 0;
  /** Cranks (evaluations and commands) run so far. */
  cranks = 0;

  private readonly child: ChildProcess;
  private readonly dir: string;
  private toXs: number;
  private fromXs: number;
  private closed = false;
  private exit: string | undefined;
  private inBuf = Buffer.alloc(64 * 1024);
  private inStart = 0;
  private inEnd = 0;
  private busy = false;

  constructor(options: XsWorkerOptions = {}) {
    const limit = Math.min(options.meteringLimit ?? 2e9, 2 ** 31 - 1);
    this.dir = mkdtempSync(join(tmpdir(), "onenet-led-xs-"));
    const toPath = join(this.dir, "to-xs");
    const fromPath = join(this.dir, "from-xs");
    execFileSync("mkfifo", [toPath, fromPath]);
    // Each side holds only its own end of each pipe, so either side's death reads as end of file
    // (or EPIPE) on the other: a dead worker never hangs Node, and a dead Node never leaves an
    // orphan worker waiting for commands. A non-blocking reader lets the writer open without
    // blocking; then a blocking reader is opened and the probe closed.
    const pipeEnds = (path: string): { reader: number; writer: number } => {
      const probe = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      const writer = openSync(path, constants.O_WRONLY);
      const reader = openSync(path, constants.O_RDONLY);
      closeSync(probe);
      return { reader, writer };
    };
    const to = pipeEnds(toPath);
    const from = pipeEnds(fromPath);
    this.toXs = to.writer;
    this.fromXs = from.reader;
    try {
      this.child = spawn(xsnapWorkerPath(), [options.name ?? "onenet-led-xs", "-l", String(limit)], {
        stdio: ["ignore", options.stdout ?? "ignore", "inherit", to.reader, from.writer],
      });
    } finally {
      closeSync(to.reader);
      closeSync(from.writer);
      // Both processes hold their ends open: the names are no longer needed, and nothing is left
      // in the temporary directory even if close() is never called.
      rmSync(this.dir, { recursive: true, force: true });
    }
    this.child.on("exit", (code, signal) => {
      this.exit = signal ? `signal ${signal}` : `exit code ${code} (${EXIT_CODES[code ?? -1] ?? "unknown"})`;
    });
    this.child.on("error", (error) => {
      this.exit = error.message;
    });
    // The worker must never keep a test runner or the CLI alive.
    this.child.unref();
  }

  /** Evaluates a script in XS's global scope (sloppy mode, like `eval`). */
  evaluate(code: string): XsResult {
    return this.exchange(Buffer.concat([Buffer.from("e"), Buffer.from(code, "utf8")]));
  }

  /**
   * Evaluates `expression` in XS and returns its value through JSON (use for test probes and
   * set-up, not on hot paths: JSON costs compute in XS).
   */
  evaluateJson<T = unknown>(expression: string): { value: T; meter: XsMeter } {
    const { reply, meter } = this.evaluate(
      `(function () { const v = (${expression}); const s = v === undefined ? "null" : JSON.stringify(v);` +
        ` const u = new Uint8Array(s.length * 3); let n = 0;` +
        ` for (let i = 0; i < s.length; i++) { let c = s.charCodeAt(i);` +
        ` if (c < 0x80) u[n++] = c; else if (c < 0x800) { u[n++] = 0xc0 | (c >> 6); u[n++] = 0x80 | (c & 63); }` +
        ` else { u[n++] = 0xe0 | (c >> 12); u[n++] = 0x80 | ((c >> 6) & 63); u[n++] = 0x80 | (c & 63); } }` +
        ` return u.buffer.slice(0, n); })()`,
    );
    return { value: JSON.parse(Buffer.from(reply).toString("utf8")) as T, meter };
  }

  /** Calls `globalThis.handleCommand(payload.buffer)` in XS and returns the ArrayBuffer it returned. */
  command(payload: Uint8Array): XsResult {
    const message = Buffer.allocUnsafe(payload.length + 1);
    message[0] = QUERY;
    message.set(payload, 1);
    return this.exchange(message);
  }

  /** Whether the worker process is alive and usable. */
  get alive(): boolean {
    return !this.closed && this.exit === undefined;
  }

  /** Asks the worker to quit and releases the pipes. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.exit === undefined) this.writeNetstring(Buffer.from("q"));
    } catch {
      // Already gone: nothing to tell it.
    }
    closeSync(this.toXs);
    closeSync(this.fromXs);
    if (this.exit === undefined) this.child.kill();
  }

  private exchange(message: Uint8Array): XsResult {
    if (this.closed) throw new XsWorkerError("the XS worker is closed");
    if (this.busy) throw new XsWorkerError("re-entrant call into the XS worker");
    this.busy = true;
    try {
      this.writeNetstring(message);
      for (;;) {
        const reply = this.readNetstring();
        if (reply.length === 0) throw this.fail("empty message from XS");
        const kind = reply[0];
        if (kind === QUERY) {
          let answer: Uint8Array;
          try {
            answer = this.onQuery(reply.subarray(1));
          } catch (error) {
            // XS is blocked waiting for this reply: answer, then report the host-side error.
            this.writeNetstring(Buffer.from("/"));
            this.drainAfterHostError();
            throw error;
          }
          const out = Buffer.allocUnsafe(answer.length + 1);
          out[0] = 0x2f; // '/'
          out.set(answer, 1);
          this.writeNetstring(out);
        } else if (kind === DOT) {
          const sep = reply.indexOf(SEPARATOR, 1);
          let meter: XsMeter = { compute: 0, currentHeapCount: 0, allocate: 0 };
          if (sep >= 0) {
            const parsed = JSON.parse(reply.subarray(1, sep).toString("latin1")) as XsMeter;
            meter = { compute: parsed.compute, currentHeapCount: parsed.currentHeapCount, allocate: parsed.allocate };
          }
          this.lastMeter = meter;
          this.totalCompute += meter.compute;
          this.cranks++;
          return { reply: new Uint8Array(reply.subarray(sep < 0 ? 1 : sep + 1)), meter };
        } else if (kind === BANG) {
          this.cranks++;
          throw new XsException(reply.subarray(1).toString("utf8"));
        } else {
          throw this.fail(`unexpected message from XS: ${JSON.stringify(reply.subarray(0, 40).toString("latin1"))}`);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** After a host handler threw mid-crank, lets XS finish the crank so the pipe stays in step. */
  private drainAfterHostError(): void {
    for (;;) {
      const reply = this.readNetstring();
      if (reply[0] === QUERY) this.writeNetstring(Buffer.from("/"));
      else return;
    }
  }

  /**
   * The dead child's exit status, read synchronously: Node's "exit" event cannot run while we
   * block, but a zombie's /proc/<pid>/stat still carries its wait status (field 52).
   */
  private exitStatus(): string {
    try {
      const stat = readFileSync(`/proc/${this.child.pid}/stat`, "latin1");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const status = Number(fields[fields.length - 1]);
      if ((status & 0x7f) !== 0) return `signal ${status & 0x7f}`;
      const code = (status >> 8) & 0xff;
      return `exit code ${code} (${EXIT_CODES[code] ?? "unknown"})`;
    } catch {
      return "the worker closed its pipe";
    }
  }

  private fail(message: string): XsWorkerError {
    this.child.kill();
    return new XsWorkerError(message);
  }

  private writeNetstring(body: Uint8Array): void {
    const head = Buffer.from(`${body.length}:`, "latin1");
    const all = Buffer.allocUnsafe(head.length + body.length + 1);
    head.copy(all, 0);
    all.set(body, head.length);
    all[all.length - 1] = COMMA;
    let off = 0;
    try {
      while (off < all.length) off += writeSync(this.toXs, all, off, all.length - off);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EPIPE") throw error;
      this.exit ??= this.exitStatus();
      throw new XsWorkerError(`XS worker died: ${this.exit}`);
    }
  }

  /** Reads one netstring, blocking; end of file means the worker died. */
  private readNetstring(): Buffer {
    let headLength: number;
    for (;;) {
      const colon = this.inBuf.subarray(this.inStart, this.inEnd).indexOf(COLON);
      if (colon >= 0) {
        headLength = colon + 1;
        break;
      }
      if (this.inEnd - this.inStart > 12) throw this.fail("bad netstring length from XS");
      this.fill(this.inEnd - this.inStart + 1);
    }
    const length = Number(this.inBuf.toString("latin1", this.inStart, this.inStart + headLength - 1));
    if (!Number.isInteger(length)) throw this.fail("bad netstring length from XS");
    const total = headLength + length + 1;
    while (this.inEnd - this.inStart < total) this.fill(total);
    const start = this.inStart + headLength;
    const body = Buffer.from(this.inBuf.subarray(start, start + length));
    if (this.inBuf[start + length] !== COMMA) throw this.fail("bad netstring terminator from XS");
    this.inStart += total;
    if (this.inStart === this.inEnd) this.inStart = this.inEnd = 0;
    return body;
  }

  /** Reads more bytes from XS, keeping room for `need` unread bytes from `inStart`. */
  private fill(need: number): void {
    if (this.inStart + need > this.inBuf.length) {
      const target = need > this.inBuf.length ? Buffer.alloc(Math.max(need, this.inBuf.length * 2)) : this.inBuf;
      this.inBuf.copy(target, 0, this.inStart, this.inEnd);
      this.inEnd -= this.inStart;
      this.inStart = 0;
      this.inBuf = target;
    }
    let n: number;
    try {
      n = readSync(this.fromXs, this.inBuf, this.inEnd, this.inBuf.length - this.inEnd, null);
    } catch (error) {
      throw this.fail(`reading from XS failed: ${(error as Error).message}`);
    }
    if (n === 0) {
      this.exit ??= this.exitStatus();
      throw new XsWorkerError(`XS worker died: ${this.exit}`);
    }
    this.inEnd += n;
  }
}
