/*
 * The vocabulary between the ESP8266 link policy (link.ts) and the Transport facade (driver.ts):
 * the session's state as the policy sees it, the link statuses shown to users, the options and
 * counters the parts share. Types only, so neither file imports the other's code.
 */
import type { ReceiveMode } from "../config.js";
import type { LinkDownReason } from "../transport.js";
import type { LinkParams } from "./commands.js";
import type { EngineStats } from "./engine.js";
import type { AtError } from "./errors.js";

export type LinkStatus =
  | "module-starting"
  | "module-ready"
  | "wifi-joining"
  | "wifi-up"
  | "wifi-down"
  | "link-opening"
  | "link-up"
  | "link-down";

export type SessionState = "idle" | "opening" | "open";

/** The link's settings, as the user gives them (Esp8266Options adds the driver's own). */
export interface LinkSettings extends LinkParams {
  ssid: string;
  password: string;
  host: string;
  port: number;
  tls: boolean;
  /**
   * TLS only: the module must verify the server's certificate with its flashed CA
   * (AT+CIPSSLCCONF=2). Default false here; DeviceConfig turns it on with TLS.
   */
  tlsVerify?: boolean;
  /**
   * TLS only, ESP-AT 2.x: the name sent as SNI (AT+CIPSSLCSNI) and checked in the certificate
   * (AT+CIPSSLCCN) instead of `host`. NonOS 1.7 has neither (it checks no name): unused there.
   */
  tlsServerName?: string;
  receiveMode: ReceiveMode;
  /** Optional command trace (commands written, CWJAP redacted). Costs a string per command. */
  trace?: (line: string) => void;
}

export interface LinkOptions extends LinkSettings {
  rxChunkSize: number;
}

export interface LinkStats extends EngineStats {
  moduleResets: number;
}

/** The Transport facade's side of a session, as the policy sees it. */
export interface LinkSession {
  readonly state: SessionState;
  /** close() was called and not yet reported. */
  readonly closeRequested: boolean;
  /** open() has been called at least once (before that a `ready` is just the boot). */
  readonly everOpened: boolean;
  opened(): void;
  /** Ends the session with onClose. `keep`: queued bytes are flushed before the link is closed. */
  ended(reason: LinkDownReason, error: AtError | undefined, detail: string, keep?: boolean): void;
  /** A failure with no session to end: kept as lastError. */
  noteError(error: AtError): void;
  status(status: LinkStatus, detail: string): void;
  /** Run the policy's service() from the event loop, soon. */
  kick(): void;
}
