/*
 * Garbage in: random lines and bytes, made partly of real command fragments, at random chunk
 * sizes. The emulator must never throw (errors inside clock callbacks are collected) and must
 * still answer a plain AT once the garbage is over.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryNetwork, pump } from "../../host-sim/network.js";
import { rig, takeClockErrors } from "./rig.js";

const fragments = [
  "AT",
  "AT+CIPSEND=",
  "AT+CIPSEND",
  "AT+CIPSTART=",
  '"TCP","echo.local",7',
  '"SSL","echo.local",7',
  "AT+CIPMODE=1",
  "AT+CIPMODE=0",
  "AT+CIPRECVMODE=1",
  "AT+CIPRECVDATA=",
  "AT+CIPMUX=1",
  "AT+CIPCLOSE",
  "AT+CWJAP=",
  '"onenet-lab","password123"',
  "AT+CWQAP",
  "AT+RST",
  "ATE0",
  "AT+UART_CUR=",
  "+++",
  "\r\n",
  "\n",
  ",",
  '"',
  "\\",
  "=",
  "?",
  "5",
  "2048",
  "-1",
];

describe("emulator fuzz", () => {
  it.each(["1.7", "2.x"] as const)("survives random input (%s) and still answers AT", async (dialect) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constantFrom(...fragments), fc.string({ maxLength: 6 })), { maxLength: 40 }),
        fc.integer({ min: 1, max: 32 }),
        fc.integer({ min: 0, max: 1000 }),
        async (pieces, chunkSize, seed) => {
          const network = new MemoryNetwork().listenEcho("echo.local", 7);
          const r = rig({ dialect, network, uart: { chunkSize } });
          r.ready();
          let step = seed;
          for (const p of pieces) {
            r.write(p);
            step = (step * 1103515245 + 12345) & 0x7fffffff;
            await pump(r.clock, step % 40);
          }
          // Whatever state it is in now: leave passthrough, finish a CIPSEND, let commands end.
          await pump(r.clock, 50);
          r.write("+++");
          await pump(r.clock, 1100);
          r.write(new Uint8Array(2048).fill(0x20));
          await pump(r.clock, 5000);
          r.write("\r\n");
          await pump(r.clock, 20_000); // a CWJAP timeout, a reset, a redial: all over by now
          r.esp.powerOn();
          r.take();
          r.write("AT\r\n");
          await pump(r.clock, 100);
          const answer = r.take();
          expect(answer.endsWith("\r\nOK\r\n")).toBe(true);
          expect(takeClockErrors()).toEqual([]);
        },
      ),
      { numRuns: 25, seed: 0x8266 },
    );
  });
});
