/*
 * An ESP8266 running Espressif's AT firmware, NonOS 1.7.x or ESP-AT 2.x, as seen from its UART.
 * Byte formats: ./format.ts (checked against ../shared/reference/esp-at.md).
 *
 * Public API:
 *
 *   const clock = new VirtualClock();
 *   const uart = new VirtualUart(clock);
 *   const esp = new Esp8266Emulator({ clock, uart, dialect: "1.7" | "2.x", network,
 *     accessPoints?: [{ ssid, password }],      // default [{ ssid: "onenet-lab", password: "password123" }]
 *     dnsFailures?: ["bad.example"], delays?: Partial<EmulatorDelays>, random?: () => number,
 *     passiveBufferSize?: 5760, autoConnect?: true, onEvent?: (e: EmulatorEvent) => void,
 *     caPem?: string,                          // the CA flashed into the module (see TLS below)
 *     sslClientConf?: true });                 // false: a build without AT+CIPSSLCCONF (ERROR)
 *   esp.powerOn();                 // boot noise, then `\r\nready\r\n` after delays.ready
 *   esp.powerOff();                // output cut, every socket closed; esp.hasOpenLink: a link is open or opening
 *   esp.resetPin.write(0 | 1);     // the RST line: hand it to the host board as `moduleReset`
 *   // faults (each also reported as a "fault" event):
 *   esp.wifiDrop(); esp.wifiRestore(); esp.closeByPeer(id?); esp.reset(); esp.failNextSend(n?, { thenSendOk? });
 *   esp.setAccessPoint(ssid, password)   // the router's password changed
 *   esp.joinFailure(code 1-4); esp.dnsFailure(host, on?); esp.unresponsive(on); esp.busyBurst(ms);
 *   esp.stats; esp.state (read-only snapshot: wifi, links, modes, echo); esp.onEvent = ...; esp.listen(fn) -> off
 *   redact(line)                   // what the events show of a command line (no passwords)
 *   DEFAULT_DELAYS                 // the latencies below, in ms of virtual time
 *
 * Events (EmulatorEvent, all with `time`): command {name, line (redacted)}, link {id, state:
 * connecting|open|closed|failed, detail}, wifi {state: joining|connected|got-ip|disconnected|
 * failed}, reset {cause}, ready, mode {command|data|passthrough}, busy {kind}, fault {fault}.
 * Stats: fromMcu/toMcu (UART bytes), toNet/fromNet (payload bytes), commands {name: count}, busy,
 * sends, sendFails, resets.
 *
 * `uart` is a VirtualUart (the emulator uses its module end) or any ModulePort (a pty: see
 * ../serial/). Network I/O goes through a NetworkBackend (../network.ts) and arrives
 * asynchronously; the emulator answers at the current virtual time (tests: `pump`).
 *
 * Behaviour worth knowing (all from the real firmware):
 * - Echo is on after every reset until ATE0. Echoed bytes are the bytes received, as received.
 * - A command line is searched for its `AT` head; a line without one gets ERROR. Lines end in \n.
 * - A line that arrives while a command runs gets `busy p...` and is discarded; while a CIPSEND's
 *   data is being transmitted 1.7 says `busy s...` (2.x `busy p...`).
 * - Every answer comes after a latency (delays.*): CWJAP takes seconds, CIPSTART hundreds of ms.
 * - CWJAP on 1.7 (and CWJAP_DEF) and on 2.x with SYSSTORE=1 is saved: after a reset the module
 *   rejoins by itself (`WIFI CONNECTED`, `WIFI GOT IP` unsolicited) when autoConnect is on.
 * - 1.7 needs AT+CIPSSLSIZE=4096 before an SSL CIPSTART (without it the handshake fails:
 *   ERROR, CLOSED); 2.x has no CIPSSLSIZE. One SSL link at a time.
 * - TLS verification: AT+CIPSSLCCONF=<mode> (both families, single-link form; 2.x also
 *   `<link>,<mode>` with CIPMUX=1 and optional pki/ca indexes). Bit 1 (2 or 3) makes the next SSL
 *   CIPSTART verify the server against `caPem`, what was flashed (2.x: the client_ca partition;
 *   1.7: esp_ca_cert.bin at SSL_CLIENT_CA_ADDR); nothing flashed trusts nothing. 2.x also checks
 *   the certificate's name against the CIPSTART host (esp-tls); 1.7 checks the chain only (its
 *   SDK sets no host name). A failed handshake answers like a refused link: 2.x ERROR, 1.7 ERROR
 *   then CLOSED. Bit 1 clear: any certificate is accepted. The mode is kept in flash on 1.7, and
 *   on 2.x with SYSSTORE=1, so it survives a reset. Client certificates (bit 0) are not modelled.
 *   2.x only (1.7 answers ERROR): AT+CIPSSLCSNI="<name>" (the SNI sent) and AT+CIPSSLCCN="<name>"
 *   (the name checked instead of the CIPSTART host); lost on reset.
 * - Passthrough: data to the server is packed and sent after 20 ms of silence or 2048 bytes;
 *   `+++` exits when alone (>= 20 ms silence before and after, < 20 ms between the pluses). If
 *   the link drops in passthrough the module prints nothing and redials every second. After the
 *   exit, input is ignored for delays.afterEscape (950 ms): the docs say wait 1 s.
 * - AT+CIPDINFO=1 adds the peer to +IPD (`+IPD,<len>,<ip>,<port>:`).
 * - Passive receive buffers up to passiveBufferSize bytes; what comes beyond waits in TCP (the
 *   socket is paused) and enters the buffer as reads make room. The notification `+IPD,<total>`
 *   is sent when data enters the buffer and the previous one has been followed by AT+CIPRECVDATA.
 * - 1.7's passive mode is TCP only: on an SSL link data still comes as active +IPD.
 * - A SEND OK precedes anything the server answers to that data (it comes with the TCP ACK).
 * - A module reset mid-stream (reset(), or the reset pin) cuts its output where it is, closes
 *   every socket silently, and boots: noise, then `ready`.
 * - Events and logs never contain the WiFi password: command lines are redacted.
 */
import type { VirtualClock } from "../clock.js";
import type { NetLink, NetworkBackend, TlsVerify } from "../network.js";
import { netErrorCode } from "../network.js";
import { seededRandom, VirtualUart } from "../uart.js";
import type { AtArg } from "./args.js";
import { parseCommandLine } from "./args.js";
import * as F from "./format.js";
import type { Dialect } from "./format.js";

export type { Dialect } from "./format.js";

/** The module's side of a serial line: a VirtualUart's module end, or a real port (pty). */
export interface ModulePort {
  write(bytes: Uint8Array): void;
  onData: ((bytes: Uint8Array) => void) | undefined;
  /** Drop output not yet on the wire (a reset cuts the line). */
  discard?(): void;
  setBaud?(baud: number): void;
}

export interface AccessPoint {
  ssid: string;
  password: string;
  rssi?: number;
  channel?: number;
  bssid?: string;
}

