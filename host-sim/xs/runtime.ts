/*
 * The harness inside XS: the first module of every bundle (bundle.ts puts it first), so it runs
 * before any firmware module.
 *
 * It takes xsnap's host functions for itself and removes from the global scope everything a
 * Moddable device does not have (TextEncoder, TextDecoder, setImmediate, performance, print, gc,
 * issueCommand, harden, metering controls, base64), so a firmware that leans on one of them fails
 * here rather than on the chip. What remains for test code is one global, `xsHarness`.
 */
import { Channel, ProxyBoard, type IssueCommand } from "./board-proxy.js";
import { CMD_GC, CMD_READABLE, CMD_TIMER, CMD_WRITABLE } from "./protocol.js";

interface XsnapGlobals {
  issueCommand: IssueCommand;
  gc: () => void;
  handleCommand?: (message: ArrayBuffer) => ArrayBuffer;
  xsHarness?: XsHarness;
}

const g = globalThis as unknown as XsnapGlobals & Record<string, unknown>;
const issueCommand = g.issueCommand;
const collect = g.gc;

const NOT_ON_MODDABLE = [
  "issueCommand",
  "gc",
  "print",
  "setImmediate",
  "performance",
  "currentMeterLimit",
  "resetMeter",
  "TextEncoder",
  "TextDecoder",
  "harden",
  "base64",
  "Base64",
];

export class XsHarness {
  /** The modules bundle.ts exposed, by the names it was given. */
  readonly modules: Record<string, unknown> = {};
  /** Free slots for test code (devices, drivers, recorded events). */
  readonly state: Record<string, unknown> = {};
  private readonly channel = new Channel(issueCommand);
  private proxy: ProxyBoard | undefined;
  private readonly header = new DataView(new ArrayBuffer(21));

  /** The proxy board, created on first use; `moduleReset` exists when the host board has one. */
  board(hasModuleReset = false): ProxyBoard {
    this.proxy ??= new ProxyBoard(this.channel, hasModuleReset);
    return this.proxy;
  }

  /** Sets the proxy clock (Node calls this before evaluating code that may read the time). */
  setTime(now: number, wall: number): void {
    const clock = this.board().clock;
    clock.current = now;
    clock.wall = wall;
  }

  gc(): void {
    collect();
  }

  /** Sends a free-form event to Node (XsBoardHost.onEvent), in order with the board's effects. */
  emit(message: string): void {
    this.board().emit(message);
  }

  /** Queued one-way records as an evaluation's reply (Node's XsBoardHost.evaluate applies them). */
  flush(): ArrayBuffer {
    return this.channel.takeReply();
  }

  /** Runs `fn`, reporting an exception to Node instead of letting it escape the crank. */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.board().reportError(error);
    }
  }

  /** xsnap's handleCommand: one host event in, the queued effects out. */
  handle(message: ArrayBuffer): ArrayBuffer {
    const header = this.header;
    const bytes = new Uint8Array(message);
    for (let i = 0; i < 21 && i < bytes.length; i++) header.setUint8(i, bytes[i]);
    const op = header.getUint8(0);
    if (op === CMD_GC) {
      collect();
      return this.channel.takeReply();
    }
    const board = this.board();
    board.clock.current = header.getFloat64(1, true);
    board.clock.wall = header.getFloat64(9, true);
    const operand = header.getUint32(17, true);
    try {
      if (op === CMD_READABLE) board.serialHandlers?.onReadable(operand);
      else if (op === CMD_WRITABLE) board.serialHandlers?.onWritable(operand);
      else if (op === CMD_TIMER) board.clock.callbacks[operand]?.();
    } catch (error) {
      board.reportError(error);
    }
    return this.channel.takeReply();
  }
}

for (const name of NOT_ON_MODDABLE) delete g[name];
const harness = new XsHarness();
Object.defineProperty(globalThis, "xsHarness", { value: harness, enumerable: false });
Object.defineProperty(globalThis, "handleCommand", {
  value: (message: ArrayBuffer) => harness.handle(message),
  enumerable: false,
});

/** Called by the bundle's entry for each exposed module. */
export function expose(name: string, module: unknown): void {
  harness.modules[name] = module;
}
