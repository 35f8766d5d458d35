/*
 * The byte formats that differ between the two AT firmware families, in one place, so a reader
 * can check them against ../shared/reference/esp-at.md line by line.
 */

export type Dialect = "1.7" | "2.x";

export const OK = "\r\nOK\r\n";
export const ERROR = "\r\nERROR\r\n";
export const FAIL = "\r\nFAIL\r\n";
export const READY = "\r\nready\r\n";

/** The prompt after AT+CIPSEND=<n>: 1.7 `OK` then `> `; 2.x `OK`, a blank line, `>`. */
export function sendPrompt(d: Dialect): string {
  return d === "1.7" ? "\r\nOK\r\n> " : "\r\nOK\r\n\r\n>";
}

/** The prompt entering passthrough (AT+CIPMODE=1, AT+CIPSEND): the same in both families. */
export const PASSTHROUGH_PROMPT = "\r\nOK\r\n\r\n>";

export function busy(kind: "p" | "s"): string {
  return `\r\nbusy ${kind}...\r\n`;
}

/**
 * Active-mode data header; 2.x also ends the data with \r\n (see ipdTail). With AT+CIPDINFO=1
 * the peer's address follows the length: `+IPD,<len>,<ip>,<port>:`.
 */
export function ipdHeader(mux: boolean, id: number, len: number, remote?: { ip: string; port: number }): string {
  const info = remote ? `,${remote.ip},${remote.port}` : "";
  return mux ? `\r\n+IPD,${id},${len}${info}:` : `\r\n+IPD,${len}${info}:`;
}

export function ipdTail(d: Dialect): string {
  return d === "2.x" ? "\r\n" : "";
}

/** Passive-mode notification: the total now buffered. */
export function ipdNotice(mux: boolean, id: number, total: number): string {
  return mux ? `\r\n+IPD,${id},${total}\r\n` : `\r\n+IPD,${total}\r\n`;
}

/** AT+CIPRECVDATA answer header; the data follows, then OK. */
export function recvDataHeader(d: Dialect, len: number): string {
  return d === "1.7" ? `\r\n+CIPRECVDATA,${len}:` : `+CIPRECVDATA:${len},`;
}

export function connectLine(mux: boolean, id: number): string {
  return mux ? `${id},CONNECT\r\n` : "CONNECT\r\n";
}

export function closedLine(mux: boolean, id: number): string {
  return mux ? `${id},CLOSED\r\n` : "CLOSED\r\n";
}

/** CWJAP failure: `+CWJAP:<code>` then FAIL (1.7) or ERROR (2.x). */
export function joinFailure(d: Dialect, code: number): string {
  return `+CWJAP:${code}\r\n${d === "1.7" ? FAIL : ERROR}`;
}

/** Errors that carry a text line before ERROR on 1.7 only (2.x sends the text to its log UART). */
export function errorWithText(d: Dialect, text: string): string {
  return d === "1.7" ? `${text}\r\n${ERROR}` : ERROR;
}

export const GMR: Record<Dialect, string[]> = {
  "1.7": [
    "AT version:1.7.4.0(May 11 2020 19:13:04)",
    "SDK version:3.0.4(9532ceb)",
    "compile time:May 27 2020 10:12:17",
    "Bin version(Wroom 02):1.7.4",
  ],
  "2.x": [
    "AT version:2.2.0.0-dev(ca41ec4 - ESP8266 - Sep 16 2020 11:28:17)",
    "SDK version:v3.4-rc1-16-g4e0c2c8b",
    "compile time(85a1cb0):Sep 17 2020 09:36:12",
    "Bin version:2.1.0(WROOM-02)",
  ],
};
