/*
 * Fuzz target: the firmware's MQTT decoder (firmware/mqtt/decode.ts), client role, as the device
 * runs it. Per case: mutated broker -> device bytes from a recorded session (or pure noise), fed
 * whole, in a random chunking, and (small inputs) split at every point. Checks: nothing throws;
 * every error is a named DecodeErrorCode with the documented fatality; events are bounded by the
 * input; every packet's fields lie inside the packet; the result does not depend on the chunking;
 * the buffer keeps its length and the canary around it is intact; and after the garbage, both after
 * reset() and (when the decoder sits at a packet boundary) without it, a recorded session decodes
 * exactly as on a fresh decoder.
 */
import { MqttDecoder, describeMqttError, type DecodedPacket, type DecodeErrorCode, type DecoderSink } from "../mqtt/index.js";
import { canaryIntact, FuzzViolation, guardedView, Tally, Trace } from "./check.js";
import { chunking, mutate } from "./mutate.js";
import type { Rng } from "./rng.js";
import type { Corpus } from "./sessions.js";

const NAME = "mqtt-decoder";
const SIZES = [16, 64, 256, 1024] as const;
const FRAMING: ReadonlySet<string> = new Set(["remaining-length-too-long", "remaining-length-not-minimal"]);

class RecordingSink implements DecoderSink {
  readonly trace = new Trace();
  problem = "";
  packets = 0;
  lastError: DecodeErrorCode | "" = "";
  tally: Tally | undefined;
  constructor(private readonly decoder: MqttDecoder) {}

  start(tally?: Tally): void {
    this.trace.reset();
    this.problem = "";
    this.packets = 0;
    this.tally = tally;
  }

  onPacket(p: DecodedPacket): void {
    const t = this.trace;
    t.events++;
    this.packets++;
    const len = p.packetLength;
    const size = this.decoder.buffer.length;
    if (p.buffer !== this.decoder.buffer) this.problem ||= "packet.buffer is not the decoder's buffer";
    if (len > size || len < 2) this.problem ||= `packet length ${len} outside 2..${size}`;
    const inside = (off: number, n: number) => off >= 0 && n >= 0 && off + n <= len;
    if (!inside(p.topicOffset, p.topicLength)) this.problem ||= "topic outside the packet";
    if (!inside(p.payloadOffset, p.payloadLength)) this.problem ||= "payload outside the packet";
    t.num(p.type);
    t.num(p.flags);
    t.num(len);
    t.num(p.packetId);
    t.bytes(p.buffer, 0, Math.min(len, size));
    this.tally?.count(`packet:${p.type}`);
  }

  onError(code: DecodeErrorCode, fatal: boolean): void {
    const t = this.trace;
    t.events++;
    this.lastError = code;
    if (describeMqttError(code) === code) this.problem ||= `unknown error name ${String(code)}`;
    const framing = FRAMING.has(code);
    const expectFatal = code !== "packet-too-large" && code !== "truncated-packet";
    if (fatal !== expectFatal) this.problem ||= `${code} reported with fatal=${fatal}`;
    if (framing !== this.decoder.broken) this.problem ||= `${code}: broken=${this.decoder.broken}`;
    t.str(code);
    t.num(fatal ? 1 : 0);
    this.tally?.count(code);
  }
}

interface Guarded {
  decoder: MqttDecoder;
  sink: RecordingSink;
}

function guardedDecoder(size: number): Guarded {
  const decoder = new MqttDecoder({ bufferSize: size, role: "client" });
  const view = guardedView(size);
  // The decoder owns its buffer; swap in one whose neighbours are watched (readonly is TS-only).
  (decoder as { buffer: Uint8Array }).buffer = view;
  (decoder.packet as { buffer: Uint8Array }).buffer = view;
  return { decoder, sink: new RecordingSink(decoder) };
}

export class MqttTarget {
  readonly name = NAME;
  readonly tally = new Tally();
  private readonly seeds: { bytes: Uint8Array; ends: number[] }[];
  private readonly pool: Uint8Array[];
  private readonly guarded = new Map<number, Guarded>();
  private readonly fresh = new Map<number, Guarded>();

  constructor(corpus: readonly Corpus[]) {
    this.seeds = corpus.flatMap((c) => c.mqtt);
    this.pool = this.seeds.map((s) => s.bytes);
    for (const size of SIZES) {
      this.guarded.set(size, guardedDecoder(size));
      this.fresh.set(size, guardedDecoder(size));
    }
    this.selfTest();
  }

