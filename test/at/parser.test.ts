import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AtParser, type AtParserSink, type DataKind, type LineKind } from "../../firmware/at/parser.js";

type Event =
  | { t: "line"; kind: LineKind; value: number; text: string }
  | { t: "prompt" }
  | { t: "data"; kind: DataKind; bytes: string };

/** Records events; data blocks are merged per onDataStart..onDataEnd whatever the chunking. */
function recorder(): { sink: AtParserSink; events: Event[]; parser: AtParser } {
  const events: Event[] = [];
  let current: { t: "data"; kind: DataKind; bytes: string } | undefined;
  const sink: AtParserSink = {
    onLine(kind, value) {
      events.push({ t: "line", kind, value, text: Buffer.from(parser.line.subarray(0, parser.lineLength)).toString("latin1") });
    },
    onPrompt() {
      events.push({ t: "prompt" });
    },
    onDataStart(kind) {
      current = { t: "data", kind, bytes: "" };
      events.push(current);
    },
    onData(bytes, offset, length) {
      const text = Buffer.from(bytes.subarray(offset, offset + length)).toString("latin1");
      if (current) current.bytes += text;
      else events.push({ t: "data", kind: "raw", bytes: text });
    },
    onDataEnd() {
      current = undefined;
    },
  };
  const parser = new AtParser(sink, 128);
  return { sink, events, parser };
}

function feedIn(parser: AtParser, input: string | Uint8Array, chunk: number): void {
  const bytes = typeof input === "string" ? new Uint8Array(Buffer.from(input, "latin1")) : input;
  for (let i = 0; i < bytes.length; i += chunk) {
    // A fresh buffer per chunk, so slices must not be kept by the parser.
    const piece = bytes.slice(i, Math.min(bytes.length, i + chunk));
    parser.feed(piece, 0, piece.length);
  }
}

function parse(input: string, chunk = 1 << 20): Event[] {
  const r = recorder();
  feedIn(r.parser, input, chunk);
  return r.events;
}

const kinds = (events: Event[]) => events.map((e) => (e.t === "line" ? e.kind : e.t === "data" ? `${e.kind}:${e.bytes}` : ">"));

describe("AtParser lines", () => {
  it("classifies every line the reference lists, with \\r*\\n endings", () => {
    const input =
      "\r\nOK\r\n\r\nERROR\r\n\r\nFAIL\r\n\r\nSEND OK\r\n\r\nSEND FAIL\r\n\r\nready\r\n\r\nbusy p...\r\n\r\nbusy s...\r\n" +
      "CLOSED\r\n0,CLOSED\r\nCONNECT\r\n1,CONNECT\r\nALREADY CONNECTED\r\nWIFI DISCONNECT\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n" +
      "+IPD,1234\r\n+IPD,0,77\r\n+CWJAP:3\r\nDNS Fail\r\nno ip\r\nlink is not valid\r\nUNLINK\r\n\r\nRecv 42 bytes\r\n" +
      "AT version:1.7.4.0(May 11 2020 19:13:04)\r\nAT version:2.2.0.0-dev(s-b097cdf - ESP8266 - Jun 17 2021 12:57:45)\r\n" +
      "AT+CIPSEND=5\r\r\nSDK version:3.0.4\r\r\r\n";
    const events = parse(input);
    expect(kinds(events)).toEqual([
      "ok", "error", "fail", "send-ok", "send-fail", "ready", "busy-p", "busy-s",
      "closed", "closed", "connect", "connect", "already-connected", "wifi-disconnect", "wifi-connected", "wifi-got-ip",
      "ipd-notify", "ipd-notify", "cwjap", "dns-fail", "no-ip", "link-invalid", "unlink", "recv-bytes",
      "version", "version", "echo", "other",
    ]);
    const values = events.map((e) => (e.t === "line" ? e.value : undefined));
    expect(values[16]).toBe(1234);
    expect(values[17]).toBe(77);
    expect(values[18]).toBe(3);
    expect(values[23]).toBe(42);
    expect(values[24]).toBe(1);
    expect(values[25]).toBe(2);
    expect(events[27]).toMatchObject({ text: "SDK version:3.0.4" });
  });

  it("reads the SSL client mode from +CIPSSLCCONF in both families' forms", () => {
    const events = parse("+CIPSSLCCONF:2\r\n+CIPSSLCCONF:0,3,0,0\r\n+CIPSSLCCONF:0,0\r\n+CIPSSLCCONF:x\r\n+CIPSSLCCONF:2x\r\n+CIPSSLCCONF:0,\r\n");
    expect(events.map((e) => (e.t === "line" ? [e.kind, e.value] : e.t))).toEqual([
      ["sslcconf", 2],
      ["sslcconf", 3],
      ["sslcconf", 0],
      ["other", -1],
      ["other", -1],
      ["other", -1],
    ]);
  });

  it("finds `ready` after boot noise on the same line", () => {
    expect(kinds(parse("\x00\xff rl\x8c ets Jan  8 2013,rst cause:2ready\r\n"))).toEqual(["ready"]);
  });

  it("drops lines longer than its buffer and regains sync at the next line end", () => {
    const r = recorder();
    feedIn(r.parser, "x".repeat(200) + "\r\nOK\r\n", 7);
    expect(kinds(r.events)).toEqual(["ok"]);
    expect(r.parser.overflows).toBe(1);
  });
});

