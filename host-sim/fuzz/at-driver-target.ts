/*
 * Fuzz target: the ESP8266 AT driver (firmware/at/driver.ts) through a fake serial port on a
 * VirtualClock, so its state machine is fuzzed behind the parser. Per case, phase 1: the driver
 * opens a link while it is fed mutated module output from a recorded session, in random chunks
 * with random gaps (short, and now and then long enough for command timeouts); a stand-in session
 * reopens after every close, as the MQTT session does. Phase 2: the module turns well-behaved
 * (AtResponder); the session closes and reopens, and one payload must cross each way exactly.
 * Checks: nothing escapes into the clock (clock.errors), timer callbacks are bounded, the driver's
 * fixed buffers (UART read buffer, TX ring, parser line) stay inside their canaries, onData only
 * while a link is open and never more bytes than were fed, onOpen/onClose alternate, lastError is a
 * named AtError, and after the garbage the link comes up and moves bytes exactly.
 */
import type { Board, DigitalOutput, SerialHandlers, SerialPort } from "../../firmware/board.js";
import { Esp8266Driver } from "../../firmware/at/driver.js";
import type { LinkDownReason, TransportEvents } from "../../firmware/transport.js";
import { VirtualClock } from "../clock.js";
import { canaryIntact, FuzzViolation, guardedView, Tally, type Rule } from "./check.js";
import { mutate } from "./mutate.js";
import { AtResponder } from "./responder.js";
import type { Rng } from "./rng.js";
import type { Corpus } from "./sessions.js";

const NAME = "at-driver";
/** AtError values are kebab-case names; anything else (an object, a message) breaks the contract. */
const NAMED = /^[a-z][a-z0-9-]*$/;
/** Timer callbacks one case may take: far above what any recorded session needs. */
const MAX_TICKS = 50_000;

class Unbounded extends Error {}

/** FUZZ_DEBUG=1 with `--case I`: the driver's commands, statuses and the module's answers. */
const DEBUG = typeof process !== "undefined" && !!process.env.FUZZ_DEBUG;
function debug(clock: VirtualClock, what: string, text: string): void {
  console.log(`${String(clock.now()).padStart(7)} ${what}: ${JSON.stringify(text)}`);
}

/** The board the driver sees: a fake UART whose module side the fuzzer (or the responder) plays. */
class FakeBoard implements Pick<Board, "openSerial" | "clock" | "log" | "moduleReset"> {
  ticks = 0;
  handlers: SerialHandlers | undefined;
  responder: AtResponder | undefined;
  readonly clock: VirtualClock;
  readonly moduleReset: DigitalOutput;
  private rx: Uint8Array[] = [];
  private rxOff = 0;
  private level: 0 | 1 = 1;

  constructor() {
    const clock = new VirtualClock({ wallOffset: Date.UTC(2026, 10, 22) });
    const create = clock.createTimer.bind(clock);
    // Count every timer callback: a state machine that re-arms forever is caught, not hung.
    clock.createTimer = (callback) =>
      create(() => {
        if (++this.ticks > MAX_TICKS) throw new Unbounded(`more than ${MAX_TICKS} timer callbacks`);
        callback();
      });
    this.clock = clock;
    this.moduleReset = {
      write: (level) => {
        if (this.level === 0 && level === 1) this.responder?.boot();
        this.level = level;
      },
    };
  }

  log = (): void => {};

  openSerial = (handlers: SerialHandlers): SerialPort => {
    this.handlers = handlers;
    return {
      read: (view) => {
        let n = 0;
        while (n < view.length && this.rx.length) {
          const head = this.rx[0];
          const k = Math.min(view.length - n, head.length - this.rxOff);
          view.set(head.subarray(this.rxOff, this.rxOff + k), n);
          n += k;
          this.rxOff += k;
          if (this.rxOff === head.length) {
            this.rx.shift();
            this.rxOff = 0;
          }
        }
        return n;
      },
      write: (view) => {
        this.responder?.receive(view.slice());
        return view.length;
      },
      writable: 4096,
    };
  };

