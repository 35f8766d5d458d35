/*
 * `onenet-led packet encode <type> [--field value ...]`: one MQTT 3.1.1 packet as spaced upper-case
 * hex, built by the firmware's own encoders (so the tool shows exactly what the board sends).
 * `--explain` adds the annotated breakdown of what was built.
 * `onenet-led packet decode <hex>`: an annotated breakdown (host-sim/packet-dissect.ts), `--json`
 * for machines. Bad hex or a malformed packet: exit code 1 and the rule it breaks. A CONNECT's
 * password (the OneNET token) is shown as "<redacted N bytes>" unless --show-secrets.
 */
import {
  MqttError,
  encodeConnack,
  encodeConnect,
  encodeDisconnect,
  encodePingreq,
  encodePingresp,
  encodePuback,
  encodePubcomp,
  encodePublish,
  encodePubrec,
  encodePubrel,
  encodeSuback,
  encodeSubscribe,
  encodeUnsuback,
  encodeUnsubscribe,
  newConnectFields,
  newPublishFields,
  newSubscribeFields,
  newUnsubscribeFields,
} from "../mqtt/index.js";
import type { DecoderRole } from "../mqtt/index.js";
import { HexError, dissect, parseHex, redactPassword, renderDissection, toSpacedHex, truncation } from "../packet-dissect.js";
import type { Dissection } from "../packet-dissect.js";
import { UsageError, intOption, parseArgs } from "./args.js";
import type { OptionSpec, ParsedArgs } from "./args.js";

const USAGE = `usage: onenet-led packet encode <type> [options] [--explain]
                                                     print one MQTT 3.1.1 packet as hex (--explain:
                                                     and its annotated breakdown)
       onenet-led packet decode <hex> [--json] [--role any|client|server] [--show-secrets]
                                                     annotate a packet (or several) byte by byte

types: connect publish puback pubrec pubrel pubcomp subscribe unsubscribe pingreq disconnect
       (and, for testing clients: connack suback unsuback pingresp)
each takes --help, e.g. onenet-led packet encode connect --help`;

const DECODE_USAGE = `usage: onenet-led packet decode <hex> [--json] [--role any|client|server] [--show-secrets]

Prints each packet's fixed header (type, flags, remaining length), variable header and payload,
every field beside its bytes. Hex may be spaced or not ("10 9F 01 ..." or "109F01...").
  --json           machine-readable output (the same data)
  --role           any (default): accept all 14 types; client: reject what a server must not send;
                   server: reject what a client must not send
  --show-secrets   show a CONNECT's password (the OneNET token) instead of "<redacted N bytes>"
Exit code 1 for bad hex or a malformed packet, with the decoder's error naming the rule broken
(a packet cut short: how many bytes it has and how many it needs).`;

/** The dissection as shown: a CONNECT's password hidden unless asked for. */
function shown(d: Dissection, bytes: Uint8Array, showSecrets: boolean): Dissection {
  return showSecrets ? d : { ...d, packets: d.packets.map((p) => redactPassword(bytes, p)) };
}

interface EncoderCommand {
  help: string;
  spec: OptionSpec;
  encode(buf: Uint8Array, args: ParsedArgs): number;
}

/** Reads a string that may be given as text or as hex (--x-hex). */
function textOrHex(args: ParsedArgs, name: string): string | Uint8Array | null {
  const text = args.get(name);
  const hex = args.get(`${name}-hex`);
  if (text !== undefined && hex !== undefined) throw new UsageError(`give --${name} or --${name}-hex, not both`);
  if (hex !== undefined) return hex.trim() === "" ? new Uint8Array(0) : parseHexOption(hex, `--${name}-hex`);
  return text ?? null;
}

function parseHexOption(hex: string, option: string): Uint8Array {
  try {
    return parseHex(hex);
  } catch (error) {
    throw new UsageError(`${option}: ${(error as Error).message}`);
  }
}