describe("AtParser data", () => {
  const payloads = ["hello", "\r\nOK\r\n", "CLOSED\r\n", "+IPD,3:abc", "\r\n>\r\nERROR\r\n", "\x00\xff\r\n\r\n"];

  for (const payload of payloads) {
    it(`reads +IPD payload ${JSON.stringify(payload)} by length, in every chunk size, both dialects`, () => {
      const n = payload.length;
      const v17 = `\r\n+IPD,${n}:${payload}\r\nOK\r\n`; // 1.7: no tail; the OK is some command's
      const v2x = `\r\n+IPD,${n}:${payload}\r\n\r\nOK\r\n`; // 2.x: extra \r\n
      const mux = `\r\n+IPD,0,${n}:${payload}\r\nOK\r\n`;
      for (const input of [v17, v2x, mux]) {
        for (let chunk = 1; chunk <= input.length; chunk++) {
          expect(kinds(parse(input, chunk))).toEqual([`ipd:${payload}`, "ok"]);
        }
      }
    });
  }

  it("reads +CIPRECVDATA in both dialect formats", () => {
    const p = "a\r\nOK\r\nb";
    for (let chunk = 1; chunk < 12; chunk++) {
      expect(kinds(parse(`\r\n+CIPRECVDATA,${p.length}:${p}\r\nOK\r\n`, chunk))).toEqual([`recvdata:${p}`, "ok"]);
      expect(kinds(parse(`+CIPRECVDATA:${p.length},${p}\r\nOK\r\n`, chunk))).toEqual([`recvdata:${p}`, "ok"]);
    }
    expect(kinds(parse("+CIPRECVDATA,0:\r\nOK\r\n"))).toEqual(["recvdata:", "ok"]);
  });

  it("does not take ordinary lines with colons and commas for data headers", () => {
    expect(kinds(parse("+CIPSTATUS:0,\"TCP\",\"1.2.3.4\",1883,0\r\nSTATUS:3\r\n+CWJAP:\"ap\",\"aa:bb\",6,-50\r\nOK\r\n"))).toEqual([
      "other",
      "other",
      "other",
      "ok",
    ]);
  });

  it("finds a data header after garbage on the same line", () => {
    expect(kinds(parse("\x13\x99zz+IPD,3:a\nb\r\nOK\r\n"))).toEqual(["ipd:a\nb", "ok"]);
  });

  it("ignores absurd lengths", () => {
    expect(kinds(parse("+IPD,99999999:xx\r\nOK\r\n"))).toEqual(["other", "ok"]);
  });
});

describe("AtParser prompt", () => {
  it("sees `> ` (1.7) and `>` (2.x), with unsolicited lines around it", () => {
    for (let chunk = 1; chunk < 8; chunk++) {
      expect(kinds(parse("AT+CIPSEND=4\r\r\n\r\nOK\r\n> ", chunk))).toEqual(["echo", "ok", ">"]);
      expect(kinds(parse("\r\nOK\r\n\r\n>", chunk))).toEqual(["ok", ">"]);
      expect(kinds(parse("\r\nOK\r\n\r\nWIFI DISCONNECT\r\n> \r\n+IPD,2:>>\r\nCLOSED\r\n", chunk))).toEqual([
        "ok",
        "wifi-disconnect",
        ">",
        "ipd:>>",
        "closed",
      ]);
    }
  });

  it("a `>` inside a line is text", () => {
    expect(kinds(parse("a>b\r\n"))).toEqual(["other"]);
  });
});

describe("AtParser raw mode", () => {
  it("passes everything through and drops only the prompt's space when asked", () => {
    const r = recorder();
    r.sink.onPrompt = () => {
      r.parser.setRaw(true);
      r.parser.rawSkipSpace = true;
      r.events.push({ t: "prompt" });
    };
    feedIn(r.parser, "\r\nOK\r\n\r\n> \x20\r\nOK\r\n+IPD,1:x", 3);
    expect(r.events.filter((e) => e.t === "data").map((e) => (e as { bytes: string }).bytes).join("")).toBe("\x20\r\nOK\r\n+IPD,1:x");
  });
});

describe("AtParser robustness", () => {
  it("never throws on any bytes and finds the next well-formed response after garbage", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 40 }), (garbage, chunk) => {
        const r = recorder();
        feedIn(r.parser, garbage, chunk);
        // Whatever state the garbage left, a line end, a reset after a timeout or the data
        // block it announced brings the parser back: simulate the driver's timeout reset.
        r.parser.reset();
        r.events.length = 0;
        feedIn(r.parser, "\r\n+IPD,6:\r\nOK\r\n\r\nSEND OK\r\n", chunk);
        expect(kinds(r.events)).toEqual(["ipd:\r\nOK\r\n", "send-ok"]);
      }),
      { numRuns: 400 },
    );
  });

  it("without a reset, garbage without a data header costs at most the line it sits on", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }).filter((g) => !Buffer.from(g).toString("latin1").includes("+")),
        (garbage) => {
          const r = recorder();
          feedIn(r.parser, garbage, 5);
          r.events.length = 0;
          feedIn(r.parser, "\r\nOK\r\n", 2);
          expect(kinds(r.events).at(-1)).toBe("ok");
        },
      ),
      { numRuns: 300 },
    );
  });
});
