/*
 * Fuzz target: the AT parser (firmware/at/parser.ts). Per case: mutated module -> MCU bytes from a
 * recorded session (or noise), fed whole, in a random chunking, and (small inputs) split at every
 * point, sometimes in raw mode. Checks: nothing throws (the parser never throws); events obey the
 * sink contract (data slices inside the fed chunk, exactly the announced count between
 * onDataStart and onDataEnd, no line inside a data block, lineLength within the line buffer);
 * events are bounded by the input; the result does not depend on the chunking; the line buffer
 * keeps its length and the canary around it is intact; and after the garbage the parser is back in
 * sync, both at the natural resync point (end of any pending data block, then a line end) and after
 * reset(): a recorded session then gives exactly the events a fresh parser gives.
 */
import { AtParser, MAX_DATA_BLOCK, type AtParserSink, type DataKind, type LineKind } from "../../firmware/at/parser.js";
import { canaryIntact, FuzzViolation, guardedView, Tally, Trace, type Rule } from "./check.js";
import { chunking, mutate } from "./mutate.js";
import type { Rng } from "./rng.js";
import type { Corpus } from "./sessions.js";

const NAME = "at-parser";
const LINE_SIZES = [16, 64, 256] as const;
const CRLF = Uint8Array.of(13, 10);

class RecordingSink implements AtParserSink {
  readonly trace = new Trace();
  problem = "";
  parser!: AtParser;
  tally: Tally | undefined;
  private chunkStart = 0;
  private chunkEnd = 0;
  private inBlock = false;
  private announced = 0;
  private got = 0;

  start(tally?: Tally): void {
    this.trace.reset();
    this.problem = "";
    this.tally = tally;
    this.inBlock = false;
    this.got = 0;
  }

  chunk(start: number, end: number): void {
    this.chunkStart = start;
    this.chunkEnd = end;
  }

  onLine(kind: LineKind, value: number): void {
    const t = this.trace;
    t.events++;
    const p = this.parser;
    if (this.inBlock) this.problem ||= `line ${kind} inside a data block`;
    if (p.lineLength <= 0 || p.lineLength > p.line.length) this.problem ||= `lineLength ${p.lineLength}`;
    t.str(kind);
    t.num(value);
    t.bytes(p.line, 0, Math.min(p.lineLength, p.line.length));
    this.tally?.count(`line:${kind}`);
  }

  onPrompt(): void {
    this.trace.events++;
    if (this.inBlock) this.problem ||= "prompt inside a data block";
    this.trace.num(-2);
    this.tally?.count("prompt");
  }

  onDataStart(kind: DataKind, length: number): void {
    const t = this.trace;
    t.events++;
    if (this.inBlock) this.problem ||= "data block inside a data block";
    if (!(length >= 0 && length <= MAX_DATA_BLOCK)) this.problem ||= `data block of ${length}`;
    this.inBlock = true;
    this.announced = length;
    this.got = 0;
    t.num(-3);
    t.str(kind);
    t.num(length);
    this.tally?.count(`data:${kind}`);
  }

  onData(bytes: Uint8Array, offset: number, length: number): void {
    const t = this.trace;
    t.events++;
    if (!(length > 0 && offset >= this.chunkStart && offset + length <= this.chunkEnd && offset + length <= bytes.length))
      this.problem ||= `onData(${offset}, ${length}) outside the chunk [${this.chunkStart}, ${this.chunkEnd})`;
    if (!this.parser.isRaw) {
      if (!this.inBlock) this.problem ||= "data outside a data block";
      this.got += length;
      if (this.got > this.announced) this.problem ||= `${this.got} data bytes for ${this.announced} announced`;
    }
    // Data is hashed byte by byte without call boundaries: chunking may split it freely.
    t.bytes(bytes, offset, Math.max(0, Math.min(length, bytes.length - offset)));
  }

  onDataEnd(kind: DataKind): void {
    const t = this.trace;
    t.events++;
    if (!this.inBlock) this.problem ||= "data end without a block";
    else if (this.got !== this.announced) this.problem ||= `data end after ${this.got} of ${this.announced} bytes`;
    this.inBlock = false;
    t.num(-4);
    t.str(kind);
  }
}

interface Guarded {
  parser: AtParser;
  sink: RecordingSink;
}

function guardedParser(size: number): Guarded {
  const sink = new RecordingSink();
  const parser = new AtParser(sink, size);
  (parser as { line: Uint8Array }).line = guardedView(size);
  sink.parser = parser;
  return { parser, sink };
}

