/*
 * The XS harness itself: the worker protocol, metering, the bundle guard, and the board proxy
 * giving the same outcomes inside XS as on Node for a small firmware written to the board seam.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Board, LogLevel } from "../../firmware/board.js";
import { VirtualClock } from "../../host-sim/clock.js";
import { VirtualUart } from "../../host-sim/uart.js";
import { XsBoardHost, XsFirmwareError } from "../../host-sim/xs/board-host.js";
import { BundleError, bundleForXs, type XsBundle } from "../../host-sim/xs/bundle.js";
import { XsException, XsWorker, XsWorkerError } from "../../host-sim/xs/worker.js";
import { Echo } from "./fixtures/echo.js";

const ROOTS = ["firmware", "host-sim/xs", "test/xs/fixtures"];

describe("XsWorker", () => {
  let worker: XsWorker;
  beforeAll(() => {
    worker = new XsWorker();
  });
  afterAll(() => worker.close());

  it("evaluates a script and reports deterministic metering", () => {
    const a = worker.evaluateJson<number>("[1, 2, 3].reduce((s, x) => s + x * x, 0)");
    const b = worker.evaluateJson<number>("[1, 2, 3].reduce((s, x) => s + x * x, 0)");
    expect(a.value).toBe(14);
    expect(a.meter.compute).toBeGreaterThan(0);
    expect(b.meter.compute).toBe(a.meter.compute);
    expect(a.meter.currentHeapCount).toBeGreaterThan(1000);
  });

  it("counts more compute for more work", () => {
    const small = worker.evaluate("let s1 = 0; for (let i = 0; i < 10; i++) s1 += i;").meter.compute;
    const big = worker.evaluate("let s2 = 0; for (let i = 0; i < 1000; i++) s2 += i;").meter.compute;
    expect(big).toBeGreaterThan(small * 50);
  });

  it("answers XS's synchronous issueCommand from Node within the crank", () => {
    worker.onQuery = (request) => Uint8Array.from([...request].reverse());
    const { value } = worker.evaluateJson<number[]>("Array.from(new Uint8Array(issueCommand(new Uint8Array([1, 2, 3]).buffer)))");
    expect(value).toEqual([3, 2, 1]);
  });

  it("reports an uncaught exception and stays usable", () => {
    expect(() => worker.evaluate("throw new TypeError('nope')")).toThrow(XsException);
    expect(worker.evaluateJson<number>("6 * 7").value).toBe(42);
  });

  it("fails cleanly when a crank exceeds the metering limit", () => {
    const limited = new XsWorker({ meteringLimit: 100_000 });
    try {
      expect(() => limited.evaluate("for (;;) {}")).toThrow(XsWorkerError);
      expect(() => limited.evaluate("for (;;) {}")).toThrow(/too much computation/);
      expect(limited.alive).toBe(false);
    } finally {
      limited.close();
    }
  });
});

describe("bundleForXs", () => {
  it("refuses imports outside the firmware and the harness", () => {
    expect(() => bundleForXs({ modules: { clock: "host-sim/clock.ts" } })).toThrow(BundleError);
  });

  it("refuses Node builtins", () => {
    expect(() => bundleForXs({ modules: { bad: "test/xs/fixtures/uses-node.ts" }, allowedRoots: ROOTS })).toThrow(
      /node:crypto|crypto/,
    );
  });

  it("removes the globals a Moddable device lacks", () => {
    const worker = new XsWorker();
    try {
      const bundle = bundleForXs({ modules: { board: "firmware/board.ts" } });
      worker.evaluate(bundle.code);
      const { value } = worker.evaluateJson<string[]>(
        "['TextEncoder', 'TextDecoder', 'setImmediate', 'performance', 'print', 'gc', 'issueCommand', 'harden'].map((n) => typeof globalThis[n])",
      );
      expect(value.every((t) => t === "undefined")).toBe(true);
      expect(worker.evaluateJson<string>("typeof xsHarness.modules.board").value).toBe("object");
    } finally {
      worker.close();
    }
  });
});

/** A minimal host board over the virtual UART, recording LED changes and log lines. */
function makeBoard(clock: VirtualClock, uart: VirtualUart, seed = 7) {
  const ledHistory: { time: number; level: number }[] = [];
  const logs: string[] = [];
  let state = seed;
  const board: Board = {
    openSerial: (handlers) => uart.mcu.open(handlers),
    led: { write: (level) => void ledHistory.push({ time: clock.now(), level }) },
    clock,
    log: (level: LogLevel, message: string) => void logs.push(`${clock.now()} ${level} ${message}`),
    random: () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    },
  };
  return { board, ledHistory, logs };
}