  /** The module sends `bytes` (announced from a clock event, never re-entrantly). */
  deliver(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.rx.push(bytes);
    this.clock.setTimeout(() => this.handlers?.onReadable(this.waiting()), 0);
  }

  waiting(): number {
    let n = -this.rxOff;
    for (const c of this.rx) n += c.length;
    return n;
  }
}

/**
 * Swaps the driver's fixed buffers (UART read buffer, TX ring, parser line) for same-sized views
 * inside canary-filled arrays. They are private: this reaches in by name and skips any that a
 * refactor renamed (the check then covers fewer buffers, it never breaks).
 */
export function guardDriverBuffers(driver: Esp8266Driver): Uint8Array[] {
  const d = driver as unknown as Record<string, unknown>;
  const out: Uint8Array[] = [];
  for (const key of ["rx", "ring"]) {
    const b = d[key];
    if (b instanceof Uint8Array) {
      const v = guardedView(b.length);
      d[key] = v;
      out.push(v);
    }
  }
  const parser = d.parser as { line?: unknown } | undefined;
  if (parser && parser.line instanceof Uint8Array) {
    const v = guardedView(parser.line.length);
    parser.line = v;
    out.push(v);
  }
  return out;
}

class StandIn implements TransportEvents {
  open = false;
  opens = 0;
  closes = 0;
  received: number[] = [];
  problem = "";
  reopen = true;
  reasons: LinkDownReason[] = [];
  constructor(private readonly onClosed: () => void) {}
  onOpen(): void {
    if (this.open) this.problem ||= "onOpen twice without onClose";
    this.open = true;
    this.opens++;
  }
  onData(bytes: Uint8Array, offset: number, length: number): void {
    if (!this.open) this.problem ||= "onData while no link is open";
    if (offset < 0 || length <= 0 || offset + length > bytes.length) this.problem ||= `onData(${offset}, ${length}) outside its buffer`;
    for (let i = 0; i < length; i++) this.received.push(bytes[offset + i]);
  }
  onClose(reason: LinkDownReason): void {
    this.open = false;
    this.closes++;
    this.reasons.push(reason);
    if (this.reopen) this.onClosed();
  }
}

export class AtDriverTarget {
  readonly name = NAME;
  readonly tally = new Tally();
  private readonly seeds: Corpus[];
  private readonly pool: Uint8Array[];

  constructor(corpus: readonly Corpus[]) {
    this.seeds = [...corpus];
    this.pool = corpus.map((c) => c.uart);
  }

  private seedIndex = 0;

  input(rng: Rng): { bytes: Uint8Array; steps: string[] } {
    this.seedIndex = rng.int(this.seeds.length);
    const seed = this.seeds[this.seedIndex];
    // A prefix of the session from the boot on, so the driver gets somewhere before the damage.
    const end = seed.uartChunks[rng.int(seed.uartChunks.length)];
    const base = rng.chance(0.5) ? seed.uart : seed.uart.subarray(0, end);
    return mutate(rng, "at", base, this.pool, [], 6);
  }

