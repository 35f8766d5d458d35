// The dashboard's server-side views: UART entries (AT text, data as hex, secrets hidden) and MQTT
// packet descriptions (firmware decoder, CONNECT password redacted).
import { describe, expect, it } from "vitest";
import { encodeConnect, encodePublish, newConnectFields, newPublishFields } from "../../host-sim/mqtt/index.js";
import { UartView, type UartEntry } from "../../host-sim/dashboard/uart-view.js";
import { describePacket } from "../../host-sim/dashboard/packets.js";
import { toSpacedHex } from "../../host-sim/packet-dissect.js";

const TOKEN = "version=2018-10-31&res=products%2FL14FCC38pq%2Fdevices%2Ftest1&et=1999999999&method=sha1&sign=SECRETSIGN%3D";
const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

function connectBytes(password: string | null = TOKEN): Uint8Array {
  const f = newConnectFields();
  f.clientId = "test1";
  f.username = "L14FCC38pq";
  f.password = password;
  f.keepalive = 120;
  const buf = new Uint8Array(512);
  return buf.slice(0, encodeConnect(buf, 0, f));
}

function publishBytes(topic: string, payload: string): Uint8Array {
  const f = newPublishFields();
  f.topic = topic;
  f.payload = payload;
  const buf = new Uint8Array(512);
  return buf.slice(0, encodePublish(buf, 0, f));
}

/** Feeds `bytes` in chunks of `chunk`, one wall-clock ms apart. */
function feed(view: UartView, direction: "to-module" | "to-mcu", bytes: Uint8Array, chunk: number, wall = { now: 0 }): void {
  for (let i = 0; i < bytes.length; i += chunk) view.feed(direction, bytes.subarray(i, i + chunk), wall.now, wall.now++);
}

const text = (e: UartEntry) => e.parts.map((p) => ("text" in p ? p.text : "hex" in p ? `[${p.hex}]` : `<${p.redacted}>`)).join("");
const secretHex = toSpacedHex(ascii("SECRETSIGN"));

describe("UART view", () => {
  it("shows AT lines as text whatever the chunking, and hides the CWJAP password", () => {
    for (const chunk of [1, 3, 64]) {
      const view = new UartView();
      feed(view, "to-module", ascii('AT+CWJAP="lab","hunter22"\r\nAT+CIPMUX=0\r\n'), chunk);
      const entries = view.take(1000, 100);
      expect(entries.map(text)).toEqual(['AT+CWJAP="lab","***"', "AT+CIPMUX=0"]);
      expect(JSON.stringify(entries)).not.toContain("hunter22");
    }
  });

  it("shows a CIPSEND's data as hex with the CONNECT token replaced by a marker", () => {
    for (const chunk of [1, 7, 32]) {
      const view = new UartView();
      const connect = connectBytes();
      const raw: Uint8Array[] = [];
      view.onData = (_d, b) => raw.push(b);
      feed(view, "to-module", ascii(`AT+CIPSEND=${connect.length}\r\n`), chunk);
      feed(view, "to-mcu", ascii("\r\nOK\r\n> "), chunk);
      feed(view, "to-module", connect, chunk);
      const entries = view.take(1e9, 100);
      const data = entries.find((e) => e.direction === "to-module" && e.size === connect.length)!;
      expect(data.parts[0]).toEqual({ hex: toSpacedHex(connect, 0, connect.length - TOKEN.length) });
      expect(data.parts[1]).toEqual({ redacted: TOKEN.length });
      expect(JSON.stringify(entries)).not.toContain(secretHex);
      expect(JSON.stringify(entries)).not.toContain("SECRETSIGN");
      expect(entries.filter((e) => e.direction === "to-mcu").map(text)).toEqual(["OK", "> "]);
      // The raw data goes to onData whole (for framing MQTT without the broker's view).
      expect(Buffer.concat(raw)).toEqual(Buffer.from(connect));
    }
  });

  it("keeps the rest of a CONNECT hidden when an idle flush cuts it", () => {
    const view = new UartView();
    const connect = connectBytes();
    const wall = { now: 0 };
    feed(view, "to-module", ascii(`AT+CIPSEND=${connect.length}\r\n`), 64, wall);
    feed(view, "to-module", connect.subarray(0, 40), 64, wall);
    const first = view.take(wall.now + 500, 100);
    wall.now += 600;
    feed(view, "to-module", connect.subarray(40), 64, wall);
    const rest = view.take(wall.now + 500, 100);
    const all = JSON.stringify([...first, ...rest]);
    expect(all).not.toContain(secretHex);
    expect(rest).toHaveLength(1);
    expect(rest[0]!.parts).toEqual([{ redacted: connect.length - 40 }]);
  });

  it("splits received data from its header (+IPD, +CIPRECVDATA), even when it holds line ends", () => {
    const view = new UartView();
    const msg = ascii("+IPD,6:\r\nOK\r\n+IPD,0,4:\x20\x02\x00\x00+CIPRECVDATA:2,\x40\x02\r\nOK\r\n+CIPRECVDATA,1:\x00");
    feed(view, "to-mcu", msg, 5);
    expect(view.take(1e9, 100).map(text)).toEqual([
      "+IPD,6:[0D 0A 4F 4B 0D 0A]",
      "+IPD,0,4:[20 02 00 00]",
      "+CIPRECVDATA:2,[40 02]",
      "OK",
      "+CIPRECVDATA,1:[00]",
    ]);
  });

  it("shows a prompt without a line end once the wire is idle, and binary noise as hex", () => {
    const view = new UartView();
    view.feed("to-mcu", Uint8Array.of(0x80, 0xc3, 0x0d, 0x0a), 0, 0);
    view.feed("to-mcu", ascii("> "), 1, 1);
    expect(view.take(50, 100).map(text)).toEqual(["[80 C3]"]);
    expect(view.pending).toBe(true);
    expect(view.take(200, 100).map(text)).toEqual(["> "]);
    expect(view.pending).toBe(false);
  });

  it("does not take the next command for data when the module refuses a CIPSEND", () => {
    const view = new UartView();
    feed(view, "to-module", ascii("AT+CIPSEND=10\r\n"), 64);
    feed(view, "to-mcu", ascii("link is not valid\r\n\r\nERROR\r\n"), 64);
    feed(view, "to-module", ascii("AT+CIPSTATUS\r\n"), 64);
    expect(view.take(1e9, 100).filter((e) => e.direction === "to-module").map(text)).toEqual(["AT+CIPSEND=10", "AT+CIPSTATUS"]);
  });
});