export interface EmulatorDelays {
  /** Latency of a simple command's answer. */
  command: number;
  /** After a reset: boot noise, then `ready`. */
  bootNoise: number;
  ready: number;
  /** CWJAP success: WIFI CONNECTED after `wifiConnected`, WIFI GOT IP + OK `gotIp` later. */
  wifiConnected: number;
  gotIp: number;
  /** CWJAP failures with codes 2, 3, 4; code 1 (timeout) takes joinTimeout. */
  joinFail: number;
  joinTimeout: number;
  /** CIPSTART: the least time to CONNECT; the module gives up after connectTimeout. */
  connect: number;
  connectTimeout: number;
  dnsFail: number;
  /** From the last data byte of a CIPSEND to SEND OK. */
  sendOk: number;
  /** Rejoin after wifiRestore() or after boot with a saved AP. */
  autoReconnect: number;
  /** AT+CWLAP scan time. */
  scan: number;
  /** Passthrough: pack time and +++ guard time. */
  passthroughPack: number;
  plusGuard: number;
  /** Passthrough redial period after the link drops. */
  passthroughRedial: number;
  /**
   * After a `+++` exit the module ignores input this long. The docs say to wait 1 s after `+++`;
   * counted from the exit (20 ms after the last plus) 950 ms leaves a driver that waits 1 s from
   * writing `+++` a margin, and still catches one that does not wait.
   */
  afterEscape: number;
}

export const DEFAULT_DELAYS: EmulatorDelays = {
  command: 2,
  bootNoise: 30,
  ready: 450,
  wifiConnected: 1800,
  gotIp: 1200,
  joinFail: 4000,
  joinTimeout: 15000,
  connect: 180,
  connectTimeout: 10000,
  dnsFail: 900,
  sendOk: 15,
  autoReconnect: 2500,
  scan: 2000,
  passthroughPack: 20,
  plusGuard: 20,
  passthroughRedial: 1000,
  afterEscape: 950,
};

export type LinkState = "connecting" | "open" | "closed";

export type EmulatorEvent =
  | { type: "command"; time: number; name: string; line: string }
  | { type: "link"; time: number; id: number; state: LinkState | "failed"; detail: string }
  | { type: "wifi"; time: number; state: "joining" | "connected" | "got-ip" | "disconnected" | "failed"; detail: string }
  | { type: "reset"; time: number; cause: "power-on" | "at-rst" | "restore" | "fault" | "pin" }
  | { type: "ready"; time: number }
  | { type: "mode"; time: number; mode: "command" | "data" | "passthrough" }
  | { type: "busy"; time: number; kind: "p" | "s" }
  | { type: "fault"; time: number; fault: string };

export interface EmulatorStats {
  /** Bytes received from the MCU / sent to it. */
  fromMcu: number;
  toMcu: number;
  /** Payload bytes written to / read from the network. */
  toNet: number;
  fromNet: number;
  /** Command names seen (AT+CIPSEND: 3). */
  commands: Record<string, number>;
  busy: number;
  sends: number;
  sendFails: number;
  resets: number;
}

export interface EmulatorOptions {
  clock: VirtualClock;
  uart: VirtualUart | ModulePort;
  dialect: Dialect;
  network: NetworkBackend;
  accessPoints?: AccessPoint[];
  dnsFailures?: string[];
  delays?: Partial<EmulatorDelays>;
  random?: () => number;
  /** Passive receive buffer (bytes per link). */
  passiveBufferSize?: number;
  /** Rejoin a saved AP after reset / when the AP comes back. Default true. */
  autoConnect?: boolean;
  /** PEM of the CA flashed into the module for AT+CIPSSLCCONF verification; absent: none. */
  caPem?: string;
  /** The firmware has AT+CIPSSLCCONF (default true); false: it answers ERROR, as older builds. */
  sslClientConf?: boolean;
  onEvent?: (event: EmulatorEvent) => void;
}

interface Link {
  id: number;
  type: "TCP" | "SSL";
  host: string;
  port: number;
  localPort: number;
  state: LinkState;
  net: NetLink | undefined;
  /** Passive receive buffer. */
  rx: Uint8Array[];
  rxLength: number;
  notifyArmed: boolean;
  paused: boolean;
  /** Passive mode: bytes beyond the buffer, still "in TCP" (the window is closed) until a read. */
  held: Uint8Array[];
  /** Data (and a close) that came before CONNECT was printed. */
  early: Uint8Array[];
  earlyClose: string | undefined;
}

const enc = (s: string): Uint8Array => {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
};

