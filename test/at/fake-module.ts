/*
 * A scripted fake ESP8266 for the driver's unit tests: small, strict, and easy to bend. It sits on
 * the module end of host-sim's VirtualUart (so the driver sees real chunking, FIFO limits and
 * baud timing) and answers with the byte formats of either dialect from the reference. Tests
 * override any answer with `script(prefix, reply)` and inject unsolicited output with `emit`.
 * This is not the emulator (host-sim/esp8266): it knows only what the driver tests need, and every
 * command the driver writes is recorded in `commands` for assertions.
 */
import type { VirtualClock } from "../../host-sim/clock.js";
import { VirtualUart, type UartOptions } from "../../host-sim/uart.js";
import type { Board, DigitalOutput, LogLevel } from "../../firmware/board.js";

export type FakeDialect = "1.7" | "2.x";

/** A reply: bytes to send, a function of the command line, or a list of [delayMs, bytes] steps. */
export type Reply = string | ((line: string) => string | Array<[number, string]>) | Array<[number, string]>;

const OK = "\r\nOK\r\n";
const ERROR = "\r\nERROR\r\n";

export interface FakeOptions {
  dialect?: FakeDialect;
  uart?: UartOptions;
  /** Wire the RST pin to the board (else the driver must use AT+RST). */
  resetPin?: boolean;
  /** Milliseconds between AT+RST (or the RST pin) and `ready`. */
  bootMs?: number;
  joinMs?: number;
  /** Every other read returns 0 although bytes wait (some boards report readable spuriously). */
  flakyRead?: boolean;
}

export class FakeModule {
  readonly uart: VirtualUart;
  readonly dialect: FakeDialect;
  /** Every command line the driver wrote (without \r\n), in order. */
  readonly commands: string[] = [];
  /** Payload bytes that reached the "server" (after CIPSEND prompts, or in passthrough). */
  readonly payload: number[] = [];
  /** Sizes of the CIPSEND data blocks. */
  readonly sends: number[] = [];
  readonly logs: Array<[LogLevel, string]> = [];
  readonly board: Pick<Board, "openSerial" | "clock" | "log" | "moduleReset">;
  /** Times (virtual ms) at which the fake saw each byte of passthrough input, for guard checks. */
  readonly plusTimes: number[] = [];
  exitedPassthroughAt = -1;

  echo = true;
  silent = false;
  link = false;
  wifi = false;
  cipmode = 0;
  recvMode = 0;
  passthrough = false;
  /** Unsolicited output sent right before / right after the next CIPSEND prompts. */
  beforePrompt = "";
  afterPrompt = "";
  /** Fail the next data block with SEND FAIL (and, like some firmware, a late SEND OK). */
  sendFailNext = false;

  private line: number[] = [];
  private dataLeft = 0;
  private dataBlock = 0;
  private scripts: Array<{ prefix: string; reply: Reply; times: number }> = [];
  private serverBuffer: number[] = [];
  private lastInputAt = -1;
  private plusRun = 0;
  private plusTimer: { cancel(): void } | undefined;
  private readonly bootMs: number;
  private readonly joinMs: number;

  constructor(readonly clock: VirtualClock, options: FakeOptions = {}) {
    this.dialect = options.dialect ?? "2.x";
    this.bootMs = options.bootMs ?? 300;
    this.joinMs = options.joinMs ?? 2000;
    this.uart = new VirtualUart(clock, { rxBufferSize: 8192, ...options.uart });
    this.uart.module.onData = (bytes) => this.input(bytes);
    let pinLevel = 1;
    const pin: DigitalOutput = {
      write: (level) => {
        if (pinLevel === 0 && level === 1) this.boot();
        pinLevel = level;
      },
    };
    this.board = {
      openSerial: (handlers) => {
        const port = this.uart.mcu.open(handlers);
        if (!options.flakyRead) return port;
        let flip = false;
        return {
          read: (view: Uint8Array) => ((flip = !flip) ? 0 : port.read(view)),
          write: (view: Uint8Array) => port.write(view),
          get writable() {
            return port.writable;
          },
        };
      },
      clock,
      log: (level, message) => this.logs.push([level, message]),
      moduleReset: options.resetPin ? pin : undefined,
    };
  }

  /** Overrides the answer to the next `times` commands starting with `prefix`. */
  /** The SSL client mode in the module's flash (AT+CIPSSLCCONF), and how often it was set. */
  sslMode = 0;
  sslSets = 0;

  script(prefix: string, reply: Reply, times = 1): this {
    this.scripts.push({ prefix, reply, times });
    return this;
  }

