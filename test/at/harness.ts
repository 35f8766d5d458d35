/*
 * Shared set-up for the driver tests: a VirtualClock, a fake (or emulated) module, the driver, and
 * a session stand-in that records every Transport event.
 */
import { VirtualClock } from "../../host-sim/clock.js";
import { Esp8266Driver, type Esp8266Options, type LinkStatus } from "../../firmware/at/driver.js";
import type { LinkDownReason, TransportEvents } from "../../firmware/transport.js";
import { FakeModule, type FakeOptions } from "./fake-module.js";

export const PASSWORD = "pa\"ss,w\\rd-SECRET";

export class Session implements TransportEvents {
  opens = 0;
  closes: Array<{ reason: LinkDownReason; detail: string }> = [];
  received: number[] = [];
  onOpen(): void {
    this.opens++;
  }
  onData(bytes: Uint8Array, offset: number, length: number): void {
    for (let i = 0; i < length; i++) this.received.push(bytes[offset + i]);
  }
  onClose(reason: LinkDownReason, detail: string): void {
    this.closes.push({ reason, detail });
  }
  get lastClose(): LinkDownReason | undefined {
    return this.closes.at(-1)?.reason;
  }
}

export interface Rig {
  clock: VirtualClock;
  fake: FakeModule;
  driver: Esp8266Driver;
  session: Session;
  statuses: Array<[LinkStatus, string]>;
  traces: string[];
  /** Opens and runs until onOpen (or fails the test). */
  openLink(limitMs?: number): void;
  run(ms: number): void;
  until(predicate: () => boolean, limitMs?: number): boolean;
}

export function rig(fakeOptions: FakeOptions = {}, options: Partial<Esp8266Options> = {}): Rig {
  const clock = new VirtualClock();
  const fake = new FakeModule(clock, fakeOptions);
  const statuses: Array<[LinkStatus, string]> = [];
  const traces: string[] = [];
  const driver = new Esp8266Driver(fake.board, {
    ssid: "Home,AP",
    password: PASSWORD,
    host: "mqtts.heclouds.com",
    port: 1883,
    tls: false,
    receiveMode: "active",
    onStatus: (s, d) => statuses.push([s, d]),
    trace: (line) => traces.push(line),
    ...options,
  });
  const session = new Session();
  const r: Rig = {
    clock,
    fake,
    driver,
    session,
    statuses,
    traces,
    openLink(limitMs = 60_000) {
      const before = session.opens;
      const closes = session.closes.length;
      driver.open(session);
      if (!clock.runUntilTrue(() => session.opens > before || session.closes.length > closes, limitMs)) {
        throw new Error("link did not open: " + fake.commands.join(" | "));
      }
      if (session.opens === before) throw new Error("open failed: " + JSON.stringify(session.closes.slice(closes)));
    },
    run(ms) {
      clock.advance(ms);
    },
    until(predicate, limitMs = 60_000) {
      return clock.runUntilTrue(predicate, limitMs);
    },
  };
  return r;
}

export function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "latin1"));
}

/** A payload that contains what a careless driver would take for module output. */
export function trickyPayload(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  const pieces = ["\r\nOK\r\n", "CLOSED\r\n", "\r\n+IPD,5:", "\r\nSEND OK\r\n", "> ", "ready\r\n", "\r\nERROR\r\n", "busy p...\r\n"];
  let s = seed;
  let i = 0;
  while (i < size) {
    s = (s * 1103515245 + 12345) >>> 0;
    if (s % 3 === 0) {
      const p = pieces[(s >>> 8) % pieces.length];
      for (let k = 0; k < p.length && i < size; k++) out[i++] = p.charCodeAt(k);
    } else {
      out[i++] = (s >>> 16) & 0xff;
    }
  }
  return out;
}
