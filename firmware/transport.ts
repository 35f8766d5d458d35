/*
 * The seam between the MQTT session and whatever carries its bytes: on the board, the ESP8266 AT
 * driver (firmware/at); in unit tests, a fake. The session never knows about AT commands; the
 * driver never parses MQTT.
 */

/** Why a link went down: each a named value, so the session can pick its retry policy. */
export type LinkDownReason =
  | "closed-by-peer" // CLOSED from the module: the server (or a NAT) closed the TCP link
  | "closed-by-us" // close() was called
  | "wifi-lost" // WIFI DISCONNECT while connected
  | "module-reset" // unsolicited `ready`: the module rebooted and forgot everything
  | "module-unresponsive" // three silent timeouts in a row
  | "send-failed" // SEND FAIL or ERROR on CIPSEND
  | "connect-failed" // CIPSTART failed (refused, DNS, no IP, timeout)
  | "wifi-join-failed"; // CWJAP failed (wrong password, AP not found, ...)

export interface TransportEvents {
  /** The TCP (or SSL) link to the server is up: the session may send CONNECT. */
  onOpen(): void;
  /**
   * Bytes from the server, in order, exactly as sent. `bytes` is the driver's own buffer: valid
   * only during the call, copy what you need (the MQTT decoder frames into its own buffer).
   */
  onData(bytes: Uint8Array, offset: number, length: number): void;
  /** The link is down (or could not be opened). `detail` is a human-readable cause without secrets. */
  onClose(reason: LinkDownReason, detail: string): void;
}

export interface Transport {
  /** Starts bringing the link up (module init, WiFi, TCP/SSL as needed); onOpen or onClose follows. */
  open(events: TransportEvents): void;
  /**
   * Queues `length` bytes for the server. The transport copies them (into its fixed TX buffer)
   * before returning, so the caller may reuse its buffer at once. Returns false, queuing nothing,
   * when the link is not up or the bytes do not fit in the free TX space: the caller decides.
   */
  send(bytes: Uint8Array, offset: number, length: number): boolean;
  /** Free space in the TX buffer now (for callers that want to check before encoding). */
  readonly sendSpace: number;
  /** Closes the link (onClose("closed-by-us") follows). */
  close(): void;
}