  run(rng: Rng, input: Uint8Array): void {
    const seed = this.seeds[this.seedIndex];
    const fail = (rule: Rule, detail: string): never => {
      throw new FuzzViolation(NAME, rule, `${seed.dialect} ${seed.receiveMode}: ${detail}`, input);
    };
    const board = new FakeBoard();
    const clock = board.clock;
    let reopens = 0;
    const driver: Esp8266Driver = new Esp8266Driver(board, {
      ssid: "onenet-lab",
      password: "password123",
      host: "mqtts.heclouds.com",
      port: 1883,
      tls: false,
      receiveMode: seed.receiveMode,
      ...(DEBUG ? { trace: (l: string) => debug(clock, "cmd", l), onStatus: (st: string, d: string) => debug(clock, "status", `${st} ${d}`) } : {}),
    });
    const guarded = guardDriverBuffers(driver);
    const session: StandIn = new StandIn(() => {
      if (reopens++ < 8) clock.setTimeout(() => driver.open(session), 1000);
    });
    const checkClock = (phase: string) => {
      if (clock.errors.length) {
        const e = clock.errors[0];
        fail(e instanceof Unbounded ? "unbounded-work" : "threw", `${phase}: ${String(e)}`);
      }
      if (session.problem) fail("bad-event", `${phase}: ${session.problem}`);
      if (guarded.some((v) => !canaryIntact(v))) fail("out-of-bounds-write", `${phase}: canary around a driver buffer changed`);
      const err = driver.lastError;
      if (err !== undefined && !(typeof err === "string" && NAMED.test(err))) fail("unknown-error-name", String(err));
    };

    // Phase 1: garbage.
    try {
      driver.open(session);
      let at = 0;
      while (at < input.length) {
        const n = Math.min(input.length - at, rng.chance(0.3) ? rng.range(1, 4) : rng.range(1, 128));
        board.deliver(input.slice(at, at + n));
        at += n;
        clock.advance(rng.chance(0.03) ? rng.range(500, 6000) : rng.range(0, 20));
      }
      clock.advance(rng.range(0, 30_000));
    } catch (e) {
      fail("threw", `phase 1: ${String(e)}`);
    }
    checkClock("garbage");
    if (session.received.length > input.length) fail("lost-or-invented-data", `${session.received.length} payload bytes from ${input.length} bytes of module output`);
    for (const r of session.reasons) this.tally.count(`close:${r}`);
    if (driver.lastError) this.tally.count(`error:${driver.lastError}`);

    // Phase 2: a well-behaved module from now on, in the receive mode the driver believes it set
    // (garbage may have made it fall back from passive to active: the module said ERROR).
    if (DEBUG) debug(clock, "phase", "recovery");
    const responder = new AtResponder(clock, seed.dialect, driver.receiveMode === "passive", (b) => {
      if (DEBUG) debug(clock, "module", Buffer.from(b).toString("latin1"));
      board.deliver(b);
    });
    board.responder = responder;
    session.reopen = false;
    try {
      clock.advance(2000); // let any reopen scheduled in phase 1 happen
      if (session.open || driver.linkUp) {
        driver.close();
        clock.runUntilTrue(() => !session.open, 30_000);
      }
      // After a close the driver is idle; open() again, as the session does after its back-off.
      const opensBefore = session.opens;
      for (let attempt = 0; attempt < 4 && session.opens === opensBefore; attempt++) {
        const closes = session.closes;
        driver.open(session);
        clock.runUntilTrue(() => session.opens > opensBefore || session.closes > closes, 90_000);
      }
      if (session.opens === opensBefore)
        fail("no-recovery", `no link within 4 opens from a well-behaved module (close reasons: ${session.reasons.slice(-4).join(", ")}, lastError ${driver.lastError})`);
      const fromServer = Uint8Array.from([..."\r\nOK\r\nCLOSED\r\n+IPD,3:x"].map((c) => c.charCodeAt(0)).concat([...rng.bytes(rng.range(1, 200))]));
      const toServer = rng.bytes(rng.range(1, 300));
      const receivedBefore = session.received.length;
      responder.serverSends(fromServer);
      if (!driver.send(toServer, 0, toServer.length)) fail("no-recovery", "send() refused on an open link");
      clock.runUntilTrue(() => session.received.length - receivedBefore >= fromServer.length && responder.sent.length >= toServer.length, 30_000);
      const got = session.received.slice(receivedBefore);
      if (got.length !== fromServer.length || got.some((b, i) => b !== fromServer[i]))
        fail("lost-or-invented-data", `server -> device: ${got.length} bytes delivered of ${fromServer.length}`);
      const sent = responder.sent.slice(-toServer.length);
      if (responder.sent.length < toServer.length || sent.some((b, i) => b !== toServer[i]))
        fail("lost-or-invented-data", `device -> server: ${responder.sent.length} bytes reached the module of ${toServer.length}`);
    } catch (e) {
      if (e instanceof FuzzViolation) throw e;
      fail("threw", `recovery: ${String(e)}`);
    }
    checkClock("recovery");
    this.tally.cases++;
    this.tally.bytes += input.length;
  }
}
