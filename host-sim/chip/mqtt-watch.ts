/*
 * The MQTT session of a device we cannot look inside (the emulated chip runs a release image with
 * no console of ours), read off the module's TCP link: CONNECT, CONNACK, SUBACK, PUBLISH,
 * DISCONNECT, and the link's close. It gives the bench the same `online` and session states the
 * host-board firmware reports about itself.
 *
 *   const watch = new MqttWatch((state, detail) => ...);
 *   tappedNetwork.listen(watch);   // a NetTapListener
 *   watch.online, watch.stats.connects, watch.stats.connacks, watch.lastRefusal
 */
import type { ClientState } from "../../firmware/mqtt/client-types.js";
import { MqttFramer } from "../broker/tap.js";
import type { NetTapListener } from "../net-tap.js";

const CONNECT = 1;
const CONNACK = 2;
const PUBLISH = 3;
const SUBACK = 9;
const DISCONNECT = 14;

export interface WatchedPacket {
  direction: "up" | "down";
  type: number;
  /** PUBLISH: its topic. */
  topic?: string;
  /** CONNACK: the return code. */
  returnCode?: number;
}

export class MqttWatch implements NetTapListener {
  readonly stats = { connects: 0, connacks: 0, refusals: 0, subacks: 0, publishesUp: 0, publishesDown: 0, disconnects: 0, links: 0 };
  /** The last CONNACK refusal code (1..5), if any. */
  lastRefusal: number | undefined;
  /** The link carrying the session (the last one opened). */
  private linkId = 0;
  private framers = new Map<number, { up: MqttFramer; down: MqttFramer }>();
  private currentState: ClientState = "stopped";

  constructor(
    private readonly onState?: (state: ClientState, detail: string) => void,
    private readonly onPacket?: (packet: WatchedPacket) => void,
  ) {}

  get state(): ClientState {
    return this.currentState;
  }

  get online(): boolean {
    return this.currentState === "online";
  }

  open(id: number): void {
    this.linkId = id;
    this.stats.links++;
    this.framers.set(id, { up: new MqttFramer(), down: new MqttFramer() });
    this.setState("opening", "");
  }

  up(id: number, bytes: Uint8Array): void {
    for (const packet of this.framers.get(id)?.up.push(bytes) ?? []) this.packet(id, "up", packet);
  }

  down(id: number, bytes: Uint8Array): void {
    for (const packet of this.framers.get(id)?.down.push(bytes) ?? []) this.packet(id, "down", packet);
  }

  close(id: number, error?: string): void {
    this.framers.delete(id);
    if (id === this.linkId) this.setState("backoff", error ?? "link closed");
  }

  private packet(id: number, direction: "up" | "down", whole: Uint8Array): void {
    const type = whole[0] >> 4;
    let header = 1;
    while (header < whole.length && whole[header] & 0x80) header++;
    const body = whole.subarray(header + 1);
    const seen: WatchedPacket = { direction, type };
    if (direction === "up") {
      if (type === CONNECT) {
        this.stats.connects++;
        if (id === this.linkId) this.setState("connecting", "");
      } else if (type === PUBLISH) {
        this.stats.publishesUp++;
        seen.topic = topicOf(body);
      } else if (type === DISCONNECT) {
        this.stats.disconnects++;
        if (id === this.linkId) this.setState("closing", "DISCONNECT");
      }
    } else if (type === CONNACK && body.length >= 2) {
      seen.returnCode = body[1];
      if (body[1] === 0) {
        this.stats.connacks++;
        if (id === this.linkId) this.setState("subscribing", "");
      } else {
        this.stats.refusals++;
        this.lastRefusal = body[1];
        if (id === this.linkId) this.setState("closing", `CONNACK ${body[1]}`);
      }
    } else if (type === SUBACK) {
      this.stats.subacks++;
      if (id === this.linkId && this.currentState === "subscribing") this.setState("online", "");
    } else if (type === PUBLISH) {
      this.stats.publishesDown++;
      seen.topic = topicOf(body);
    }
    this.onPacket?.(seen);
  }

  private setState(state: ClientState, detail: string): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.onState?.(state, detail);
  }
}

function topicOf(body: Uint8Array): string | undefined {
  if (body.length < 2) return undefined;
  const length = (body[0] << 8) | body[1];
  if (body.length < 2 + length) return undefined;
  return new TextDecoder().decode(body.subarray(2, 2 + length));
}