describe("packet view", () => {
  it("dissects a CONNECT with the firmware decoder and hides the password everywhere", () => {
    const connect = connectBytes();
    const view = describePacket(connect, "up");
    expect(view).toMatchObject({ direction: "up", type: "CONNECT", size: connect.length, ok: true });
    const marker = `<redacted ${TOKEN.length} bytes>`;
    expect(view.hex.endsWith(marker)).toBe(true);
    expect(view.hex.startsWith(toSpacedHex(connect, 0, 12))).toBe(true);
    const password = view.packets[0]!.fields.find((f) => f.name === "password")!;
    expect(password).toMatchObject({ hex: marker, value: marker });
    const lengthField = view.packets[0]!.fields.find((f) => f.name === "password length")!;
    expect(lengthField.value).toBe(TOKEN.length);
    const json = JSON.stringify(view);
    expect(json).not.toContain("SECRETSIGN");
    expect(json).not.toContain(secretHex);
    expect(view.packets[0]!.sections.map((s) => s.name)).toEqual(["fixed header", "variable header", "payload"]);
  });

  it("hides everything after the fixed header of a CONNECT the decoder refuses", () => {
    const connect = connectBytes();
    const cut = connect.slice(0, connect.length - 5); // truncated: the token is partly there
    const view = describePacket(cut, "up");
    expect(view.ok).toBe(false);
    expect(JSON.stringify(view)).not.toContain(toSpacedHex(ascii("SECRET")));
    expect(view.hex).toMatch(/^10 [0-9A-F]{2} [0-9A-F]{2} <redacted \d+ bytes>$/);
  });

  it("summarises a PUBLISH by its thing topic and message", () => {
    const topic = "$sys/L14FCC38pq/test1/thing/property/set_reply";
    const view = describePacket(publishBytes(topic, '{"id":"1","code":200,"msg":"success"}'), "up");
    expect(view).toMatchObject({ type: "PUBLISH", topic, thing: "thing/property/set_reply", qos: 0, message: '{"id":"1","code":200,"msg":"success"}', ok: true });
  });

  it("validates by direction: a CONNECT coming from the broker is malformed", () => {
    const view = describePacket(connectBytes(null), "down");
    expect(view.ok).toBe(false);
    expect(view.note).toMatch(/:/);
  });
});