  /** Sends raw bytes to the driver now. */
  emit(text: string | Uint8Array): void {
    this.uart.module.write(typeof text === "string" ? new Uint8Array(Buffer.from(text, "latin1")) : text);
  }

  /** The server sends `bytes`: delivered in the form the current receive mode uses. */
  serverSends(bytes: Uint8Array): void {
    if (this.passthrough) {
      this.emit(bytes);
    } else if (this.recvMode === 1) {
      const notify = this.serverBuffer.length === 0;
      for (const b of bytes) this.serverBuffer.push(b);
      if (notify) this.emit(`\r\n+IPD,${this.serverBuffer.length}\r\n`);
    } else {
      for (let i = 0; i < bytes.length; i += 1460) {
        const part = bytes.subarray(i, Math.min(bytes.length, i + 1460));
        this.emit(`\r\n+IPD,${part.length}:`);
        this.emit(part);
        if (this.dialect === "2.x") this.emit("\r\n");
      }
    }
  }

  /** The module reboots by itself. */
  reboot(): void {
    this.boot();
  }

  private boot(): void {
    this.echo = true;
    this.link = false;
    this.wifi = false;
    this.cipmode = 0;
    this.recvMode = 0;
    this.passthrough = false;
    this.dataLeft = 0;
    this.line = [];
    this.serverBuffer = [];
    this.clock.setTimeout(() => this.emit("\x00\x8e\xf2 ets Jan  8 2013,rst cause:2, boot mode:(3,7)\r\n\r\nready\r\n"), this.bootMs);
  }

  private input(bytes: Uint8Array): void {
    for (const b of bytes) this.inputByte(b);
  }

  private inputByte(b: number): void {
    const now = this.clock.now();
    if (this.passthrough) {
      this.passthroughByte(b, now);
      return;
    }
    if (this.dataLeft > 0) {
      this.payload.push(b);
      if (--this.dataLeft === 0) {
        const n = this.dataBlock;
        this.sends.push(n);
        if (this.sendFailNext) {
          this.sendFailNext = false;
          this.reply(`\r\nRecv ${n} bytes\r\n\r\nSEND FAIL\r\n`);
          this.clock.setTimeout(() => this.emit("\r\nSEND OK\r\n"), 50);
        } else {
          this.reply(`\r\nRecv ${n} bytes\r\n\r\nSEND OK\r\n`);
        }
      }
      return;
    }
    if (b === 10) {
      const text = Buffer.from(this.line).toString("latin1").replace(/\r+$/, "");
      this.line = [];
      if (text.length > 0) this.command(text);
      return;
    }
    this.line.push(b);
  }

  /** Passthrough: `+++` alone between >= 20 ms silences leaves it; anything else is payload. */
  private passthroughByte(b: number, now: number): void {
    const silentBefore = this.lastInputAt < 0 || now - this.lastInputAt >= 20;
    this.lastInputAt = now;
    this.plusTimer?.cancel();
    if (b === 43 && (this.plusRun > 0 || silentBefore) && this.plusRun < 3) {
      this.plusRun++;
      this.plusTimes.push(now);
      if (this.plusRun === 3) {
        this.plusTimer = this.clock.setTimeout(() => {
          this.passthrough = false;
          this.plusRun = 0;
          this.exitedPassthroughAt = this.clock.now();
        }, 20);
      }
      return;
    }
    for (let i = 0; i < this.plusRun; i++) this.payload.push(43);
    this.plusRun = 0;
    this.payload.push(b);
  }

  private reply(text: string, delay = 2): void {
    if (this.silent) return;
    this.clock.setTimeout(() => this.emit(text), delay);
  }

  private replySteps(steps: Array<[number, string]>): void {
    if (this.silent) return;
    let at = 0;
    for (const [delay, text] of steps) {
      at += delay;
      this.clock.setTimeout(() => this.emit(text), at);
    }
  }

  /** Called for every command line before it is answered (tests use it to time events). */
  onCommand: ((line: string) => void) | undefined;

  private command(line: string): void {
    this.commands.push(line);
    if (this.silent) return;
    this.onCommand?.(line);
    const echo = this.echo ? line + "\r\r\n" : "";
    const scripted = this.scripts.find((s) => line.startsWith(s.prefix) && s.times > 0);
    if (scripted) {
      scripted.times--;
      const r = typeof scripted.reply === "function" ? scripted.reply(line) : scripted.reply;
      if (typeof r === "string") this.reply(echo + r);
      else this.replySteps([[2, echo], ...r]);
      return;
    }
    this.reply(echo, 1);
    this.answer(line);
  }

