/*
 * A minimal well-behaved ESP8266 for the driver fuzz target's recovery check: answers each command
 * line the driver writes the way the AT firmware does (only what the driver uses), plays the TCP
 * peer (queues payload for +IPD / AT+CIPRECVDATA / passthrough, collects what the driver sends),
 * and boots (`ready`) on AT+RST or a pulse of the RST pin. All output goes out from clock events,
 * never inside the driver's write (board.ts rule).
 */
import type { VirtualClock } from "../clock.js";

const te = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 255);

export class AtResponder {
  /** Bytes the driver sent as payload (CIPSEND data, passthrough). */
  readonly sent: number[] = [];
  private line: number[] = [];
  private sendLeft = 0;
  private passthrough = false;
  private pending: Uint8Array = new Uint8Array(0);

  /**
   * `passive`: the receive mode the module starts in. It follows AT+CIPRECVMODE from then on, and
   * a boot clears it, as on the module.
   */
  constructor(
    private readonly clock: VirtualClock,
    private readonly dialect: "1.7" | "2.x",
    private passive: boolean,
    private readonly out: (bytes: Uint8Array) => void,
  ) {}

  private say(text: string | Uint8Array, delay = 2): void {
    const bytes = typeof text === "string" ? te(text) : text;
    this.clock.setTimeout(() => this.out(bytes), delay);
  }

  boot(delay = 20): void {
    this.passthrough = false;
    this.passive = false;
    this.sendLeft = 0;
    this.line = [];
    this.say("\r\nready\r\n", delay);
  }

  /** The server sends `payload` to the device. */
  serverSends(payload: Uint8Array): void {
    if (this.passthrough) {
      this.say(payload);
    } else if (!this.passive) {
      const out = new Uint8Array(payload.length + 16);
      const head = te(`\r\n+IPD,${payload.length}:`);
      out.set(head);
      out.set(payload, head.length);
      this.say(out.subarray(0, head.length + payload.length));
    } else {
      const all = new Uint8Array(this.pending.length + payload.length);
      all.set(this.pending);
      all.set(payload, this.pending.length);
      this.pending = all;
      this.say(`\r\n+IPD,${all.length}\r\n`);
    }
  }

  /** Bytes the driver wrote to the module. */
  receive(bytes: Uint8Array): void {
    if (this.passthrough) {
      if (bytes.length === 3 && bytes[0] === 43 && bytes[1] === 43 && bytes[2] === 43) {
        this.passthrough = false;
        return;
      }
      for (const b of bytes) this.sent.push(b);
      return;
    }
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.sendLeft > 0) {
        this.sent.push(b);
        if (--this.sendLeft === 0) this.say(`\r\nRecv ${this.sent.length} bytes\r\n\r\nSEND OK\r\n`);
        continue;
      }
      if (b === 10) {
        this.command(String.fromCharCode(...this.line).replace(/\r/g, ""));
        this.line = [];
      } else if (this.line.length < 512) this.line.push(b);
    }
  }

  private command(cmd: string): void {
    if (cmd === "") return;
    const ok = "\r\nOK\r\n";
    if (cmd === "AT+RST") {
      this.say(ok);
      this.boot(30);
    } else if (cmd === "AT+GMR") {
      const v = this.dialect === "1.7" ? "AT version:1.7.4.0(May 11 2020 19:13:04)" : "AT version:2.2.0.0-dev(ca41ec4 - ESP8266 - Sep 16 2020 11:28:17)";
      this.say(`${v}\r\nSDK version:x\r\n${ok}`);
    } else if (cmd.startsWith("AT+CWJAP=")) {
      this.say(`WIFI CONNECTED\r\nWIFI GOT IP\r\n${ok}`, 50);
    } else if (cmd.startsWith("AT+CIPSTART=")) {
      this.say(`CONNECT\r\n${ok}`, 20);
    } else if (cmd === "AT+CIPCLOSE") {
      this.say(`CLOSED\r\n${ok}`);
    } else if (cmd.startsWith("AT+CIPSEND=")) {
      const n = Number(cmd.slice(11));
      if (!(n > 0 && n <= 2048)) return this.say("\r\nERROR\r\n");
      this.sendLeft = n;
      this.say(`${ok}> `);
    } else if (cmd === "AT+CIPSEND") {
      this.passthrough = true;
      this.say(`${ok}\r\n>`);
    } else if (cmd === "AT+CIPRECVMODE=1" || cmd === "AT+CIPRECVMODE=0") {
      this.passive = cmd.endsWith("1");
      this.say(ok);
    } else if (cmd.startsWith("AT+CIPRECVDATA=")) {
      const k = Math.min(Number(cmd.slice(15)) || 0, this.pending.length);
      const data = this.pending.subarray(0, k);
      this.pending = this.pending.slice(k);
      const head = te(this.dialect === "1.7" ? `\r\n+CIPRECVDATA,${k}:` : `+CIPRECVDATA:${k},`);
      const tail = te(ok);
      const out = new Uint8Array(head.length + k + tail.length);
      out.set(head);
      out.set(data, head.length);
      out.set(tail, head.length + k);
      this.say(out);
    } else if (cmd.startsWith("AT")) {
      this.say(ok);
    } else {
      this.say("\r\nERROR\r\n");
    }
  }
}
