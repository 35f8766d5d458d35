/*
 * Named failures of the ESP8266 AT driver, one value per cause a user can act on (like coreMQTT's
 * status codes): the Transport seam's LinkCause, which reaches the session with every close.
 * `detail` strings built from these never contain the WiFi password.
 */
import type { LinkCause } from "../transport.js";

export type AtError = LinkCause;

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