  private answer(line: string): void {
    const v2 = this.dialect === "2.x";
    if (line === "AT") return this.reply(OK);
    if (line === "ATE0") {
      this.echo = false;
      return this.reply(OK);
    }
    if (line === "AT+RST") {
      this.reply(OK);
      this.clock.setTimeout(() => this.boot(), 5);
      return;
    }
    if (line === "AT+GMR") {
      return this.reply(
        v2
          ? "AT version:2.2.0.0-dev(s-b097cdf - ESP8266 - Jun 17 2021 12:57:45)\r\nSDK version:v3.4-22-g967752e2\r\ncompile time(6800286):Aug  4 2021 17:20:05\r\nBin version:2.2.0(Cytron_ESP-12F_WROOM-02)\r\n" + OK
          : "AT version:1.7.4.0(May 11 2020 19:13:04)\r\nSDK version:3.0.4(9532ceb)\r\ncompile time:May 27 2020 10:12:17\r\nBin version(Wroom 02):1.7.4\r\n" + OK,
      );
    }
    if (line === "AT+SYSSTORE=0") return this.reply(v2 ? OK : ERROR);
    if (line === "AT+CWMODE=1" || line === "AT+CIPMUX=0" || line === "AT+CIPSSLSIZE=4096") return this.reply(OK);
    // Both families take the single-link form (NonOS: <SSL mode> bit 1; ESP-AT: auth_mode); the
    // mode is kept in flash (1.7 always; 2.x with SYSSTORE=1) and `sslSets` counts the writes.
    if (line === "AT+CIPSSLCCONF=0" || line === "AT+CIPSSLCCONF=2") {
      this.sslMode = Number(line.slice(15));
      this.sslSets++;
      return this.reply(OK);
    }
    if (line.startsWith('AT+CIPSSLCSNI="') || line.startsWith('AT+CIPSSLCCN="')) return this.reply(v2 ? OK : ERROR);
    if (line === "AT+CIPSNTPCFG=1,0") return this.reply(OK);
    if (line === "AT+CIPSSLCCONF?") return this.reply(v2 ? `+CIPSSLCCONF:0,${this.sslMode},0,0\r\n${OK}` : `+CIPSSLCCONF:${this.sslMode}\r\n${OK}`);
    if (line === "AT+CIPRECVMODE=1") {
      this.recvMode = 1;
      return this.reply(OK);
    }
    if (line === "AT+CIPMODE=1") {
      this.cipmode = 1;
      return this.reply(OK);
    }
    if (line.startsWith("AT+CWJAP=")) {
      this.replySteps([
        [this.joinMs, "WIFI CONNECTED\r\n"],
        [500, "WIFI GOT IP\r\n"],
        [1, OK],
      ]);
      this.clock.setTimeout(() => (this.wifi = true), this.joinMs + 501);
      return;
    }
    if (line.startsWith("AT+CIPSTART=")) {
      if (this.link) return this.reply(v2 ? ERROR : "ALREADY CONNECTED\r\n" + ERROR);
      this.link = true;
      return this.reply("CONNECT\r\n" + OK, 50);
    }
    if (line === "AT+CIPCLOSE") {
      if (!this.link) return this.reply(v2 ? ERROR : "UNLINK\r\n" + ERROR);
      this.link = false;
      return this.reply("CLOSED\r\n" + OK);
    }
    if (line.startsWith("AT+CIPSEND=")) {
      const n = Number(line.slice(11));
      if (!this.link) return this.reply(v2 ? ERROR : "link is not valid\r\n" + ERROR);
      this.dataLeft = n;
      this.dataBlock = n;
      return this.reply(this.beforePrompt + (v2 ? "\r\nOK\r\n\r\n>" : "\r\nOK\r\n> ") + this.afterPrompt);
    }
    if (line === "AT+CIPSEND" && this.cipmode === 1) {
      if (!this.link) return this.reply(ERROR);
      this.passthrough = true;
      this.lastInputAt = this.clock.now();
      return this.reply("\r\nOK\r\n\r\n>");
    }
    if (line.startsWith("AT+CIPRECVDATA=")) {
      const n = Math.min(Number(line.slice(15)), this.serverBuffer.length);
      const data = Uint8Array.from(this.serverBuffer.splice(0, n));
      const head = v2 ? `+CIPRECVDATA:${n},` : `\r\n+CIPRECVDATA,${n}:`;
      this.clock.setTimeout(() => {
        this.emit(head);
        this.emit(data);
        this.emit(OK);
      }, 2);
      return;
    }
    this.reply(ERROR);
  }
}
