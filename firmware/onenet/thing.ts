/*
 * OneNET thing-model (物模型) topics: builders that write `$sys/{pid}/{device}/thing/...` into a caller's
 * buffer, and a matcher that classifies an incoming PUBLISH topic where it lies in the packet buffer.
 *
 * API:
 *   new ThingTopics(productId, deviceName)       once per device config (throws OneNetConfigError on bad ids)
 *     .prefix                                    bytes of "$sys/{pid}/{device}/thing/"
 *     .write(kind: FixedThingTopic, out, offset): number                       length, or THING_TOPIC_NO_ROOM
 *     .writeService(kind: ServiceThingTopic, id, idOffset, idLength, out, offset): number
 *                                                length, THING_TOPIC_NO_ROOM or THING_TOPIC_BAD_SERVICE_ID
 *     .writeWildcard(out, offset): number        "$sys/{pid}/{device}/thing/#", the one subscription needed
 *     .matchThingTopic(buf, offset, length): ThingTopicKind   sets .serviceIdOffset/.serviceIdLength
 *                                                for "service/invoke" and "service/invoke_reply" (else -1/0)
 *     .topicString(kind, serviceId?): string     host tools only
 *     .maxLength(serviceIdLength): number        longest topic this device can have
 * Nothing here allocates after construction (topic texts are bytes made at module load: on XS, reading
 * a string's characters allocates), and nothing throws after construction.
 *
 * Note the underscore in `set_reply`/`get_reply`/`invoke_reply` against the slash in `post/reply`:
 * OneNET's own naming, copied exactly.
 */
import { copyBytes, equalsBytes, utf8Bytes } from "../bytes.js";
import { validateDeviceName, validateProductId } from "./token.js";

export type FixedThingTopic =
  | "property/post"
  | "property/post/reply"
  | "event/post"
  | "event/post/reply"
  | "property/desired/get"
  | "property/desired/get/reply"
  | "property/desired/delete"
  | "property/desired/delete/reply"
  | "property/set"
  | "property/set_reply"
  | "property/get"
  | "property/get_reply";
export type ServiceThingTopic = "service/invoke" | "service/invoke_reply";
export type ThingTopicKind = FixedThingTopic | ServiceThingTopic | "unknown";

/** The kinds a device receives (the matcher's useful answers). */
export type IncomingThingTopic =
  | "property/post/reply"
  | "event/post/reply"
  | "property/desired/get/reply"
  | "property/desired/delete/reply"
  | "property/set"
  | "property/get"
  | "service/invoke";

export const THING_TOPIC_NO_ROOM = -1;
export const THING_TOPIC_BAD_SERVICE_ID = -2;

/**
 * Every fixed suffix; longer ones that share a beginning need no ordering since matches are exact.
 * The tables are frozen: Moddable keeps frozen tables in flash instead of copying them to RAM.
 */
export const FIXED_THING_TOPICS: readonly FixedThingTopic[] = Object.freeze([
  "property/post",
  "property/post/reply",
  "event/post",
  "event/post/reply",
  "property/desired/get",
  "property/desired/get/reply",
  "property/desired/delete",
  "property/desired/delete/reply",
  "property/set",
  "property/set_reply",
  "property/get",
  "property/get_reply",
] as const);

const SUFFIXES: readonly Uint8Array[] = Object.freeze(FIXED_THING_TOPICS.map(utf8Bytes));
const SERVICE = utf8Bytes("service/");
const INVOKE = utf8Bytes("/invoke");
const INVOKE_REPLY = utf8Bytes("/invoke_reply");
const LONGEST_FIXED = utf8Bytes("property/desired/delete/reply").length;

function suffixOf(kind: FixedThingTopic): Uint8Array | null {
  for (let k = 0; k < FIXED_THING_TOPICS.length; k++) if (FIXED_THING_TOPICS[k] === kind) return SUFFIXES[k];
  return null;
}

