/*
 * Named failures of the ESP8266 AT driver, one value per cause a user can act on (like coreMQTT's
 * status codes). `detail` strings built from these never contain the WiFi password.
 */

export type AtError =
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

/** +CWJAP:<code> to its name. */
export function cwjapError(code: number): AtError {
  switch (code) {
    case 1:
      return "wifi-timeout";
    case 2:
      return "wifi-wrong-password";
    case 3:
      return "wifi-ap-not-found";
    case 4:
      return "wifi-connect-failed";
    default:
      return "wifi-join-failed";
  }
}
