/*
 * The seam between the MQTT session and whatever carries its bytes: on the board, the ESP8266 AT
 * driver (firmware/at); in unit tests, a fake. The session never knows about AT commands; the
 * driver never parses MQTT.
 *
 * A link that goes down comes with two values: a reason (what happened to the link, for logs and
 * the application's offline report) and a cause (why, as precisely as the transport knows it).
 * The session picks its retry policy from the cause: causeClass() sorts causes into those a quick
 * retry can cure, those that need a long wait (credentials, a missing network) and those no
 * retry can cure until the configuration changes.
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

/** The named causes of a failed or lost link (the ESP8266 driver's AtError is this type). */
export type LinkCause =
  | "timeout" // a command got no final result in time
  | "module-not-responding" // three timeouts in a row, or no answer after reset
  | "module-reset" // the module rebooted (unsolicited `ready`)
  | "busy" // `busy p...` kept coming after every retry
  | "init-failed" // an init command answered ERROR
  | "config-invalid" // ssid/password/host unusable (too long, bad characters)
  | "wifi-timeout" // +CWJAP:1
  | "wifi-wrong-password" // +CWJAP:2
  | "wifi-ap-not-found" // +CWJAP:3
  | "wifi-connect-failed" // +CWJAP:4
  | "wifi-join-failed" // CWJAP failed without a code
  | "wifi-lost" // WIFI DISCONNECT while a link was wanted
  | "dns-failed" // DNS Fail (1.7)
  | "connect-refused" // ERROR then CLOSED on CIPSTART (1.7)
  | "no-ip" // no ip (1.7): WiFi has no address
  | "connect-failed" // CIPSTART ERROR without a reason (2.x prints none)
  | "connect-timeout" // CIPSTART got no answer
  | "tls-connect-failed" // an SSL CIPSTART failed: refused, or the handshake failed (with verification: a certificate the module's CA did not sign, or for another name)
  | "tls-server-name-unsupported" // tlsServerName and verification asked for, but AT+CIPSSLCCN answered ERROR: no link is tried
  | "tls-verify-unsupported" // verification asked for, but the module's AT firmware answered ERROR to AT+CIPSSLCCONF: no link is tried
  | "send-failed" // SEND FAIL, or ERROR after the data
  | "send-timeout" // no SEND OK / prompt in time
  | "link-invalid" // CIPSEND: link is not valid / ERROR
  | "closed-by-peer"; // CLOSED

/**
 * How a cause is retried:
 * - "transient": the link dropped or a step failed on the way; a quick retry usually works.
 * - "refused": the network or the server said no to who we are (wrong WiFi password, no such
 *   access point): retrying soon only hammers it. Wait long; the condition may change without us
 *   (the access point comes back, its password is changed back).
 * - "config": nothing the device can do by retrying (its WiFi settings cannot even be sent to the
 *   module): wait until the configuration changes.
 * A module whose AT firmware cannot verify TLS (tls-verify-unsupported, tls-server-name-unsupported)
 * is checked again at each open, locally and without a byte on the network: "transient", so a
 * module that is swapped or reflashed is found without a restart.
 */
export type CauseClass = "transient" | "refused" | "config";

export function causeClass(cause: LinkCause): CauseClass {
  switch (cause) {
    case "wifi-wrong-password":
    case "wifi-ap-not-found":
      return "refused";
    case "config-invalid":
      return "config";
    default:
      return "transient";
  }
}

export interface TransportEvents {
  /** The TCP (or SSL) link to the server is up: the session may send CONNECT. */
  onOpen(): void;
  /**
   * Bytes from the server, in order, exactly as sent. `bytes` is the driver's own buffer: valid
   * only during the call, copy what you need (the MQTT decoder frames into its own buffer).
   */
  onData(bytes: Uint8Array, offset: number, length: number): void;
  /**
   * The link is down (or could not be opened). `detail` is a human-readable cause without
   * secrets; `cause` the named one when the transport knows it (never for "closed-by-us").
   */
  onClose(reason: LinkDownReason, detail: string, cause?: LinkCause): void;
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
  /**
   * Optional. The session could not parse bytes it received: from `offset` on (a packet start no
   * server may send), `bytes[offset..offset+length)` are not its protocol. Called from inside
   * onData, with onData's own buffer. A transport whose data shares the wire with its module's
   * own messages (the ESP8266 in transparent mode) looks there for them; when it recognises one
   * it ends the link with that cause (onClose, before returning) and returns true. False: the
   * bytes mean nothing to it either, and the session treats them as its protocol's error.
   */
  unparsable?(bytes: Uint8Array, offset: number, length: number): boolean;
}