export class AtParserTarget {
  readonly name = NAME;
  readonly tally = new Tally();
  private readonly seeds: { bytes: Uint8Array; ends: number[] }[];
  private readonly pool: Uint8Array[];
  private readonly guarded = new Map<number, Guarded>();
  private readonly fresh = new Map<number, Guarded>();

  constructor(corpus: readonly Corpus[]) {
    this.seeds = corpus.map((c) => ({ bytes: c.uart, ends: c.uartChunks }));
    this.pool = this.seeds.map((s) => s.bytes);
    for (const size of LINE_SIZES) {
      this.guarded.set(size, guardedParser(size));
      this.fresh.set(size, guardedParser(size));
    }
  }

  input(rng: Rng): { bytes: Uint8Array; steps: string[] } {
    if (rng.chance(0.08)) return { bytes: rng.bytes(rng.range(0, 300)), steps: ["random"] };
    const seed = rng.pick(this.seeds);
    let from = 0;
    let to = seed.bytes.length;
    if (rng.chance(0.75)) {
      // A window of recorded UART chunks.
      const i = rng.int(seed.ends.length);
      const j = Math.min(seed.ends.length - 1, i + rng.int(6));
      from = i === 0 ? 0 : seed.ends[i - 1];
      to = seed.ends[j];
    }
    return mutate(rng, "at", seed.bytes.subarray(from, to), this.pool);
  }

  run(rng: Rng, input: Uint8Array): void {
    const size = rng.pick(LINE_SIZES);
    const raw = rng.chance(0.05);
    const { parser, sink } = this.guarded.get(size)!;
    const fail = (rule: Rule, detail: string): never => {
      throw new FuzzViolation(NAME, rule, `line buffer ${size}${raw ? ", raw" : ""}: ${detail}`, input);
    };
    const check = () => {
      if (sink.problem) fail("bad-event", sink.problem);
      if (parser.line.length !== size) fail("buffer-resized", `line buffer now ${parser.line.length}`);
      if (!canaryIntact(parser.line)) fail("out-of-bounds-write", "canary around the line buffer changed");
    };
    const feed = (p: AtParser, s: RecordingSink, bytes: Uint8Array, start: number, end: number) => {
      s.chunk(start, end);
      try {
        p.feed(bytes, start, end - start);
      } catch (e) {
        fail("threw", String(e));
      }
    };
    const feedAll = (chunks: number[] | null, tally?: Tally): number => {
      parser.setRaw(raw);
      sink.start(tally);
      if (chunks === null) feed(parser, sink, input, 0, input.length);
      else {
        let at = 0;
        for (const c of chunks) {
          feed(parser, sink, input, at, at + c);
          at += c;
        }
      }
      check();
      if (sink.trace.events > 3 * input.length + (chunks ? chunks.length : 1) + 2)
        fail("unbounded-work", `${sink.trace.events} events for ${input.length} bytes`);
      return sink.trace.h;
    };

    const overflowsBefore = parser.overflows;
    const whole = feedAll(null, this.tally);
    if (parser.overflows > overflowsBefore) this.tally.count("line-overflow", parser.overflows - overflowsBefore);
    const chunks = chunking(rng, input.length);
    if (feedAll(chunks) !== whole) fail("chunking-changed-result", `chunks ${chunks.join(",")}`);
    if (input.length <= 160 && rng.chance(0.25)) {
      for (let k = 1; k < input.length; k++) if (feedAll([k, input.length - k]) !== whole) fail("chunking-changed-result", `split at ${k}`);
    }

    // Back in sync. The garbage leaves the parser anywhere (mid-line, mid-block, after a prompt).
    const good = rng.pick(this.seeds);
    const cut = good.ends[rng.int(good.ends.length)];
    const f = this.fresh.get(size)!;
    f.parser.setRaw(false);
    f.sink.start();
    feed(f.parser, f.sink, good.bytes, 0, cut);
    const expected = f.sink.trace.h;
    feedAll(null);
    if (!raw) {
      // Natural resync point: the pending data block ends, then a line ends.
      const filler = new Uint8Array(parser.pendingData).fill(0x55);
      feed(parser, sink, filler, 0, filler.length);
      feed(parser, sink, CRLF, 0, 2);
      sink.start();
      feed(parser, sink, good.bytes, 0, cut);
      check();
      if (sink.trace.h !== expected) fail("not-back-in-sync", "after the data block and a line end, a recorded session parses differently");
    }
    parser.reset();
    parser.setRaw(false);
    sink.start();
    feed(parser, sink, good.bytes, 0, cut);
    check();
    if (sink.trace.h !== expected) fail("not-back-in-sync", "after reset(), a recorded session parses differently");
    this.tally.cases++;
    this.tally.bytes += input.length;
  }
}
