/*
 * The AT commands the driver sends: their names, their text and how long each may take.
 * Text goes into the driver's one CommandBuffer (no string per command: AT+CIPSEND=<n> goes out
 * for every packet).
 */
import type { CommandBuffer } from "./command-buffer.js";

export type Cmd =
  | "none"
  | "rst"
  | "probe"
  | "ate0"
  | "gmr"
  | "sysstore"
  | "cwmode"
  | "cipmux"
  | "recvmode"
  | "cipmode"
  | "sslsize"
  | "sslquery"
  | "sslconf"
  | "sslsni"
  | "sslccn"
  | "sntp"
  | "cwjap"
  | "cipstart"
  | "cipclose"
  | "cipsend"
  | "passthrough"
  | "recvdata";

/** Milliseconds a command (or a wait) may take before it counts as timed out. */
// Frozen so a preloaded build keeps them in flash instead of copying them to RAM.
export const TIMEOUTS = Object.freeze({
  at: 2000,
  cwjap: 20000,
  // The module gives up on its own after ~10 s and says so: wait longer than that so its answer
  // (ERROR, CLOSED) is read here instead of completing the next command.
  cipstart: 15000,
  sendOk: 10000,
  prompt: 5000,
  ready: 10000,
  close: 5000,
  recvData: 5000,
} as const);

/** Start-up commands, in order; the driver skips those that do not apply (dialect, mode, TLS). */
export const INIT_ORDER: readonly Cmd[] = Object.freeze<Cmd[]>(["ate0", "gmr", "sysstore", "cwmode", "cipmux", "recvmode", "cipmode", "sslsize", "sslquery", "sslconf", "sslsni", "sslccn", "sntp"]);

export function timeoutOf(cmd: Cmd): number {
  switch (cmd) {
    case "cwjap":
      return TIMEOUTS.cwjap;
    case "cipstart":
      return TIMEOUTS.cipstart;
    case "cipclose":
      return TIMEOUTS.close;
    case "cipsend":
    case "passthrough":
      return TIMEOUTS.prompt;
    case "recvdata":
      return TIMEOUTS.recvData;
    default:
      return TIMEOUTS.at;
  }
}

export interface LinkParams {
  readonly ssid: string;
  readonly password: string;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly tlsVerify?: boolean;
  readonly tlsServerName?: string;
}

/** Appends the command line (with its \r\n). `n`: the length for CIPSEND and CIPRECVDATA. */
export function writeCommand(b: CommandBuffer, cmd: Cmd, p: LinkParams, n: number): void {
  switch (cmd) {
    case "rst":
      b.text("AT+RST");
      break;
    case "probe":
      b.text("AT");
      break;
    case "ate0":
      b.text("ATE0");
      break;
    case "gmr":
      b.text("AT+GMR");
      break;
    case "sysstore":
      b.text("AT+SYSSTORE=0");
      break;
    case "cwmode":
      b.text("AT+CWMODE=1");
      break;
    case "cipmux":
      b.text("AT+CIPMUX=0");
      break;
    case "recvmode":
      b.text("AT+CIPRECVMODE=1");
      break;
    case "cipmode":
      b.text("AT+CIPMODE=1");
      break;
    case "sslsize":
      b.text("AT+CIPSSLSIZE=4096");
      break;
    case "sslquery":
      b.text("AT+CIPSSLCCONF?");
      break;
    case "sslsni":
      // The name passed the config's host check: no quote, comma or backslash to escape.
      b.text('AT+CIPSSLCSNI="').text(p.tlsServerName ?? "").text('"');
      break;
    case "sslccn":
      b.text('AT+CIPSSLCCN="').text(p.tlsServerName ?? "").text('"');
      break;
    case "sntp":
      // Both families: enable, UTC, the firmware's default servers (cn.ntp.org.cn, ...).
      b.text("AT+CIPSNTPCFG=1,0");
      break;
    case "sslconf":
      // Both families: one argument in single-link mode. 2 = verify the server with the CA in
      // flash (2.x: auth_mode 2, pki/ca index 0; 1.7: bit 1 of <SSL mode>). 0 = no
      // verification: said explicitly, as both families may have kept an earlier 2 in flash.
      b.text(p.tlsVerify ? "AT+CIPSSLCCONF=2" : "AT+CIPSSLCCONF=0");
      break;
    case "cwjap":
      b.text('AT+CWJAP="').text(p.ssid, true).text('","').text(p.password, true).text('"');
      break;
    case "cipstart":
      b.text(p.tls ? 'AT+CIPSTART="SSL","' : 'AT+CIPSTART="TCP","');
      b.text(p.host).text('",').decimal(p.port);
      break;
    case "cipclose":
      b.text("AT+CIPCLOSE");
      break;
    case "cipsend":
      b.text("AT+CIPSEND=").decimal(n);
      break;
    case "passthrough":
      b.text("AT+CIPSEND");
      break;
    case "recvdata":
      b.text("AT+CIPRECVDATA=").decimal(n);
      break;
    case "none":
      return;
  }
  b.crlf();
}