/** Feeds the same script of input to the module end and records everything the MCU did. */
function scenario(start: (board: Board) => void) {
  const clock = new VirtualClock({ wallOffset: 1_700_000_000_000 });
  const uart = new VirtualUart(clock, { chunkSize: 8, txFifoSize: 32 });
  const echoed: number[] = [];
  uart.module.onData = (bytes) => echoed.push(...bytes);
  const { board, ledHistory, logs } = makeBoard(clock, uart);
  start(board);
  const input = "hello xs\nthe quick brown fox jumps over the lazy dog\n" + "abc".repeat(100) + "\n";
  clock.setTimeout(() => uart.module.write(new TextEncoder().encode(input)), 10);
  clock.setTimeout(() => uart.module.write(new TextEncoder().encode("boom!\n")), 3000);
  clock.runUntil(6000);
  return { echoed: Buffer.from(echoed).toString("latin1"), ledHistory, logs, errors: clock.errors.map(String) };
}

describe("XsBoardHost: the firmware in XS sees the same board as on Node", () => {
  let bundle: XsBundle;
  beforeAll(() => {
    bundle = bundleForXs({ modules: { echo: "test/xs/fixtures/echo.ts" }, allowedRoots: ROOTS });
  });

  it("gives the same UART bytes, LED history, logs, timers and errors", () => {
    const onNode = scenario((board) => new Echo(board).start());
    let host: XsBoardHost | undefined;
    const worker = new XsWorker();
    try {
      worker.evaluate(bundle.code);
      const onXs = scenario((board) => {
        host = new XsBoardHost(worker, board);
        host.evaluate("xsHarness.state.echo = new xsHarness.modules.echo.Echo(xsHarness.board()); xsHarness.state.echo.start();");
      });
      expect(onNode.echoed.startsWith("HELLO XS\nTHE QUICK")).toBe(true);
      expect(onNode.errors).toHaveLength(1);
      expect(onXs.echoed).toBe(onNode.echoed);
      expect(onXs.ledHistory).toEqual(onNode.ledHistory);
      expect(onXs.logs).toEqual(onNode.logs);
      expect(onXs.errors).toHaveLength(1);
      expect(onXs.errors[0]).toMatch(/XsFirmwareError: Error: bang in the input/);
      expect(host?.stats.readable.count).toBeGreaterThan(10);
      expect(host?.stats.timer.count).toBe(20);
      expect(worker.evaluateJson<number>("xsHarness.state.echo.beats").value).toBe(20);
    } finally {
      worker.close();
    }
  });

  it("meters the same compute on every run", () => {
    const run = () => {
      const worker = new XsWorker();
      try {
        worker.evaluate(bundle.code);
        let host: XsBoardHost | undefined;
        scenario((board) => {
          host = new XsBoardHost(worker, board);
          host.evaluate("xsHarness.state.echo = new xsHarness.modules.echo.Echo(xsHarness.board()); xsHarness.state.echo.start();");
        });
        return { total: worker.totalCompute, readable: host?.stats.readable.compute };
      } finally {
        worker.close();
      }
    };
    const first = run();
    expect(first.total).toBeGreaterThan(0);
    expect(run()).toEqual(first);
  });

  it("reports a firmware exception from evaluate as XsFirmwareError", () => {
    const worker = new XsWorker();
    try {
      worker.evaluate(bundle.code);
      const clock = new VirtualClock();
      const uart = new VirtualUart(clock);
      const host = new XsBoardHost(worker, makeBoard(clock, uart).board);
      expect(() => host.evaluate("xsHarness.board().led.write(2)")).toThrow(XsFirmwareError);
      expect(() => host.evaluate("xsHarness.board().led.write(2)")).toThrow(/digital level must be 0 or 1/);
    } finally {
      worker.close();
    }
  });
});
