/*
 * Test rig: the emulator on a VirtualUart, driven by raw AT bytes from a fake MCU (no driver).
 * Output is collected as a latin1 string so answers can be compared byte for byte.
 */
import { VirtualClock } from "../../host-sim/clock.js";
import type { EmulatorDelays, EmulatorEvent, Dialect } from "../../host-sim/esp8266/emulator.js";
import { Esp8266Emulator } from "../../host-sim/esp8266/emulator.js";
import type { NetworkBackend } from "../../host-sim/network.js";
import { MemoryNetwork, pump, pumpUntil } from "../../host-sim/network.js";
import type { UartOptions } from "../../host-sim/uart.js";
import { VirtualUart } from "../../host-sim/uart.js";

export const latin1 = (bytes: Uint8Array | number[]) => {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
};
export const bytesOf = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

export interface RigOptions {
  dialect: Dialect;
  network?: NetworkBackend;
  uart?: UartOptions;
  delays?: Partial<EmulatorDelays>;
  accessPoints?: { ssid: string; password: string }[];
  passiveBufferSize?: number;
  caPem?: string;
  sslClientConf?: boolean;
}

const clocks: VirtualClock[] = [];

/** Errors thrown inside clock callbacks (emulator bugs) of every rig made since the last call. */
export function takeClockErrors(): unknown[] {
  const errors = clocks.flatMap((c) => c.errors);
  clocks.length = 0;
  return errors;
}

export function rig(options: RigOptions) {
  const clock = new VirtualClock({ wallOffset: Date.UTC(2026, 10, 22, 15, 7, 43) });
  clocks.push(clock);
  const uart = new VirtualUart(clock, options.uart);
  const network = options.network ?? new MemoryNetwork();
  const events: EmulatorEvent[] = [];
  const esp = new Esp8266Emulator({
    clock,
    uart,
    dialect: options.dialect,
    network,
    delays: options.delays,
    accessPoints: options.accessPoints,
    passiveBufferSize: options.passiveBufferSize,
    caPem: options.caPem,
    sslClientConf: options.sslClientConf,
    onEvent: (e) => events.push(e),
  });
  let rx = "";
  const buf = new Uint8Array(64);
  const tx: number[] = [];
  const push = () => {
    while (tx.length) {
      const n = port.write(Uint8Array.from(tx.slice(0, 128)));
      if (n === 0) return;
      tx.splice(0, n);
    }
  };
  const port = uart.mcu.open({
    onReadable() {
      for (;;) {
        const n = port.read(buf);
        if (n === 0) return;
        rx += latin1(buf.subarray(0, n));
      }
    },
    onWritable() {
      push();
    },
  });
  const r = {
    clock,
    uart,
    esp,
    network,
    events,
    /** Queue raw bytes from the MCU (through the FIFO). */
    write(data: string | Uint8Array) {
      for (const b of typeof data === "string" ? bytesOf(data) : data) tx.push(b);
      push();
    },
    /** Everything the MCU has received since the last take. */
    take(): string {
      const s = rx;
      rx = "";
      return s;
    },
    peek(): string {
      return rx;
    },
    /** Power on and wait for ready; returns the boot output. */
    boot(): string {
      esp.powerOn();
      clock.advance(1000);
      return r.take();
    },
    /** Sends a command line, runs `ms` of virtual time, returns what came back. */
    cmd(line: string, ms = 50): string {
      r.take();
      r.write(`${line}\r\n`);
      clock.advance(ms);
      return r.take();
    },
    /** Like cmd, with real I/O interleaved (network backends). */
    async cmdIo(line: string, ms = 400): Promise<string> {
      r.take();
      r.write(`${line}\r\n`);
      await pump(clock, ms);
      return r.take();
    },
    /**
     * For real sockets: sends a line and pumps until the output matches `done` (virtual limit
     * `ms`, then up to 5 s of real time), then 5 ms more for trailing bytes.
     */
    async cmdUntil(line: string, done: RegExp, ms = 2000): Promise<string> {
      r.take();
      r.write(`${line}\r\n`);
      await pumpUntil(clock, () => done.test(rx), ms, { realTimeoutMs: 5000 });
      await pump(clock, 5);
      return r.take();
    },
    /** Pumps until the output so far matches `done` (see cmdUntil). */
    async waitFor(done: RegExp, ms = 2000): Promise<void> {
      await pumpUntil(clock, () => done.test(rx), ms, { realTimeoutMs: 5000 });
      await pump(clock, 5);
    },
    /** Boot, ATE0, station mode, join the default AP; leaves the output empty. */
    ready(): void {
      r.boot();
      r.cmd("ATE0");
      r.cmd("AT+CWMODE=1");
      r.cmd('AT+CWJAP="onenet-lab","password123"', 3100);
      r.take();
    },
    pump: (ms: number) => pump(clock, ms),
  };
  return r;
}
