/*
 * The vocabulary between the ESP8266 link policy (link.ts) and the Transport facade (driver.ts):
 * the session's state as the policy sees it, the link statuses shown to users, the options and
 * counters the parts share. Types only, so neither file imports the other's code.
 */
import type { ReceiveMode } from "../config.js";
import type { LinkDownReason } from "../transport.js";
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

export interface LinkOptions {
  ssid: string;
  password: string;
  host: string;
  port: number;
  tls: boolean;
  tlsVerify?: boolean;
  tlsServerName?: string;
  receiveMode: ReceiveMode;
  rxChunkSize: number;
  trace?: (line: string) => void;
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
