/*
 * How the session speaks to the application: every call into the handler goes through here, so a
 * handler that throws is caught, counted and reported (handler-failed) in one place, and errors
 * reach the log and the handler the same way. Details never carry the password.
 */
import type { Log } from "../board.js";
import type { ClientError, ClientState, ClientStats, MqttClientHandler, OfflineReason } from "./client-types.js";
import { errorName } from "./errors.js";

export class Reporter {
  constructor(
    private readonly handler: MqttClientHandler,
    private readonly log: Log,
    private readonly stats: ClientStats,
  ) {}

  /** Every state change (for link displays). */
  state(state: ClientState): void {
    const onStateChange = this.handler.onStateChange;
    if (!onStateChange) return;
    try {
      onStateChange.call(this.handler, state);
    } catch (error) {
      this.handlerFailed("onStateChange", error);
    }
  }

  error(code: ClientError, detail: string): void {
    this.log(code === "unexpected-packet" || code === "packet-dropped" ? "info" : "warn", `mqtt: ${code}: ${detail}`);
    try {
      this.handler.onError(code, detail);
    } catch (error) {
      this.handlerFailed("onError", error);
    }
  }

  online(): void {
    try {
      this.handler.onOnline();
    } catch (error) {
      this.handlerFailed("onOnline", error);
    }
  }

  offline(reason: OfflineReason, detail: string): void {
    try {
      this.handler.onOffline(reason, detail);
    } catch (error) {
      this.handlerFailed("onOffline", error);
    }
  }

  acked(packetId: number): void {
    const handler = this.handler;
    if (!handler.onPublishAcked) return;
    try {
      handler.onPublishAcked(packetId);
    } catch (error) {
      this.handlerFailed("onPublishAcked", error);
    }
  }

  handlerFailed(where: string, error: unknown): void {
    this.stats.handlerErrors++;
    const detail = `${where} threw: ${errorName(error)}`;
    this.log("error", `mqtt: handler-failed: ${detail}`);
    if (where === "onError") return; // reporting it through onError again could loop
    try {
      this.handler.onError("handler-failed", detail);
    } catch {
      // already logged
    }
  }

  /** A bug caught at the top of a callback. */
  internalError(error: unknown): string {
    const detail = errorName(error);
    this.log("error", `mqtt: internal-error: ${detail}`);
    try {
      this.handler.onError("internal-error", detail);
    } catch {
      // logged above
    }
    return detail;
  }
}
