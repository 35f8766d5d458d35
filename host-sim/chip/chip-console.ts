/*
 * The console of a Moddable image, as it reaches the host (the Pico's USB CDC): plain text lines
 * from a release build (XS's `trace` and the C runtime's printf), or, from a debug build, the
 * xsbug protocol: `\r\n<?xs.MACHINE?>\r\n<xsbug>...</xsbug>\r\n` messages carrying logs, breaks
 * and instrumentation samples. This is the small xsbug host the bench needs: it logs, answers the
 * login (a debug build drops the debugger unless the host answers within ~4 s), resumes every
 * break with <go/>, and keeps XS's samples (slots, chunks, stack) and their peaks.
 *
 * Host messages are framed the way xsbug's serial bridge frames them: `\r\n<?xs.MACHINE?>` then
 * the XML, ended by `>\r\n` (Moddable's fxReceiveLoop).
 *
 *   const console = new ChipConsole((bytes) => cdc.send(bytes), (event) => ...);
 *   console.feed(bytes)     // what the device wrote
 *   console.peaks           // highest XS samples seen (bytes), once a debug or instrumented build reports them
 */

import type { LogLevel } from "../../firmware/board.js";

export type ConsoleEvent =
  | { kind: "line"; text: string }
  | { kind: "login"; name: string; version: string }
  | { kind: "break"; path: string; line: number; message: string }
  | { kind: "samples"; values: Readonly<Record<string, number>> };

/** XS's own instruments, by the names XS gives them (xsDebug.c), as the bench reads them. */
export interface XsPeaks {
  /** Chunk heap in use / reserved (bytes). */
  chunksUsed: number;
  chunksReserved: number;
  /** Slot heap in use / reserved (bytes). */
  slotsUsed: number;
  slotsReserved: number;
  /** Deepest stack since the previous sample (bytes), and the stack's size. */
  stackPeak: number;
  stackSize: number;
  garbageCollections: number;
  samples: number;
}

const INSTRUMENT_KEYS: Readonly<Record<string, keyof XsPeaks>> = {
  "Chunk used": "chunksUsed",
  "Chunk available": "chunksReserved",
  "Slot used": "slotsUsed",
  "Slot available": "slotsReserved",
  "Stack used": "stackPeak",
  "Stack available": "stackSize",
  "Garbage collections": "garbageCollections",
};

/**
 * The instruments of a Moddable Pico image, in the order its samples list them (Moddable's
 * modInstrumentation, then XS's own). A release build prints its key line once at boot, often
 * before a host has opened the console: then these names apply.
 */
export const PICO_INSTRUMENTS: readonly string[] = Object.freeze([
  "Pixels drawn", "Frames drawn", "Network bytes read", "Network bytes written", "Network sockets", "Timers", "Files",
  "Poco display list used", "Piu command List used", "Event loop", "System bytes free",
  "Chunk used", "Chunk available", "Slot used", "Slot available", "Stack used", "Stack available",
  "Garbage collections", "Keys used", "Modules loaded", "Parser used", "Floating Point", "Promises settled",
]);

/**
 * A Moddable console line's level ("info: online" -> info, "online"). Other lines are info, but
 * for the firmware's fatal lines and XS's aborts, which are errors.
 */
export function levelOf(text: string): { level: LogLevel; message: string } {
  const m = /^(debug|info|warn|error): ([\s\S]*)$/.exec(text);
  if (m) return { level: m[1] as LogLevel, message: m[2] };
  return { level: /^(fatal: |XS abort)/.test(text) ? "error" : "info", message: text };
}

const ENTITIES: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

export function decodeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, name: string) => {
    if (name[0] === "#") return String.fromCharCode(name[1] === "x" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? whole;
  });
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-zA-Z_][\w-]*)="([^"]*)"/g)) out[m[1]] = decodeXml(m[2]);
  return out;
}

export class ChipConsole {
  readonly peaks: XsPeaks = { chunksUsed: 0, chunksReserved: 0, slotsUsed: 0, slotsReserved: 0, stackPeak: 0, stackSize: 0, garbageCollections: 0, samples: 0 };
  /** The last sample, by instrument name. */
  latest: Record<string, number> = {};
  /** Seen an xsbug login: this is a debug build. */
  debugBuild = false;
  breaks = 0;
  private text = "";
  private instrumentNames: readonly string[] = PICO_INSTRUMENTS;

  constructor(
    private readonly send: (bytes: Uint8Array) => void,
    private readonly onEvent: (event: ConsoleEvent) => void,
  ) {}

