/*
 * Hostile module output at random moments (garbage, unsolicited lines, stray results, bogus data
 * headers, resets), against the scripted fake, with random UART chunking: the driver never throws,
 * never delivers a byte twice or out of order, and once the module behaves again open() gives a
 * link that moves bytes exactly.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { rig, trickyPayload } from "./harness.js";

const NOISE = [
  "\r\nOK\r\n",
  "\r\nERROR\r\n",
  "\r\nSEND OK\r\n",
  "\r\nSEND FAIL\r\n",
  "CLOSED\r\n",
  "WIFI DISCONNECT\r\n",
  "WIFI CONNECTED\r\nWIFI GOT IP\r\n",
  "\r\nbusy p...\r\n",
  "> ",
  "\r\n+IPD,3:abc",
  "\r\n+IPD,12\r\n",
  "+CIPRECVDATA:2,xy\r\nOK\r\n",
  "\r\nready\r\n",
  "\xff\xfe\x00garbage without end",
  "\r\n+IPD,999999:",
  "+CWJAP:2\r\n\r\nFAIL\r\n",
  "\r\r\r\n\n\n",
];

describe("driver under hostile module output", () => {
  it("never throws, never duplicates, and recovers once the module behaves", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("1.7" as const, "2.x" as const),
        fc.constantFrom("active" as const, "passive" as const, "transparent" as const),
        fc.integer({ min: 1, max: 24 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: NOISE.length - 1 })), { maxLength: 12 }),
        (dialect, mode, chunk, noise) => {
          const r = rig({ dialect, uart: { chunkSize: chunk } }, { receiveMode: mode, txBufferSize: 4096 });
          r.openLink();
          // Traffic with noise injected at random times.
          const marker = trickyPayload(400, chunk);
          r.driver.send(marker, 0, marker.length);
          for (const [at, which] of noise) r.clock.setTimeout(() => r.fake.emit(NOISE[which]), at);
          r.run(4000);
          r.run(60_000);
          expect(r.clock.errors).toEqual([]);
          // Nothing is invented or duplicated: only bytes of the noise itself can have reached the
          // session (its +IPD payloads; in transparent mode, all of it).
          const noiseBytes = noise.reduce((n, [, which]) => n + NOISE[which].length, 0);
          expect(r.session.received.length).toBeLessThanOrEqual(noiseBytes);

          // Heal: a clean module (reset it the way a user would: power cycle), then open again.
          r.fake.reboot();
          r.run(5000);
          if (r.driver.linkUp) {
            // Transparent mode cannot see the reset (its `ready` is data): the session, getting
            // garbage, closes. Other modes have reported module-reset already.
            expect(mode).toBe("transparent");
            r.driver.close();
            r.run(5000);
          }
          for (let i = 0; i < 4 && !r.driver.linkUp; i++) {
            const closes = r.session.closes.length;
            r.driver.open(r.session);
            r.until(() => r.driver.linkUp || r.session.closes.length > closes, 120_000);
          }
          expect(r.driver.linkUp).toBe(true);
          const payloadBefore = r.fake.payload.length;
          const out = trickyPayload(700, chunk + 1);
          expect(r.driver.send(out, 0, out.length)).toBe(true);
          r.until(() => r.fake.payload.length >= payloadBefore + out.length, 60_000);
          r.run(200);
          expect(Buffer.from(r.fake.payload.slice(payloadBefore))).toEqual(Buffer.from(out));
          const recvBefore = r.session.received.length;
          r.fake.serverSends(out);
          r.until(() => r.session.received.length >= recvBefore + out.length, 60_000);
          r.run(200);
          expect(Buffer.from(r.session.received.slice(recvBefore))).toEqual(Buffer.from(out));
          expect(r.clock.errors).toEqual([]);
        },
      ),
      { numRuns: 60, seed: 42 },
    );
  });
});