const concat = (...parts: Uint8Array[]): Uint8Array => {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

const MAX_LINKS = 5;
const MAX_SEND = 2048;
const SEGMENT = 1460;
const PLUS = 0x2b;

export class Esp8266Emulator {
  readonly dialect: Dialect;
  readonly stats: EmulatorStats = {
    fromMcu: 0,
    toMcu: 0,
    toNet: 0,
    fromNet: 0,
    commands: {},
    busy: 0,
    sends: 0,
    sendFails: 0,
    resets: 0,
  };
  onEvent: ((event: EmulatorEvent) => void) | undefined;
  private readonly listeners = new Set<(event: EmulatorEvent) => void>();
  /** The module's RST pin (active low). */
  readonly resetPin: { write(level: 0 | 1): void };

  private readonly clock: VirtualClock;
  private readonly port: ModulePort;
  private readonly network: NetworkBackend;
  private readonly aps: AccessPoint[];
  private readonly delays: EmulatorDelays;
  private readonly random: () => number;
  private readonly passiveLimit: number;
  private readonly autoConnect: boolean;
  private readonly dnsFail = new Set<string>();
  private readonly caPem: string | undefined;
  private readonly sslClientConf: boolean;

  // Volatile state (lost on reset).
  private gen = 0;
  private powered = false;
  private booted = false;
  private hung = false;
  private heldInReset = false;
  private echo = true;
  private mux = false;
  private cipmode = 0;
  private recvMode = 0;
  private cwmode = 1;
  private sysstore = 1;
  private sslSize = 0;
  /** AT+CIPSSLCCONF mode in effect (bit 1: verify the server). */
  private sslConf = 0;
  /** AT+CIPSSLCSNI / AT+CIPSSLCCN (2.x): "" = the CIPSTART host. */
  private sslSni = "";
  private sslCn = "";
  private wifi: "down" | "joining" | "connected" | "got-ip" = "down";
  private station: { ssid: string; password: string } | undefined;
  private hadLinkClosed = false;
  private readonly links: (Link | undefined)[] = [];
  private input: "command" | "data" | "passthrough" = "command";
  private line: number[] = [];
  private running = false;
  private sending = false;
  private busyUntil = -1;
  private deafUntil = -1;
  private dinfo = false;
  private send: { link: Link; need: number; got: number[] } | undefined;
  private pt: {
    buf: number[];
    lastInput: number;
    pluses: number;
    lastPlus: number;
    packTimer: { cancel(): void } | undefined;
    guardTimer: { cancel(): void } | undefined;
  } = { buf: [], lastInput: -Infinity, pluses: 0, lastPlus: 0, packTimer: undefined, guardTimer: undefined };

  // Survives resets (flash, the world).
  private saved: { ssid: string; password: string } | undefined;
  private savedSslConf = 0;
  private apUp = true;
  private failSends = 0;
  private strayOk = false;
  private forcedJoinFailure = 0;
  private localPort = 49152;

  constructor(options: EmulatorOptions) {
    this.clock = options.clock;
    this.dialect = options.dialect;
    this.network = options.network;
    this.port = options.uart instanceof VirtualUart ? options.uart.module : options.uart;
    this.aps = options.accessPoints ?? [{ ssid: "onenet-lab", password: "password123" }];
    this.delays = { ...DEFAULT_DELAYS, ...options.delays };
    this.random = options.random ?? seededRandom(0x8266);
    this.passiveLimit = options.passiveBufferSize ?? 5760;
    this.autoConnect = options.autoConnect ?? true;
    this.caPem = options.caPem;
    this.sslClientConf = options.sslClientConf ?? true;
    this.onEvent = options.onEvent;
    for (const h of options.dnsFailures ?? []) this.dnsFail.add(h.toLowerCase());
    this.port.onData = (bytes) => this.receive(bytes);
    this.resetPin = {
      write: (level: 0 | 1) => {
        if (level === 0) {
          if (!this.heldInReset) {
            this.heldInReset = true;
            this.halt(true);
          }
        } else if (this.heldInReset) {
          this.heldInReset = false;
          this.hung = false;
          if (this.powered) this.boot("pin");
        }
      },
    };
  }

  // ---------------------------------------------------------------- public: power and faults

  powerOn(): void {
    if (this.powered) return;
    this.powered = true;
    if (!this.heldInReset) this.boot("power-on");
  }

  /** Power off: output cut, every socket closed, nothing more happens until powerOn(). */
  powerOff(): void {
    if (!this.powered) return;
    this.powered = false;
    this.halt(true);
  }

  /** A TCP/SSL link is open or opening (a socket may be in use). */
  get hasOpenLink(): boolean {
    return this.links.some((l) => l !== undefined && l.state !== "closed");
  }

  /** Snapshot for tests and the dashboard. */
  get state() {
    return {
      booted: this.booted,
      echo: this.echo,
      mux: this.mux,
      cipmode: this.cipmode,
      recvMode: this.recvMode,
      wifi: this.wifi,
      ssid: this.station?.ssid,
      input: this.input,
      sslSize: this.sslSize,
      sslConf: this.sslConf,
      sslSni: this.sslSni,
      sslCn: this.sslCn,
      links: this.links
        .filter((l): l is Link => l !== undefined)
        .map((l) => ({ id: l.id, type: l.type, host: l.host, port: l.port, state: l.state, buffered: l.rxLength })),
    };
  }

  /** The AP vanishes: WIFI DISCONNECT, every link CLOSED. */
  wifiDrop(): void {
    this.fault("wifi-drop");
    this.apUp = false;
    if (this.wifi === "connected" || this.wifi === "got-ip") this.loseWifi();
  }

  /** The AP is back: a station that was on it rejoins by itself. */
  wifiRestore(): void {
    this.fault("wifi-restore");
    this.apUp = true;
    if (this.booted && this.wifi === "down" && this.station && this.autoConnect) this.autoJoin(this.station);
  }

  /** The server closes the TCP link (default: link 0, or the only open link). */
  closeByPeer(id?: number): void {
    this.fault("close-by-peer");
    const link = id !== undefined ? this.links[id] : this.links.find((l) => l?.state === "open");
    if (!link || link.state !== "open") return;
    link.net?.close();
    this.linkDown(link, "closed by peer");
  }

  /** The module reboots by itself: output cut mid-stream, boot noise, `ready`, all state lost. */
  reset(): void {
    this.fault("reset");
    if (!this.powered || this.heldInReset) return;
    this.port.discard?.();
    this.boot("fault");
  }

  /**
   * The next `n` CIPSENDs end in SEND FAIL (their data never reaches the server). With
   * `thenSendOk`, a stray SEND OK follows the SEND FAIL, as some 1.7 builds do.
   */
  failNextSend(n = 1, options: { thenSendOk?: boolean } = {}): void {
    this.fault(`fail-next-send ${n}`);
    this.failSends += n;
    this.strayOk = options.thenSendOk ?? false;
  }

  /** The access point `ssid` now wants `password` (its owner changed it; added if it is new). */
  setAccessPoint(ssid: string, password: string): void {
    this.fault(`access-point ${ssid}`);
    const ap = this.aps.find((a) => a.ssid === ssid);
    if (ap) ap.password = password;
    else this.aps.push({ ssid, password });
  }

  /** The next CWJAP fails with `code`: 1 timeout, 2 wrong password, 3 AP not found, 4 failed. */
  joinFailure(code: 1 | 2 | 3 | 4): void {
    this.fault(`join-failure ${code}`);
    this.forcedJoinFailure = code;
  }

  dnsFailure(host: string, on = true): void {
    this.fault(`dns-failure ${host} ${on}`);
    if (on) this.dnsFail.add(host.toLowerCase());
    else this.dnsFail.delete(host.toLowerCase());
  }

  /** The firmware hangs: no output, input ignored. Only the reset pin (or `unresponsive(false)`) cures it. */
  unresponsive(on: boolean): void {
    this.fault(`unresponsive ${on}`);
    this.hung = on;
  }

  /** For `ms`, every command line gets `busy p...` (the module is busy with itself). */
  busyBurst(ms: number): void {
    this.fault(`busy-burst ${ms}`);
    this.busyUntil = this.clock.now() + ms;
  }

  // ---------------------------------------------------------------- boot

  private boot(cause: "power-on" | "at-rst" | "restore" | "fault" | "pin"): void {
    this.halt(false);
    this.stats.resets++;
    this.emit({ type: "reset", time: this.clock.now(), cause });
    this.after(this.delays.bootNoise, () => {
      // The ROM bootloader talks at 74880 baud: at 115200 it reads as noise.
      const noise = new Uint8Array(48 + Math.floor(this.random() * 32));
      for (let i = 0; i < noise.length; i++) noise[i] = 0x80 | Math.floor(this.random() * 0x80);
      this.out(noise);
    });
    this.after(this.delays.ready, () => {
      this.booted = true;
      this.out(F.READY);
      this.emit({ type: "ready", time: this.clock.now() });
      if (this.saved && this.autoConnect && this.cwmode !== 2) {
        this.station = { ...this.saved };
        this.autoJoin(this.station);
      }
    });
  }

  /** Forgets all volatile state (RAM); flash (saved AP, CWMODE) survives. */
  private halt(discardOutput: boolean): void {
    this.gen++;
    if (discardOutput) this.port.discard?.();
    for (let i = 0; i < MAX_LINKS; i++) {
      const l = this.links[i];
      if (l) {
        l.net?.close();
        l.state = "closed";
      }
      this.links[i] = undefined;
    }
    this.booted = false;
    this.echo = true;
    this.mux = false;
    this.cipmode = 0;
    this.recvMode = 0;
    this.sysstore = 1;
    this.sslSize = 0;
    this.sslConf = this.savedSslConf;
    this.sslSni = "";
    this.sslCn = "";
    this.wifi = "down";
    this.station = undefined;
    this.hadLinkClosed = false;
    this.input = "command";
    this.line = [];
    this.running = false;
    this.sending = false;
    this.busyUntil = -1;
    this.deafUntil = -1;
    this.dinfo = false;
    this.send = undefined;
    this.pt.packTimer?.cancel();
    this.pt.guardTimer?.cancel();
    this.pt = { buf: [], lastInput: -Infinity, pluses: 0, lastPlus: 0, packTimer: undefined, guardTimer: undefined };
  }

  // ---------------------------------------------------------------- input

  private receive(bytes: Uint8Array): void {
    if (!this.powered || this.heldInReset || this.hung || !this.booted) return;
    this.stats.fromMcu += bytes.length;
    if (this.clock.now() < this.deafUntil) return;
    if (this.input === "passthrough") {
      this.passthroughInput(bytes);
      return;
    }
    let echoFrom = -1;
    const flushEcho = (to: number) => {
      if (echoFrom >= 0 && to > echoFrom) this.out(bytes.subarray(echoFrom, to));
      echoFrom = -1;
    };
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (this.input === "data") {
        const s = this.send!;
        s.got.push(b);
        if (s.got.length === s.need) this.sendDataComplete();
        continue;
      }
      if (this.running || this.sending || this.clock.now() < this.busyUntil) {
        flushEcho(i);
        if (b === 0x0a) {
          const kind = this.sending && this.dialect === "1.7" ? "s" : "p";
          this.stats.busy++;
          this.emit({ type: "busy", time: this.clock.now(), kind });
          this.out(F.busy(kind));
        }
        continue;
      }
      if (this.echo && echoFrom < 0) echoFrom = i;
      if (b === 0x0a) {
        flushEcho(i + 1);
        const text = String.fromCharCode(...this.line).replace(/\r+$/, "");
        this.line = [];
        this.commandLine(text);
      } else if (this.line.length < 1024) {
        this.line.push(b);
      }
    }
    flushEcho(bytes.length);
  }

  private commandLine(text: string): void {
    const head = text.search(/AT/i);
    if (head < 0) {
      this.out(F.ERROR);
      return;
    }
    const line = text.slice(head);
    const cmd = parseCommandLine(line);
    const name = cmd?.name ?? line.toUpperCase();
    this.stats.commands[name] = (this.stats.commands[name] ?? 0) + 1;
    this.emit({ type: "command", time: this.clock.now(), name, line: redact(line) });
    this.running = true;
    if (!cmd) {
      this.finish(F.ERROR);
      return;
    }
    this.execute(cmd.name, cmd.kind, cmd.args);
  }

  // ---------------------------------------------------------------- commands

  private execute(name: string, kind: "exec" | "query" | "set" | "test", args: AtArg[] | undefined): void {
    const d = this.dialect;
    const is17 = d === "1.7";
    const set = kind === "set" && args !== undefined;
    const num = (i: number) => (args && typeof args[i] === "number" ? (args[i] as number) : NaN);
    switch (name) {
      case "AT":
        return this.finish(kind === "exec" ? F.OK : F.ERROR);
      case "ATE0":
      case "ATE1":
        if (kind !== "exec") return this.finish(F.ERROR);
        this.echo = name === "ATE1";
        return this.finish(F.OK);
      case "AT+RST":
        return this.later(F.OK, () => this.after(20, () => this.boot("at-rst")));
      case "AT+RESTORE":
        this.saved = undefined;
        return this.later(F.OK, () => this.after(20, () => this.boot("restore")));
      case "AT+GMR":
        return this.finish(F.GMR[d].map((l) => `${l}\r\n`).join("") + F.OK);
      case "AT+SYSSTORE":
        if (is17) return this.finish(F.ERROR);
        if (kind === "query") return this.finish(`+SYSSTORE:${this.sysstore}\r\n${F.OK}`);
        if (!set || (num(0) !== 0 && num(0) !== 1)) return this.finish(F.ERROR);
        this.sysstore = num(0);
        return this.finish(F.OK);
      case "AT+CWMODE":
      case "AT+CWMODE_CUR":
      case "AT+CWMODE_DEF": {
        if (!is17 && name !== "AT+CWMODE") return this.finish(F.ERROR);
        const label = name.slice(2);
        if (kind === "query") return this.finish(`${label}:${this.cwmode}\r\n${F.OK}`);
        if (kind === "test") return this.finish(`${label}:(1-3)\r\n${F.OK}`);
        if (!set || args.length !== 1 || !(num(0) >= 1 && num(0) <= 3)) return this.finish(F.ERROR);
        this.cwmode = num(0);
        if (this.cwmode === 2 && this.wifi !== "down") this.loseWifi();
        return this.finish(F.OK);
      }
      case "AT+CWJAP":
      case "AT+CWJAP_CUR":
      case "AT+CWJAP_DEF":
        if (!is17 && name !== "AT+CWJAP") return this.finish(F.ERROR);
        if (kind === "query") return this.finish(this.cwjapQuery(name.slice(2)));
        if (!set || args.length < 2 || typeof args[0] !== "string" || typeof args[1] !== "string")
          return this.finish(F.ERROR);
        if (this.cwmode === 2) return this.finish(F.ERROR);
        return this.join(args[0], args[1], is17 ? name !== "AT+CWJAP_CUR" : this.sysstore === 1);
      case "AT+CWQAP":
        if (kind !== "exec") return this.finish(F.ERROR);
        this.station = undefined;
        return this.later(F.OK, () => {
          if (this.wifi !== "down") this.loseWifi();
        });
      case "AT+CWAUTOCONN":
        return this.finish(set && (num(0) === 0 || num(0) === 1) ? F.OK : F.ERROR);
      case "AT+CWLAP":
        this.after(this.delays.scan, () =>
          this.finish(
            this.apUp
              ? this.aps
                  .map((ap, i) => `+CWLAP:(3,"${ap.ssid}",${ap.rssi ?? -52 - i * 7},"${ap.bssid ?? bssid(i)}",${ap.channel ?? 6})\r\n`)
                  .join("") + F.OK
              : F.OK,
          ),
        );
        return;
      case "AT+CIFSR": {
        const ip = this.wifi === "got-ip" ? "192.168.31.107" : "0.0.0.0";
        return this.finish(`+CIFSR:STAIP,"${ip}"\r\n+CIFSR:STAMAC,"5c:cf:7f:8a:26:01"\r\n${F.OK}`);
      }
      case "AT+CIPMUX":
        if (kind === "query") return this.finish(`+CIPMUX:${this.mux ? 1 : 0}\r\n${F.OK}`);
        if (!set || (num(0) !== 0 && num(0) !== 1)) return this.finish(F.ERROR);
        if (this.links.some((l) => l?.state === "open" || l?.state === "connecting"))
          return this.finish(F.errorWithText(d, "link is builded"));
        if (num(0) === 1 && this.cipmode === 1) return this.finish(F.ERROR);
        this.mux = num(0) === 1;
        return this.finish(F.OK);
      case "AT+CIPMODE":
        if (kind === "query") return this.finish(`+CIPMODE:${this.cipmode}\r\n${F.OK}`);
        if (!set || (num(0) !== 0 && num(0) !== 1) || (num(0) === 1 && this.mux)) return this.finish(F.ERROR);
        this.cipmode = num(0);
        return this.finish(F.OK);
      case "AT+CIPRECVMODE":
        if (kind === "query") return this.finish(`+CIPRECVMODE:${this.recvMode}\r\n${F.OK}`);
        if (!set || (num(0) !== 0 && num(0) !== 1)) return this.finish(F.ERROR);
        this.recvMode = num(0);
        if (this.recvMode === 0) for (const l of this.links) if (l) this.drainPassiveAsIpd(l);
        return this.finish(F.OK);
      case "AT+CIPRECVLEN":
        if (kind !== "query") return this.finish(F.ERROR);
        return this.finish(
          `+CIPRECVLEN:${[0, 1, 2, 3, 4].map((i) => this.links[i]?.rxLength ?? 0).join(",")}\r\n${F.OK}`,
        );
      case "AT+CIPRECVDATA":
        return this.recvData(set ? args : undefined);
      case "AT+CIPSSLSIZE":
        if (!is17) return this.finish(F.ERROR);
        if (kind === "query") return this.finish(`+CIPSSLSIZE:${this.sslSize || 2048}\r\n${F.OK}`);
        if (!set || !(num(0) >= 2048 && num(0) <= 4096)) return this.finish(F.ERROR);
        if (this.links.some((l) => l?.type === "SSL" && l.state !== "closed")) return this.finish(F.ERROR);
        this.sslSize = num(0);
        return this.finish(F.OK);
      case "AT+CIPSSLCCONF":
        return this.sslcconf(kind, set ? args : undefined);
      case "AT+CIPSSLCSNI":
      case "AT+CIPSSLCCN":
        return this.sslName(name, kind, set ? args : undefined);
      case "AT+CIPSTART":
        return this.cipstart(set ? args : undefined);
      case "AT+CIPSEND":
        return this.cipsend(kind, set ? args : undefined);
      case "AT+CIPCLOSE":
        return this.cipclose(kind, set ? args : undefined);
      case "AT+CIPSTATUS":
        if (kind !== "exec") return this.finish(F.ERROR);
        return this.finish(this.cipstatus());
      case "AT+UART_CUR":
      case "AT+UART_DEF":
      case "AT+UART": {
        if (kind === "query") return this.finish(`${name.slice(2)}:115200,8,1,0,0\r\n${F.OK}`);
        const baud = num(0);
        if (!set || args.length !== 5 || !(baud >= 110 && baud <= 4_608_000) || num(1) !== 8) return this.finish(F.ERROR);
        // OK goes out at the old rate; the switch follows once it is on the wire.
        return this.later(F.OK, () => this.after(5, () => this.port.setBaud?.(baud)));
      }
      case "AT+CIPDINFO":
        if (kind === "query") return this.finish(`+CIPDINFO:${this.dinfo ? "TRUE" : "FALSE"}\r\n${F.OK}`);
        if (!set || (num(0) !== 0 && num(0) !== 1)) return this.finish(F.ERROR);
        this.dinfo = num(0) === 1;
        return this.finish(F.OK);
      case "AT+CIPSTA":
      case "AT+CIPSTA_CUR": {
        if (kind !== "query" || (!is17 && name !== "AT+CIPSTA")) return this.finish(F.ERROR);
        const label = name.slice(2);
        const up = this.wifi === "got-ip";
        const v = (a: string) => (up ? a : "0.0.0.0");
        return this.finish(
          `${label}:ip:"${v("192.168.31.107")}"\r\n${label}:gateway:"${v("192.168.31.1")}"\r\n` +
            `${label}:netmask:"${v("255.255.255.0")}"\r\n${F.OK}`,
        );
      }
      case "AT+CIPSNTPCFG":
        return this.finish(set ? F.OK : F.ERROR);
      case "AT+CIPSNTPTIME":
        if (kind !== "query") return this.finish(F.ERROR);
        return this.finish(`+CIPSNTPTIME:${sntpTime(this.clock.wallTime())}\r\n${F.OK}`);
      default:
        return this.finish(F.ERROR);
    }
  }

  private cwjapQuery(label: string): string {
    if (this.wifi !== "got-ip" && this.wifi !== "connected") return `No AP\r\n${F.OK}`;
    const i = Math.max(0, this.aps.findIndex((a) => a.ssid === this.station?.ssid));
    const ap = this.aps[i];
    return `${label}:"${ap.ssid}","${ap.bssid ?? bssid(i)}",${ap.channel ?? 6},${ap.rssi ?? -52 - i * 7}\r\n${F.OK}`;
  }

  private join(ssid: string, password: string, save: boolean): void {
    if (this.wifi !== "down") this.loseWifi();
    this.wifi = "joining";
    this.station = { ssid, password };
    this.emit({ type: "wifi", time: this.clock.now(), state: "joining", detail: `ssid "${ssid}"` });
    let code = this.forcedJoinFailure;
    this.forcedJoinFailure = 0;
    const ap = this.aps.find((a) => a.ssid === ssid);
    if (!code) code = !ap || !this.apUp ? 3 : ap.password !== password ? 2 : 0;
    if (code) {
      this.after(code === 1 ? this.delays.joinTimeout : this.delays.joinFail, () => {
        this.wifi = "down";
        this.station = undefined;
        this.emit({ type: "wifi", time: this.clock.now(), state: "failed", detail: `+CWJAP:${code}` });
        this.finish(F.joinFailure(this.dialect, code));
      });
      return;
    }
    if (save) this.saved = { ssid, password };
    this.after(this.delays.wifiConnected, () => {
      if (!this.apUp) {
        // The AP vanished during the join.
        this.wifi = "down";
        this.emit({ type: "wifi", time: this.clock.now(), state: "failed", detail: "+CWJAP:1" });
        return this.finish(F.joinFailure(this.dialect, 1));
      }
      this.wifi = "connected";
      this.emit({ type: "wifi", time: this.clock.now(), state: "connected", detail: `ssid "${ssid}"` });
      this.out("WIFI CONNECTED\r\n");
      this.after(this.delays.gotIp, () => {
        this.wifi = "got-ip";
        this.emit({ type: "wifi", time: this.clock.now(), state: "got-ip", detail: "192.168.31.107" });
        this.finish(`WIFI GOT IP\r\n${F.OK}`);
      });
    });
  }

  /** Rejoin without a command: unsolicited WIFI CONNECTED / WIFI GOT IP. */
  private autoJoin(station: { ssid: string; password: string }): void {
    const ap = this.aps.find((a) => a.ssid === station.ssid);
    if (!ap || ap.password !== station.password) return;
    const retry = () => {
      if (this.wifi !== "down" || this.station !== station) return;
      if (!this.apUp) return; // wifiRestore() will call again
      this.wifi = "connected";
      this.emit({ type: "wifi", time: this.clock.now(), state: "connected", detail: `ssid "${station.ssid}"` });
      if (this.input !== "passthrough") this.out("WIFI CONNECTED\r\n");
      this.after(this.delays.gotIp, () => {
        if (this.wifi !== "connected") return;
        this.wifi = "got-ip";
        this.emit({ type: "wifi", time: this.clock.now(), state: "got-ip", detail: "192.168.31.107" });
        if (this.input !== "passthrough") this.out("WIFI GOT IP\r\n");
      });
    };
    this.after(this.delays.autoReconnect, retry);
  }

  private loseWifi(): void {
    const wasUp = this.wifi === "connected" || this.wifi === "got-ip";
    this.wifi = "down";
    this.emit({ type: "wifi", time: this.clock.now(), state: "disconnected", detail: "" });
    if (wasUp && this.input !== "passthrough") this.out("WIFI DISCONNECT\r\n");
    for (const l of this.links) {
      if (l && l.state !== "closed") {
        l.net?.close();
        this.linkDown(l, "wifi lost");
      }
    }
    if (this.apUp && this.station && this.autoConnect) this.autoJoin(this.station);
  }

  // ---------------------------------------------------------------- TCP / SSL

  private sslcconf(kind: string, args: AtArg[] | undefined): void {
    const is17 = this.dialect === "1.7";
    if (!this.sslClientConf) return this.finish(F.ERROR);
    if (kind === "query") {
      return this.finish(is17 ? `+CIPSSLCCONF:${this.sslConf}\r\n${F.OK}` : `+CIPSSLCCONF:0,${this.sslConf},0,0\r\n${F.OK}`);
    }
    if (!args || !args.every((a) => typeof a === "number")) return this.finish(F.ERROR);
    let a = args as number[];
    if (!is17 && this.mux) {
      if (a.length < 2 || a[0] < 0 || a[0] > MAX_LINKS) return this.finish(F.ERROR);
      a = a.slice(1);
    }
    // 1.7: exactly <SSL mode>; 2.x: <auth_mode>[,<pki_number>][,<ca_number>] (one set of each here).
    if (is17 ? a.length !== 1 : a.length < 1 || a.length > 3 || a.slice(1).some((n) => n !== 0)) return this.finish(F.ERROR);
    if (!(a[0] >= 0 && a[0] <= 3)) return this.finish(F.ERROR);
    this.sslConf = a[0];
    if (is17 || this.sysstore === 1) this.savedSslConf = a[0];
    return this.finish(F.OK);
  }

  private cipstart(args: AtArg[] | undefined): void {
    const d = this.dialect;
    if (!args) return this.finish(F.ERROR);
    let id = 0;
    let a = args;
    if (this.mux) {
      if (typeof a[0] !== "number" || a[0] < 0 || a[0] >= MAX_LINKS) return this.finish(F.ERROR);
      id = a[0];
      a = a.slice(1);
    }
    const [type, host, port] = a;
    if (typeof type !== "string" || typeof host !== "string" || typeof port !== "number") return this.finish(F.ERROR);
    const t = type.toUpperCase();
    if ((t !== "TCP" && t !== "SSL") || port < 1 || port > 65535 || host === "") return this.finish(F.ERROR);
    const existing = this.links[id];
    if (existing && existing.state !== "closed") return this.finish(F.errorWithText(d, "ALREADY CONNECTED"));
    if (this.wifi !== "got-ip") return this.finish(F.errorWithText(d, "no ip"));
    if (t === "SSL" && this.links.some((l) => l?.type === "SSL" && l.state !== "closed")) return this.finish(F.ERROR);
    const link: Link = {
      id,
      type: t,
      host,
      port,
      localPort: this.localPort++,
      state: "connecting",
      net: undefined,
      rx: [],
      rxLength: 0,
      notifyArmed: true,
      paused: false,
      held: [],
      early: [],
      earlyClose: undefined,
    };
    this.links[id] = link;
    this.emit({ type: "link", time: this.clock.now(), id, state: "connecting", detail: `${t} ${host}:${port}` });
    const failed = (dns: boolean, detail: string) => {
      this.links[id] = undefined;
      this.emit({ type: "link", time: this.clock.now(), id, state: "failed", detail });
      if (dns) this.finish(F.errorWithText(d, "DNS Fail"));
      else this.finish(d === "1.7" ? `${F.ERROR}${F.closedLine(this.mux, id)}` : F.ERROR);
    };
    if (this.dnsFail.has(host.toLowerCase())) {
      this.after(this.delays.dnsFail, () => failed(true, `DNS failure for ${host}`));
      return;
    }
    if (t === "SSL" && d === "1.7" && this.sslSize < 4096) {
      this.after(this.delays.connect * 2, () => failed(false, "SSL handshake failed: AT+CIPSSLSIZE=4096 not set"));
      return;
    }
    const started = this.clock.now();
    const gen = this.gen;
    let settled = false;
    const timeout = this.after(this.delays.connectTimeout, () => {
      if (settled) return;
      settled = true;
      link.net?.close();
      failed(false, "connect timeout");
    });
    link.net = this.network.connect(
      { host, port, tls: t === "SSL", ...(t === "SSL" ? { verify: this.tlsVerify(host) } : {}) },
      {
        onConnect: () => {
          if (gen !== this.gen || settled || this.links[id] !== link) return;
          settled = true;
          timeout.cancel();
          this.at(started + this.delays.connect, () => {
            if (link.state !== "connecting") return;
            link.state = "open";
            this.emit({ type: "link", time: this.clock.now(), id, state: "open", detail: `${t} ${host}:${port}` });
            this.running = false;
            this.out(F.connectLine(this.mux, id) + F.OK);
            for (const early of link.early.splice(0)) this.netData(link, early);
            if (link.earlyClose !== undefined) this.linkDown(link, link.earlyClose);
          });
        },
        onData: (bytes) => {
          if (gen !== this.gen || this.links[id] !== link) return;
          if (link.state === "connecting") link.early.push(bytes.slice());
          else this.netData(link, bytes);
        },
        onClose: (error) => {
          if (gen !== this.gen || this.links[id] !== link) return;
          if (!settled) {
            settled = true;
            timeout.cancel();
            const dns = netErrorCode(error) === "dns-failed";
            this.at(started + (dns ? this.delays.dnsFail : this.delays.connect), () => failed(dns, error ?? "closed"));
            return;
          }
          const detail = error ? `peer: ${error}` : "closed by peer";
          if (link.state === "open") this.linkDown(link, detail);
          else if (link.state === "connecting") link.earlyClose = detail;
        },
      },
    );
  }

  /** How the next SSL link checks the server, from AT+CIPSSLCCONF, the names set and the flashed CA. */
  private tlsVerify(host: string): TlsVerify {
    const sni = this.sslSni ? { servername: this.sslSni } : {};
    if ((this.sslConf & 2) === 0) return { enabled: false, ...sni };
    return {
      enabled: true,
      ...sni,
      ...(this.caPem !== undefined ? { ca: this.caPem } : {}),
      ...(this.dialect === "2.x" ? { checkName: this.sslCn || host } : {}),
    };
  }

  /** AT+CIPSSLCSNI / AT+CIPSSLCCN (2.x): `="<name>"`, or `=<link>,"<name>"` with CIPMUX=1. */
  private sslName(name: string, kind: string, args: AtArg[] | undefined): void {
    if (this.dialect === "1.7") return this.finish(F.ERROR);
    const sni = name === "AT+CIPSSLCSNI";
    if (kind === "query") return this.finish(`${name.slice(2)}:0,"${sni ? this.sslSni : this.sslCn}"\r\n${F.OK}`);
    if (!args) return this.finish(F.ERROR);
    const a = this.mux && typeof args[0] === "number" ? args.slice(1) : args;
    const value = a[0];
    if (a.length !== 1 || typeof value !== "string" || value.length < 1 || value.length > 64) return this.finish(F.ERROR);
    if (sni) this.sslSni = value;
    else this.sslCn = value;
    return this.finish(F.OK);
  }

  private linkDown(link: Link, detail: string): void {
    link.state = "closed";
    this.hadLinkClosed = true;
    this.emit({ type: "link", time: this.clock.now(), id: link.id, state: "closed", detail });
    if (this.input === "passthrough" && link.id === 0) {
      this.redial(link);
      return;
    }
    this.out(F.closedLine(this.mux, link.id));
    // Passive data already buffered stays readable until the next CIPSTART on this id.
    if (link.rxLength === 0 && !link.held.length && this.links[link.id] === link) this.links[link.id] = undefined;
  }

  /** Passthrough: the module keeps redialling silently until `+++`. */
  private redial(link: Link): void {
    this.after(this.delays.passthroughRedial, () => {
      if (this.input !== "passthrough" || this.links[0] !== link || link.state === "open") return;
      if (this.wifi !== "got-ip") return this.redial(link);
      const gen = this.gen;
      link.net = this.network.connect(
        { host: link.host, port: link.port, tls: link.type === "SSL", ...(link.type === "SSL" ? { verify: this.tlsVerify(link.host) } : {}) },
        {
          onConnect: () => {
            if (gen !== this.gen || this.links[0] !== link) return;
            link.state = "open";
            this.emit({ type: "link", time: this.clock.now(), id: 0, state: "open", detail: "redialled" });
          },
          onData: (bytes) => {
            if (gen === this.gen && this.links[0] === link) this.netData(link, bytes);
          },
          onClose: () => {
            if (gen !== this.gen || this.links[0] !== link) return;
            link.state = "closed";
            this.redial(link);
          },
        },
      );
    });
  }

  private netData(link: Link, bytes: Uint8Array): void {
    if (this.hung) return;
    this.stats.fromNet += bytes.length;
    if (this.input === "passthrough" && link.id === 0) {
      this.out(bytes.slice());
      return;
    }
    // 1.7's passive mode covers TCP only: SSL data still comes as +IPD.
    if (this.recvMode === 1 && !(this.dialect === "1.7" && link.type === "SSL")) {
      link.held.push(bytes.slice());
      this.admit(link);
      return;
    }
    for (let o = 0; o < bytes.length; o += SEGMENT) this.ipd(link, bytes.subarray(o, Math.min(bytes.length, o + SEGMENT)));
  }

  private ipd(link: Link, data: Uint8Array): void {
    const remote = this.dinfo ? { ip: link.net?.remoteAddress ?? link.host, port: link.port } : undefined;
    this.out(concat(enc(F.ipdHeader(this.mux, link.id, data.length, remote)), data, enc(F.ipdTail(this.dialect))));
  }

  /**
   * Passive mode: moves bytes waiting in TCP into the module's buffer as far as it has room (the
   * TCP window), notifies when armed, and stops reading the socket while bytes are held back.
   */
  private admit(link: Link): void {
    let room = this.passiveLimit - link.rxLength;
    let moved = 0;
    while (room > 0 && link.held.length) {
      const head = link.held[0];
      const take = Math.min(room, head.length);
      link.rx.push(head.subarray(0, take));
      if (take === head.length) link.held.shift();
      else link.held[0] = head.subarray(take);
      link.rxLength += take;
      room -= take;
      moved += take;
    }
    if (link.held.length && !link.paused) {
      link.paused = true;
      link.net?.pause?.();
    } else if (!link.held.length && link.paused) {
      link.paused = false;
      link.net?.resume?.();
    }
    if (moved > 0 && link.notifyArmed) {
      link.notifyArmed = false;
      this.out(F.ipdNotice(this.mux, link.id, link.rxLength));
    }
  }

  /** Leaving passive mode hands what is buffered (and held back) over as +IPD. */
  private drainPassiveAsIpd(link: Link): void {
    for (const h of link.held.splice(0)) {
      link.rx.push(h);
      link.rxLength += h.length;
    }
    if (link.paused) {
      link.paused = false;
      link.net?.resume?.();
    }
    const all = this.takePassive(link, link.rxLength);
    for (let o = 0; o < all.length; o += SEGMENT) this.ipd(link, all.subarray(o, Math.min(all.length, o + SEGMENT)));
  }

  private takePassive(link: Link, n: number): Uint8Array {
    const out = new Uint8Array(Math.min(n, link.rxLength));
    let o = 0;
    while (o < out.length) {
      const head = link.rx[0];
      const take = Math.min(head.length, out.length - o);
      out.set(head.subarray(0, take), o);
      o += take;
      if (take === head.length) link.rx.shift();
      else link.rx[0] = head.subarray(take);
    }
    link.rxLength -= out.length;
    return out;
  }

  private recvData(args: AtArg[] | undefined): void {
    if (!args || this.recvMode !== 1) return this.finish(F.ERROR);
    let id = 0;
    let a = args;
    if (this.mux) {
      if (typeof a[0] !== "number") return this.finish(F.ERROR);
      id = a[0];
      a = a.slice(1);
    }
    const n = a[0];
    if (a.length !== 1 || typeof n !== "number" || n < 1 || n > MAX_SEND) return this.finish(F.ERROR);
    const link = this.links[id];
    if (!link || link.rxLength === 0) return this.finish(F.ERROR);
    const data = this.takePassive(link, n);
    link.notifyArmed = true;
    if (link.state === "closed" && link.rxLength === 0 && !link.held.length && this.links[id] === link)
      this.links[id] = undefined;
    this.after(this.delays.command, () => {
      this.running = false;
      this.out(concat(enc(F.recvDataHeader(this.dialect, data.length)), data, enc(F.OK)));
      // The read reopened the window: what TCP held back comes in (and is announced) now.
      this.admit(link);
    });
  }

  private cipsend(kind: string, args: AtArg[] | undefined): void {
    const d = this.dialect;
    if (kind === "exec") {
      // Passthrough: AT+CIPMODE=1, then AT+CIPSEND with no length.
      const link = this.links[0];
      if (this.cipmode !== 1 || this.mux) return this.finish(F.ERROR);
      if (!link || link.state !== "open") return this.finish(F.errorWithText(d, "link is not valid"));
      this.input = "passthrough";
      this.pt.lastInput = this.clock.now();
      this.emit({ type: "mode", time: this.clock.now(), mode: "passthrough" });
      return this.finish(F.PASSTHROUGH_PROMPT);
    }
    if (!args || this.cipmode === 1) return this.finish(F.ERROR);
    let id = 0;
    let a = args;
    if (this.mux) {
      if (typeof a[0] !== "number") return this.finish(F.ERROR);
      id = a[0];
      a = a.slice(1);
    }
    const n = a[0];
    if (a.length !== 1 || typeof n !== "number") return this.finish(F.ERROR);
    const link = this.links[id];
    if (!link || link.state !== "open") return this.finish(F.errorWithText(d, "link is not valid"));
    if (n < 1 || n > MAX_SEND) return this.finish(F.ERROR);
    this.after(this.delays.command, () => {
      this.send = { link, need: n, got: [] };
      this.input = "data";
      this.running = false;
      this.emit({ type: "mode", time: this.clock.now(), mode: "data" });
      this.out(F.sendPrompt(d));
    });
  }

  private sendDataComplete(): void {
    const s = this.send!;
    this.send = undefined;
    this.input = "command";
    this.sending = true;
    this.stats.sends++;
    this.emit({ type: "mode", time: this.clock.now(), mode: "command" });
    this.out(`\r\nRecv ${s.need} bytes\r\n`);
    const forcedFail = this.failSends > 0;
    if (forcedFail) this.failSends--;
    // The data goes out over the air now; SEND OK comes with the TCP ACK, so it precedes any
    // answer the server makes to this data.
    this.after(this.delays.sendOk, () => {
      this.sending = false;
      const ok = !forcedFail && s.link.state === "open" && this.links[s.link.id] === s.link;
      if (ok) {
        this.stats.toNet += s.need;
        s.link.net?.write(Uint8Array.from(s.got));
      } else {
        this.stats.sendFails++;
      }
      this.out(ok ? "\r\nSEND OK\r\n" : forcedFail && this.strayOk ? "\r\nSEND FAIL\r\n\r\nSEND OK\r\n" : "\r\nSEND FAIL\r\n");
    });
  }

  private cipclose(kind: string, args: AtArg[] | undefined): void {
    const d = this.dialect;
    let id = 0;
    if (this.mux) {
      if (kind !== "set" || !args || typeof args[0] !== "number") return this.finish(F.ERROR);
      id = args[0];
      if (id === 5) {
        for (const l of this.links) if (l && l.state === "open") this.closeLink(l);
        return this.finish(F.OK);
      }
    } else if (kind !== "exec") {
      return this.finish(F.ERROR);
    }
    const link = this.links[id];
    if (!link || link.state !== "open") {
      if (link) this.links[id] = undefined;
      return this.finish(F.errorWithText(d, "UNLINK"));
    }
    this.closeLink(link);
    this.links[id] = undefined;
    this.finish(F.closedLine(this.mux, id) + F.OK);
  }

  private closeLink(link: Link): void {
    link.net?.close();
    link.state = "closed";
    this.hadLinkClosed = true;
    this.emit({ type: "link", time: this.clock.now(), id: link.id, state: "closed", detail: "closed by AT+CIPCLOSE" });
  }

  private cipstatus(): string {
    const open = this.links.filter((l): l is Link => l !== undefined && l.state === "open");
    const status = this.wifi !== "got-ip" ? 5 : open.length ? 3 : this.hadLinkClosed ? 4 : 2;
    let s = `STATUS:${status}\r\n`;
    for (const l of open) {
      const ip = l.net?.remoteAddress ?? l.host;
      s += `+CIPSTATUS:${l.id},"${l.type}","${ip}",${l.port},${l.localPort},0\r\n`;
    }
    return s + F.OK;
  }

  // ---------------------------------------------------------------- passthrough

  private passthroughInput(bytes: Uint8Array): void {
    const now = this.clock.now();
    const pt = this.pt;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      if (pt.pluses > 0) {
        if (b === PLUS && pt.pluses < 3 && now - pt.lastPlus < this.delays.plusGuard) {
          pt.pluses++;
          pt.lastPlus = now;
          continue;
        }
        this.abortPluses();
      }
      if (b === PLUS && now - pt.lastInput >= this.delays.plusGuard) {
        this.packAndSend();
        pt.pluses = 1;
        pt.lastPlus = now;
        pt.lastInput = now;
        continue;
      }
      pt.lastInput = now;
      pt.buf.push(b);
      if (pt.buf.length >= MAX_SEND) this.packAndSend();
    }
    pt.packTimer?.cancel();
    pt.packTimer = undefined;
    if (pt.buf.length) pt.packTimer = this.after(this.delays.passthroughPack, () => this.packAndSend());
    pt.guardTimer?.cancel();
    pt.guardTimer = undefined;
    if (pt.pluses > 0) {
      pt.guardTimer = this.after(this.delays.plusGuard, () => {
        pt.guardTimer = undefined;
        if (pt.pluses === 3) this.exitPassthrough();
        else this.abortPluses(true);
      });
    }
  }

  /** The pluses were data after all. */
  private abortPluses(flush = false): void {
    const pt = this.pt;
    for (let i = 0; i < pt.pluses; i++) pt.buf.push(PLUS);
    pt.pluses = 0;
    if (flush) this.packAndSend();
  }

  private packAndSend(): void {
    const pt = this.pt;
    pt.packTimer?.cancel();
    pt.packTimer = undefined;
    if (!pt.buf.length) return;
    const data = Uint8Array.from(pt.buf);
    pt.buf = [];
    const link = this.links[0];
    if (link && link.state === "open") {
      this.stats.toNet += data.length;
      link.net?.write(data);
    }
  }

  private exitPassthrough(): void {
    this.packAndSend();
    this.pt.pluses = 0;
    this.input = "command";
    this.deafUntil = this.clock.now() + this.delays.afterEscape;
    this.emit({ type: "mode", time: this.clock.now(), mode: "command" });
    const link = this.links[0];
    // A link that dropped while in passthrough is reported now that lines can be printed again.
    if (link && link.state !== "open") {
      link.net?.close();
      this.links[0] = undefined;
      this.out(F.closedLine(false, 0));
    }
  }

  // ---------------------------------------------------------------- output and scheduling

  private out(data: string | Uint8Array): void {
    if (this.hung || this.heldInReset || !this.powered) return;
    const bytes = typeof data === "string" ? enc(data) : data;
    this.stats.toMcu += bytes.length;
    this.port.write(bytes);
  }

  /** Ends the running command with `text` after the command latency. */
  private finish(text: string): void {
    this.after(this.delays.command, () => {
      this.running = false;
      this.out(text);
    });
  }

  /** Ends the running command with `text`, then runs `then`. */
  private later(text: string, then: () => void): void {
    this.after(this.delays.command, () => {
      this.running = false;
      this.out(text);
      then();
    });
  }

  /** Runs `fn` in `ms` unless the module has reset since. */
  private after(ms: number, fn: () => void): { cancel(): void } {
    const gen = this.gen;
    return this.clock.setTimeout(() => {
      if (gen === this.gen) fn();
    }, ms);
  }

  private at(time: number, fn: () => void): void {
    this.after(Math.max(0, time - this.clock.now()), fn);
  }

  /** Another listener beside `onEvent` (the bench watches an emulated chip's link through it). */
  listen(listener: (event: EmulatorEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: EmulatorEvent): void {
    this.onEvent?.(event);
    for (const listener of this.listeners) listener(event);
  }

  private fault(fault: string): void {
    this.emit({ type: "fault", time: this.clock.now(), fault });
  }
}

/** Command lines with secrets lose them: `AT+CWJAP="lab","***"`. */
export function redact(line: string): string {
  const m = /^(AT\+CW(?:JAP|SAP)(?:_CUR|_DEF)?=)(.*)$/i.exec(line);
  if (!m) return line;
  // Keep the SSID (first argument), hide everything after it.
  const first = /^"(?:[^"\\]|\\.)*"/.exec(m[2]);
  return `${m[1]}${first ? first[0] : ""},"***"`;
}

function bssid(i: number): string {
  return `c8:3a:35:0${i % 10}:5e:${(0x10 + i).toString(16)}`;
}

function sntpTime(wall: number): string {
  const t = new Date(wall < 0 ? 0 : wall);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number) => String(n).padStart(2, "0");
  return `${days[t.getUTCDay()]} ${months[t.getUTCMonth()]} ${p(t.getUTCDate())} ${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())} ${t.getUTCFullYear()}`;
}