function bytesToText(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** A service identifier must be one topic level: no separators, wildcards, controls or spaces. */
function badServiceIdByte(c: number): boolean {
  return c <= 0x20 || c === 0x2f || c === 0x2b || c === 0x23 || c === 0x7f;
}

export class ThingTopics {
  readonly prefix: Uint8Array;
  serviceIdOffset = -1;
  serviceIdLength = 0;

  constructor(productId: string, deviceName: string) {
    validateProductId(productId);
    validateDeviceName(deviceName);
    this.prefix = utf8Bytes(`$sys/${productId}/${deviceName}/thing/`);
  }

  maxLength(serviceIdLength = 0): number {
    return this.prefix.length + Math.max(LONGEST_FIXED, SERVICE.length + serviceIdLength + INVOKE_REPLY.length);
  }

  write(kind: FixedThingTopic, out: Uint8Array, offset: number): number {
    const suffix = suffixOf(kind);
    if (suffix === null) return THING_TOPIC_NO_ROOM;
    const n = this.prefix.length + suffix.length;
    if (offset < 0 || offset + n > out.length) return THING_TOPIC_NO_ROOM;
    copyBytes(out, copyBytes(out, offset, this.prefix, 0, this.prefix.length), suffix, 0, suffix.length);
    return n;
  }

  writeService(kind: ServiceThingTopic, id: Uint8Array, idOffset: number, idLength: number, out: Uint8Array, offset: number): number {
    if (idLength <= 0 || idOffset < 0 || idOffset + idLength > id.length) return THING_TOPIC_BAD_SERVICE_ID;
    for (let i = idOffset; i < idOffset + idLength; i++) if (badServiceIdByte(id[i])) return THING_TOPIC_BAD_SERVICE_ID;
    const tail = kind === "service/invoke" ? INVOKE : INVOKE_REPLY;
    const n = this.prefix.length + SERVICE.length + idLength + tail.length;
    if (offset < 0 || offset + n > out.length) return THING_TOPIC_NO_ROOM;
    const o = copyBytes(out, copyBytes(out, offset, this.prefix, 0, this.prefix.length), SERVICE, 0, SERVICE.length);
    // copyWithin-safe even if `id` is `out` (a reply topic built in the buffer that holds the request).
    if (id === out) out.copyWithin(o, idOffset, idOffset + idLength);
    else for (let i = 0; i < idLength; i++) out[o + i] = id[idOffset + i];
    copyBytes(out, o + idLength, tail, 0, tail.length);
    return n;
  }

  writeWildcard(out: Uint8Array, offset: number): number {
    const n = this.prefix.length + 1;
    if (offset < 0 || offset + n > out.length) return THING_TOPIC_NO_ROOM;
    copyBytes(out, offset, this.prefix, 0, this.prefix.length);
    out[offset + n - 1] = 0x23;
    return n;
  }

  matchThingTopic(buf: Uint8Array, offset: number, length: number): ThingTopicKind {
    this.serviceIdOffset = -1;
    this.serviceIdLength = 0;
    const prefix = this.prefix;
    if (offset < 0 || length < prefix.length || offset + length > buf.length) return "unknown";
    for (let i = 0; i < prefix.length; i++) if (buf[offset + i] !== prefix[i]) return "unknown";
    const rest = offset + prefix.length;
    const restLength = length - prefix.length;
    for (let k = 0; k < SUFFIXES.length; k++) if (equalsBytes(buf, rest, restLength, SUFFIXES[k])) return FIXED_THING_TOPICS[k];
    if (restLength <= SERVICE.length || !equalsBytes(buf, rest, SERVICE.length, SERVICE)) return "unknown";
    const idStart = rest + SERVICE.length;
    const end = offset + length;
    let idEnd = idStart;
    while (idEnd < end && buf[idEnd] !== 0x2f) {
      if (badServiceIdByte(buf[idEnd])) return "unknown";
      idEnd++;
    }
    if (idEnd === idStart) return "unknown";
    let kind: ThingTopicKind;
    if (equalsBytes(buf, idEnd, end - idEnd, INVOKE)) kind = "service/invoke";
    else if (equalsBytes(buf, idEnd, end - idEnd, INVOKE_REPLY)) kind = "service/invoke_reply";
    else return "unknown";
    this.serviceIdOffset = idStart;
    this.serviceIdLength = idEnd - idStart;
    return kind;
  }

  topicString(kind: Exclude<ThingTopicKind, "unknown">, serviceId = ""): string {
    const prefix = bytesToText(this.prefix);
    if (kind === "service/invoke" || kind === "service/invoke_reply") return `${prefix}service/${serviceId}/${kind === "service/invoke" ? "invoke" : "invoke_reply"}`;
    return prefix + kind;
  }
}
