/*
 * What the module said while the command in flight ran: the reason lines that come before a
 * final ERROR/FAIL (+CWJAP:<n>, DNS Fail, no ip, ALREADY CONNECTED, ...), and counters. One object,
 * cleared for each command, so completing a command allocates nothing.
 */
export class AtResponse {
  cwjapCode = -1;
  version = -1;
  /** +CIPSSLCCONF:... answer to the query: the module's SSL client mode. */
  sslMode = -1;
  closed = false;
  alreadyConnected = false;
  dnsFail = false;
  noIp = false;
  linkInvalid = false;
  /** AT+CIPSEND=<n>: the chunk's n. */
  sendLength = 0;
  recvRequested = 0;
  recvGot = 0;
  /** UART bytes read when the command went out: unchanged at its timeout = the module was silent. */
  bytesAtStart = 0;
  busy = 0;

  clear(bytesRead: number): void {
    this.cwjapCode = -1;
    this.version = -1;
    this.sslMode = -1;
    this.closed = false;
    this.alreadyConnected = false;
    this.dnsFail = false;
    this.noIp = false;
    this.linkInvalid = false;
    this.sendLength = 0;
    this.recvRequested = 0;
    this.recvGot = 0;
    this.bytesAtStart = bytesRead;
    this.busy = 0;
  }
}