function required(args: ParsedArgs, name: string): string {
  const v = args.get(name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

function packetId(args: ParsedArgs, fallback?: number): number {
  const id = intOption(args, "packet-id", 1, 65535) ?? fallback;
  if (id === undefined) throw new UsageError("--packet-id is required (1..65535)");
  return id;
}

const ackCommand = (name: string, encode: (b: Uint8Array, o: number, id: number) => number): EncoderCommand => ({
  help: `usage: onenet-led packet encode ${name} --packet-id N\n  --packet-id   1..65535 (required)`,
  spec: { values: ["packet-id"] },
  encode: (buf, args) => encode(buf, 0, packetId(args)),
});

const emptyCommand = (name: string, encode: (b: Uint8Array, o: number) => number): EncoderCommand => ({
  help: `usage: onenet-led packet encode ${name}\n  (no options: always 2 bytes)`,
  spec: {},
  encode: (buf) => encode(buf, 0),
});

const encoders: Record<string, EncoderCommand> = {
  connect: {
    help: `usage: onenet-led packet encode connect --client-id ID [options]
  --client-id ID         (required; "" allowed with clean session)
  --username NAME        OneNET: the product id
  --password TEXT        OneNET: the token (or --password-hex for binary)
  --keepalive SECONDS    0..65535 (default 60)
  --no-clean-session     keep the session (clean session is the default)
  --will-topic T --will-message TEXT (or --will-message-hex) --will-qos 0|1|2 --will-retain
example (the OneNET seed's CONNECT):
  onenet-led packet encode connect --client-id test1 --username L14FCC38pq --password '<token>' --keepalive 100`,
    spec: {
      values: ["client-id", "username", "password", "password-hex", "keepalive", "will-topic", "will-message", "will-message-hex", "will-qos"],
      flags: ["no-clean-session", "will-retain"],
    },
    encode(buf, args) {
      const f = newConnectFields();
      f.clientId = required(args, "client-id");
      f.username = args.get("username") ?? null;
      f.password = textOrHex(args, "password");
      f.keepalive = intOption(args, "keepalive", 0, 65535) ?? 60;
      f.cleanSession = !args.has("no-clean-session");
      f.willTopic = args.get("will-topic") ?? null;
      f.willMessage = textOrHex(args, "will-message");
      f.willQos = intOption(args, "will-qos", 0, 2) ?? 0;
      f.willRetain = args.has("will-retain");
      if (f.willTopic === null && (f.willMessage !== null || args.has("will-retain") || args.get("will-qos") !== undefined))
        throw new UsageError("--will-message, --will-qos and --will-retain need --will-topic");
      return encodeConnect(buf, 0, f);
    },
  },
  publish: {
    help: `usage: onenet-led packet encode publish --topic T [--payload TEXT | --payload-hex HEX] [options]
  --topic T           topic name (no wildcards)
  --payload TEXT      message as UTF-8 text (default empty), or --payload-hex for binary
  --qos 0|1|2         (default 0)
  --packet-id N       1..65535, required for QoS 1 and 2
  --retain, --dup     flags (DUP only with QoS 1/2)`,
    spec: { values: ["topic", "payload", "payload-hex", "qos", "packet-id"], flags: ["retain", "dup"] },
    encode(buf, args) {
      const f = newPublishFields();
      f.topic = required(args, "topic");
      const payload = textOrHex(args, "payload") ?? "";
      f.payload = payload;
      if (typeof payload !== "string") f.payloadLength = payload.length;
      f.qos = intOption(args, "qos", 0, 2) ?? 0;
      f.packetId = intOption(args, "packet-id", 1, 65535) ?? 0;
      if (f.qos === 0 && args.get("packet-id") !== undefined) throw new UsageError("--packet-id is only sent with --qos 1 or 2");
      f.retain = args.has("retain");
      f.dup = args.has("dup");
      return encodePublish(buf, 0, f);
    },
  },
  subscribe: {
    help: `usage: onenet-led packet encode subscribe --packet-id N --topic FILTER [--topic FILTER ...] [--qos Q ...]
  --packet-id N    1..65535 (required)
  --topic FILTER   repeat for several filters (+ and # allowed as whole levels)
  --qos Q          requested QoS 0..2: one for all filters, or one per --topic (default 0)`,
    spec: { values: ["packet-id"], repeated: ["topic", "qos"] },
    encode(buf, args) {
      const topics = args.all("topic");
      if (topics.length === 0) throw new UsageError("--topic is required");
      const qos = args.all("qos").map((q) => {
        if (!/^[0-2]$/.test(q)) throw new UsageError(`--qos must be 0, 1 or 2, got ${JSON.stringify(q)}`);
        return Number(q);
      });
      if (qos.length > 1 && qos.length !== topics.length) throw new UsageError("give one --qos for all topics or one per --topic");
      const f = newSubscribeFields(topics.length);
      f.packetId = packetId(args);
      f.count = topics.length;
      topics.forEach((t, i) => {
        f.topics[i] = t;
        f.qos[i] = qos.length === 0 ? 0 : qos.length === 1 ? qos[0] : qos[i];
      });
      return encodeSubscribe(buf, 0, f);
    },
  },
  unsubscribe: {
    help: `usage: onenet-led packet encode unsubscribe --packet-id N --topic FILTER [--topic FILTER ...]`,
    spec: { values: ["packet-id"], repeated: ["topic"] },
    encode(buf, args) {
      const topics = args.all("topic");
      if (topics.length === 0) throw new UsageError("--topic is required");
      const f = newUnsubscribeFields(topics.length);
      f.packetId = packetId(args);
      f.count = topics.length;
      topics.forEach((t, i) => (f.topics[i] = t));
      return encodeUnsubscribe(buf, 0, f);
    },
  },
  puback: ackCommand("puback", encodePuback),
  pubrec: ackCommand("pubrec", encodePubrec),
  pubrel: ackCommand("pubrel", encodePubrel),
  pubcomp: ackCommand("pubcomp", encodePubcomp),
  unsuback: ackCommand("unsuback", encodeUnsuback),
  pingreq: emptyCommand("pingreq", encodePingreq),
  pingresp: emptyCommand("pingresp", encodePingresp),
  disconnect: emptyCommand("disconnect", encodeDisconnect),
  connack: {
    help: `usage: onenet-led packet encode connack [--return-code 0..5] [--session-present]`,
    spec: { values: ["return-code"], flags: ["session-present"] },
    encode: (buf, args) => encodeConnack(buf, 0, args.has("session-present"), intOption(args, "return-code", 0, 255) ?? 0),
  },
  suback: {
    help: `usage: onenet-led packet encode suback --packet-id N --code C [--code C ...]
  --code C   0, 1, 2 (granted QoS) or 128 (failure), one per requested filter`,
    spec: { values: ["packet-id"], repeated: ["code"] },
    encode(buf, args) {
      const codes = args.all("code").map((c) => {
        if (!/^\d+$/.test(c)) throw new UsageError(`--code must be a number, got ${JSON.stringify(c)}`);
        return Number(c);
      });
      if (codes.length === 0) throw new UsageError("--code is required");
      return encodeSuback(buf, 0, packetId(args), codes, codes.length);
    },
  },
};

async function encode(argv: string[]): Promise<number> {
  const [type, ...rest] = argv;
  if (!type || type === "--help") {
    console.log(USAGE);
    return type ? 0 : 1;
  }
  const command = encoders[type.toLowerCase()];
  if (!command) throw new UsageError(`unknown packet type ${JSON.stringify(type)}; one of: ${Object.keys(encoders).join(", ")}`);
  const args = parseArgs(rest, { ...command.spec, flags: [...(command.spec.flags ?? []), "json", "explain", "show-secrets"] });
  if (args.has("help")) {
    console.log(command.help);
    return 0;
  }
  if (args.positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[0])}`);
  const buf = new Uint8Array(1024 * 1024);
  let n: number;
  try {
    n = command.encode(buf, args);
  } catch (error) {
    if (error instanceof MqttError) {
      console.error(`onenet-led packet encode ${type}: cannot build the packet: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const hex = toSpacedHex(buf, 0, n);
  const bytes = buf.subarray(0, n);
  const explained = args.has("explain") ? shown(dissect(bytes), bytes, args.has("show-secrets")) : undefined;
  if (args.has("json")) console.log(JSON.stringify({ type: type.toUpperCase(), length: n, hex, ...(explained ? { dissection: explained } : {}) }));
  else {
    console.log(hex);
    if (explained) console.log(`\n${renderDissection(explained)}`);
  }
  return 0;
}

async function decode(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["role"], flags: ["json", "show-secrets"] });
  if (args.has("help")) {
    console.log(DECODE_USAGE);
    return 0;
  }
  if (args.positional.length === 0) throw new UsageError("give the packet as hex, e.g. onenet-led packet decode \"D0 00\"");
  const role = (args.get("role") ?? "any") as DecoderRole;
  if (role !== "any" && role !== "client" && role !== "server") throw new UsageError(`--role must be any, client or server`);
  let bytes: Uint8Array;
  try {
    bytes = parseHex(args.positional.join(" "));
  } catch (error) {
    if (error instanceof HexError) {
      console.error(`onenet-led packet decode: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const d = shown(dissect(bytes, { role }), bytes, args.has("show-secrets"));
  if (args.has("json")) console.log(JSON.stringify(d, null, 2));
  else console.log(renderDissection(d));
  if (!d.ok) {
    const bad = d.packets.find((p) => p.error !== null)!;
    const short = bad.error!.code === "truncated-packet" ? truncation(bytes, bad.offset) : undefined;
    if (short) console.error(`onenet-led packet decode: ${bad.type || "packet"} at offset ${bad.offset} is cut short: ${short} (truncated-packet)`);
    else console.error(`onenet-led packet decode: malformed packet at offset ${bad.offset}: ${bad.error!.code}: ${bad.error!.description}`);
    return 1;
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "encode") return encode(rest);
  if (sub === "decode") return decode(rest);
  if (sub === "--help" || sub === "help") {
    console.log(USAGE);
    return 0;
  }
  console.error(sub ? `onenet-led packet: unknown subcommand ${JSON.stringify(sub)}\n\n${USAGE}` : USAGE);
  return 1;
}
