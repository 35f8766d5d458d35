/*
 * The device's thing-model messages read off the wire, both ways, without a login on the broker:
 * what the simulator shows when the broker admits only the device (the real OneNET), so a set sent
 * from OneNET's own console still prints `cloud -> device property/set ...`.
 *
 *   const watch = new ThingWatch(productId, deviceName, (m) => ...);   // m: WireMessage
 *   tappedNetwork.listen(watch);          // a NetTapListener: the module's links (../net-tap.ts)
 *   watch.feedUp(bytes); watch.feedDown(bytes);   // or fed by hand: the MQTT byte streams of one link
 *   watch.reset();                        // a new link starts new streams
 *
 * Only PUBLISH packets on the device's own `$sys/{pid}/{dev}/thing/` topics are reported; the
 * CONNECT (and its token) is never looked at beyond its fixed header.
 */
import { MqttFramer } from "./broker/tap.js";
import { classifyDevicePublish, thingPrefix } from "./broker/topics.js";
import type { NetTapListener } from "./net-tap.js";

export interface WireMessage {
  /** up: device -> cloud; down: cloud -> device. */
  direction: "up" | "down";
  /** up: "property/post", "set_reply", ... (as the embedded broker names them); down: "property/set", "property/get", "service/invoke", "reply". */
  kind: string;
  topic: string;
  payload: string;
  json: unknown;
}

/** Topic and payload of a PUBLISH packet (whole, fixed header included), or undefined. */
export function publishOf(packet: Uint8Array): { topic: string; payload: Uint8Array } | undefined {
  if (packet.length < 2 || packet[0]! >> 4 !== 3) return undefined;
  let i = 1;
  while (i < packet.length && packet[i]! & 0x80) i++;
  i++;
  if (i + 2 > packet.length) return undefined;
  const topicLength = (packet[i]! << 8) | packet[i + 1]!;
  const topicStart = i + 2;
  let payloadStart = topicStart + topicLength;
  if ((packet[0]! & 0x06) !== 0) payloadStart += 2;
  if (payloadStart > packet.length) return undefined;
  const topic = new TextDecoder().decode(packet.subarray(topicStart, topicStart + topicLength));
  return { topic, payload: packet.subarray(payloadStart) };
}

function downKind(rest: string): string | undefined {
  if (rest === "property/set" || rest === "property/get") return rest;
  if (/^service\/[^/]+\/invoke$/.test(rest)) return "service/invoke";
  if (rest.endsWith("/reply")) return "reply";
  return undefined;
}

export class ThingWatch implements NetTapListener {
  private upFrames = new MqttFramer();
  private downFrames = new MqttFramer();
  private readonly prefix: string;
  /** The tapped link being read (the module has one at a time; the last one opened is the live one). */
  private linkId = -1;

  constructor(
    private readonly productId: string,
    private readonly deviceName: string,
    private readonly listener: (message: WireMessage) => void,
  ) {
    this.prefix = thingPrefix(productId, deviceName);
  }

  /** Bytes the device sent (fed by hand, e.g. read off a UART). */
  feedUp(bytes: Uint8Array): void {
    for (const packet of this.upFrames.push(bytes)) this.report("up", packet);
  }

  /** Bytes the device received. */
  feedDown(bytes: Uint8Array): void {
    for (const packet of this.downFrames.push(bytes)) this.report("down", packet);
  }

  /** A new link starts new byte streams. */
  reset(): void {
    this.upFrames = new MqttFramer();
    this.downFrames = new MqttFramer();
  }

  // NetTapListener: the tapped network's links.
  open(id: number): void {
    this.linkId = id;
    this.reset();
  }

  up(id: number, bytes: Uint8Array): void {
    if (id === this.linkId) this.feedUp(bytes);
  }

  down(id: number, bytes: Uint8Array): void {
    if (id === this.linkId) this.feedDown(bytes);
  }

  private report(direction: "up" | "down", packet: Uint8Array): void {
    const publish = publishOf(packet);
    if (!publish || !publish.topic.startsWith(this.prefix)) return;
    const kind =
      direction === "up"
        ? classifyDevicePublish(publish.topic, this.productId, this.deviceName)?.kind
        : downKind(publish.topic.slice(this.prefix.length));
    if (!kind) return;
    const payload = new TextDecoder().decode(publish.payload);
    let json: unknown;
    try {
      json = JSON.parse(payload);
    } catch {
      json = undefined;
    }
    try {
      this.listener({ direction, kind, topic: publish.topic, payload, json });
    } catch {
      // A display that fails must not cut the device's link.
    }
  }
}
