/*
 * The AT parser inside Moddable's XS engine (xsnap): classifying the lines a session sees all the
 * time (OK, SEND OK, data headers, busy p..., WIFI ..., CLOSED) allocates no heap slot at all, not
 * even garbage. On XS every read of a string's characters (`.length`, `charCodeAt`) costs a wrapper,
 * so the parser compares lines against byte arrays; this test keeps it that way.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slotsPerRun } from "../xs/support.js";
import { bundleForXs } from "../../host-sim/xs/bundle.js";
import { XsWorker } from "../../host-sim/xs/worker.js";

let worker: XsWorker;
const json = <T>(expression: string) => worker.evaluateJson<T>(expression).value;

beforeAll(() => {
  const bundle = bundleForXs({ modules: { parser: "firmware/at/parser.ts" } });
  worker = new XsWorker({ name: "at-parser-xs-alloc-test" });
  worker.evaluate(bundle.code);
  // A sink that records the last event in preallocated fields; lines prepared as bytes up front.
  worker.evaluate(`
    globalThis.M = xsHarness.modules;
    globalThis.S = { kind: "", value: 0, lines: 0, prompts: 0, starts: 0, data: 0, ends: 0, dataKind: "",
      onLine(kind, value) { this.kind = kind; this.value = value; this.lines++; },
      onPrompt() { this.prompts++; },
      onDataStart(kind, n) { this.dataKind = kind; this.starts++; },
      onData(b, o, n) { this.data += n; },
      onDataEnd(kind) { this.ends++; } };
    globalThis.P = new M.parser.AtParser(S);
    globalThis.bytesOf = (s) => { const u = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i); return u; };
    globalThis.L = {};
    globalThis.feedLine = (b) => P.feed(b, 0, b.length);
  `);
});
afterAll(() => worker?.close());

/** Name -> [bytes fed, expected kind of the last line (or data kind), expected value]. */
const LINES: Record<string, [string, string, number]> = {
  OK: ["OK\r\n", "ok", -1],
  ERROR: ["ERROR\r\n", "error", -1],
  "SEND OK": ["SEND OK\r\n", "send-ok", -1],
  "SEND FAIL": ["SEND FAIL\r\n", "send-fail", -1],
  "busy p": ["busy p...\r\n", "busy-p", -1],
  "busy s": ["busy s...\r\n", "busy-s", -1],
  "WIFI CONNECTED": ["WIFI CONNECTED\r\n", "wifi-connected", -1],
  "WIFI GOT IP": ["WIFI GOT IP\r\n", "wifi-got-ip", -1],
  "WIFI DISCONNECT": ["WIFI DISCONNECT\r\n", "wifi-disconnect", -1],
  CLOSED: ["CLOSED\r\n", "closed", -1],
  "0,CLOSED": ["0,CLOSED\r\n", "closed", -1],
  CONNECT: ["CONNECT\r\n", "connect", -1],
  "ALREADY CONNECTED": ["ALREADY CONNECTED\r\n", "already-connected", -1],
  ready: ["ready\r\n", "ready", -1],
  "+IPD,<n> notification": ["+IPD,128\r\n", "ipd-notify", 128],
  "+IPD,<id>,<n> notification": ["+IPD,0,1460\r\n", "ipd-notify", 1460],
  "+CWJAP:<n>": ["+CWJAP:3\r\n", "cwjap", 3],
  "Recv <n> bytes": ["Recv 100 bytes\r\n", "recv-bytes", 100],
  "AT version": ["AT version:2.2.0.0(b097cdf - ESP8266 - Jun 17 2021 12:57:45)\r\n", "version", 2],
  "echo AT+CIPSEND": ["AT+CIPSEND=0,100\r\n", "echo", -1],
  other: ["+CIPSTATUS:0,\"TCP\"\r\n", "other", -1],
};

/** Name -> [bytes fed, expected data kind, expected data bytes]. */
const BLOCKS: Record<string, [string, string, number]> = {
  "+IPD,<n>: block": ["+IPD,5:hello", "ipd", 5],
  "+IPD,<id>,<n>: block": ["\r\n+IPD,0,5:hello", "ipd", 5],
  "+CIPRECVDATA,<n>: (1.7)": ["+CIPRECVDATA,5:hello\r\nOK\r\n", "recvdata", 5],
  "+CIPRECVDATA:<n>, (2.x)": ["+CIPRECVDATA:5,hello\r\nOK\r\n", "recvdata", 5],
};

const allocatedPer = (body: string): number => slotsPerRun(worker, body);

describe("AtParser on XS: allocation per line", () => {
  it("classifies each common line as on Node, allocating no slot per line", () => {
    for (const [name, [text, kind, value]] of Object.entries(LINES)) {
      worker.evaluate(`L[${JSON.stringify(name)}] = bytesOf(${JSON.stringify(text)});`);
      const ref = `L[${JSON.stringify(name)}]`;
      expect(json<[string, number]>(`(feedLine(${ref}), [S.kind, S.value])`), name).toEqual([kind, value]);
      expect(allocatedPer(`feedLine(${ref})`), name).toBe(0);
    }
  });

  it("recognises data headers and passes the data, allocating no slot per block", () => {
    for (const [name, [text, kind, n]] of Object.entries(BLOCKS)) {
      worker.evaluate(`P.reset(); L[${JSON.stringify(name)}] = bytesOf(${JSON.stringify(text)});`);
      const ref = `L[${JSON.stringify(name)}]`;
      const got = json<[string, number]>(`(() => { const d = S.data; feedLine(${ref}); return [S.dataKind, S.data - d]; })()`);
      expect(got, name).toEqual([kind, n]);
      expect(allocatedPer(`feedLine(${ref})`), name).toBe(0);
    }
  });

  it("a whole session's lines fed byte by byte allocate nothing either", () => {
    const session = Object.values(LINES)
      .map(([text]) => text)
      .concat(Object.values(BLOCKS).map(([text]) => text))
      .join("");
    worker.evaluate(`P.reset(); globalThis.SESSION = bytesOf(${JSON.stringify(session)});
      globalThis.byteByByte = () => { for (let i = 0; i < SESSION.length; i++) P.feed(SESSION, i, 1); };`);
    const before = json<number>("S.lines");
    worker.evaluate("byteByByte()");
    expect(json<number>("S.lines") - before).toBeGreaterThanOrEqual(Object.keys(LINES).length);
    expect(allocatedPer("byteByByte()")).toBe(0);
  });
});