  feed(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.text += String.fromCharCode(bytes[i]);
    this.parse();
  }

  /** Restarts the line assembly (the chip was reset). */
  reset(): void {
    this.text = "";
  }

  /** Sends an xsbug command to the machine (debug builds). */
  command(xml: string, machine: string): void {
    const text = `\r\n<?xs.${machine}?>\r\n${xml}\r\n`;
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
    this.send(bytes);
  }

  private parse(): void {
    for (;;) {
      const pi = this.text.indexOf("<?xs");
      const plainEnd = pi < 0 ? this.text.length : pi;
      this.plainLines(plainEnd, pi >= 0);
      if (pi < 0) return;
      // The text before the PI is gone; the PI is at the start now.
      const close = this.text.indexOf("?>");
      if (close < 0) return;
      const machine = this.text.slice(5, close);
      const separator = this.text[4];
      let rest = close + 2;
      if (separator === "-") {
        // The machine disconnected from the debugger (no body).
        this.text = this.text.slice(rest);
        continue;
      }
      while (this.text[rest] === "\r" || this.text[rest] === "\n") rest++;
      const head = this.text.slice(rest, rest + 7);
      if (head.length < 7 && "<xsbug>".startsWith(head)) return; // the rest is on its way
      if (head !== "<xsbug>") {
        // A PI without a message body (should not happen): drop the PI only.
        this.text = this.text.slice(rest);
        continue;
      }
      const end = this.text.indexOf("</xsbug>", rest);
      if (end < 0) return;
      const body = this.text.slice(rest + 7, end);
      this.text = this.text.slice(end + 8);
      this.message(body, machine);
    }
  }

  /** Emits the complete lines of plain text before `end`; keeps a partial line unless a PI follows. */
  private plainLines(end: number, piFollows: boolean): void {
    let start = 0;
    for (;;) {
      const nl = this.text.indexOf("\n", start);
      if (nl < 0 || nl >= end) break;
      this.line(this.text.slice(start, nl));
      start = nl + 1;
    }
    if (piFollows) {
      const partial = this.text.slice(start, end);
      if (partial.trim() !== "") this.line(partial);
      this.text = this.text.slice(end);
    } else {
      this.text = this.text.slice(start);
    }
  }

  private line(raw: string): void {
    const text = raw.replace(/\r$/, "");
    if (text === "") return;
    // An instrumented release build prints its samples on the console.
    if (text.startsWith("instruments key: ")) {
      this.instrumentNames = text.slice(17).split(",");
      return;
    }
    if (text.startsWith("instruments: ")) {
      this.samples(text.slice(13).split(",").map(Number));
      return;
    }
    this.onEvent({ kind: "line", text });
  }

  private message(body: string, machine: string): void {
    for (const m of body.matchAll(/<log>([\s\S]*?)<\/log>/g)) {
      for (const line of decodeXml(m[1]).split("\n")) this.line(line);
    }
    const login = /<login ([^>]*)\/>/.exec(body);
    if (login) {
      this.debugBuild = true;
      const a = attributes(login[1]);
      this.onEvent({ kind: "login", name: a.name ?? "", version: a.value ?? "" });
      // Answer at once (the machine gives up on the debugger after ~4 s): no breakpoints, go on.
      this.command("<set-all-breakpoints></set-all-breakpoints>", machine);
    }
    const instruments = /<instruments>([\s\S]*?)<\/instruments>/.exec(body);
    if (instruments) this.instrumentNames = [...instruments[1].matchAll(/<instrument name="([^"]*)"/g)].map((m) => decodeXml(m[1]));
    const samples = /<samples>([^<]*)<\/samples>/.exec(body);
    if (samples) this.samples(samples[1].split(",").map(Number));
    const brk = /<break ([^>]*?)\/?>/.exec(body);
    if (brk) {
      const a = attributes(brk[1]);
      this.breaks++;
      this.onEvent({ kind: "break", path: a.path ?? "", line: Number(a.line ?? 0), message: a.message ?? "" });
      this.command("<go/>", machine);
    }
  }

  private samples(values: number[]): void {
    const named: Record<string, number> = {};
    this.instrumentNames.forEach((name, i) => {
      if (i < values.length && Number.isFinite(values[i])) named[name.trim()] = values[i];
    });
    this.latest = named;
    const p = this.peaks;
    for (const [name, key] of Object.entries(INSTRUMENT_KEYS)) {
      const v = named[name];
      if (v !== undefined && key !== "samples") p[key] = Math.max(p[key], v);
    }
    p.samples++;
    this.onEvent({ kind: "samples", values: named });
  }
}