  /** The recorded sessions decode to exactly the recorded packets (else the corpus is wrong). */
  private selfTest(): void {
    const { decoder, sink } = guardedDecoder(1024);
    for (const s of this.seeds) {
      decoder.reset();
      sink.start();
      decoder.feed(s.bytes, 0, s.bytes.length, sink);
      if (sink.packets !== s.ends.length || sink.problem || decoder.pending)
        throw new Error(`recorded MQTT session does not decode cleanly (${sink.packets}/${s.ends.length} packets) ${sink.problem}`);
    }
  }

  /** Generates case input from `rng` (deterministic). */
  input(rng: Rng): { bytes: Uint8Array; steps: string[] } {
    if (rng.chance(0.08)) return { bytes: rng.bytes(rng.range(0, 300)), steps: ["random"] };
    const seed = rng.pick(this.seeds);
    // A window of whole packets keeps most cases small (and every-split-point affordable).
    let from = 0;
    let to = seed.bytes.length;
    let ends = seed.ends;
    if (rng.chance(0.7)) {
      const i = rng.int(seed.ends.length);
      const j = Math.min(seed.ends.length - 1, i + rng.int(4));
      from = i === 0 ? 0 : seed.ends[i - 1];
      to = seed.ends[j];
      ends = seed.ends.slice(i, j + 1).map((e) => e - from);
    }
    return mutate(rng, "mqtt", seed.bytes.subarray(from, to), this.pool, ends);
  }

  run(rng: Rng, input: Uint8Array): void {
    const size = rng.pick(SIZES);
    const g = this.guarded.get(size)!;
    const { decoder, sink } = g;
    const fail = (rule: ConstructorParameters<typeof FuzzViolation>[1], detail: string): never => {
      throw new FuzzViolation(NAME, rule, `buffer ${size}: ${detail}`, input);
    };
    const feedAll = (chunks: number[] | null, tally?: Tally): number => {
      decoder.reset();
      sink.start(tally);
      try {
        if (chunks === null) decoder.feed(input, 0, input.length, sink);
        else {
          let at = 0;
          for (const c of chunks) {
            decoder.feed(input, at, c, sink);
            at += c;
          }
        }
        decoder.end(sink);
      } catch (e) {
        fail("threw", String(e));
      }
      if (sink.problem) fail("bad-event", sink.problem);
      if (decoder.buffer.length !== size) fail("buffer-resized", `now ${decoder.buffer.length}`);
      if (!canaryIntact(decoder.buffer)) fail("out-of-bounds-write", "canary around the decoder buffer changed");
      if (sink.trace.events > input.length + 1) fail("unbounded-work", `${sink.trace.events} events for ${input.length} bytes`);
      return sink.trace.h;
    };

    const whole = feedAll(null, this.tally);
    const chunks = chunking(rng, input.length);
    if (feedAll(chunks) !== whole) fail("chunking-changed-result", `chunks ${chunks.join(",")}`);
    if (input.length <= 160 && rng.chance(0.25)) {
      for (let k = 1; k < input.length; k++) {
        if (feedAll([k, input.length - k]) !== whole) fail("chunking-changed-result", `split at ${k}`);
      }
    }

    // Back in sync: garbage, then a recorded session (a prefix of whole packets).
    const good = rng.pick(this.seeds);
    const cut = good.ends[rng.int(good.ends.length)];
    const f = this.fresh.get(size)!;
    f.decoder.reset();
    f.sink.start();
    f.decoder.feed(good.bytes, 0, cut, f.sink);
    const expected = f.sink.trace.h;
    const expectedPackets = f.sink.packets;

    decoder.reset();
    sink.start();
    decoder.feed(input, 0, input.length, sink);
    const atBoundary = !decoder.broken && !decoder.pending;
    if (atBoundary) {
      // Nothing half-read: the stream continues in sync without a reset.
      sink.start();
      try {
        decoder.feed(good.bytes, 0, cut, sink);
      } catch (e) {
        fail("threw", String(e));
      }
      if (sink.trace.h !== expected) fail("not-back-in-sync", `at a packet boundary after garbage, ${sink.packets}/${expectedPackets} packets of a good session`);
    }
    decoder.reset();
    sink.start();
    decoder.feed(good.bytes, 0, cut, sink);
    if (sink.trace.h !== expected) fail("not-back-in-sync", `after reset(), ${sink.packets}/${expectedPackets} packets of a good session`);
    if (!canaryIntact(decoder.buffer)) fail("out-of-bounds-write", "canary around the decoder buffer changed");
    this.tally.cases++;
    this.tally.bytes += input.length;
  }
}
