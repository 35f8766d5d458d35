// OneNET thing-model topic rules, as the cloud enforces them.
//
// Public API:
//   type DevicePublishKind = "property/post" | "event/post" | "desired/get" | "desired/delete"
//                          | "set_reply" | "get_reply" | "invoke_reply"
//   thingPrefix(productId, deviceName): string                      "$sys/{pid}/{dev}/thing/"
//   classifyDevicePublish(topic, productId, deviceName): { kind, serviceId? } | undefined
//   replyTopicFor(kind, productId, deviceName): string | undefined   (cloud answers to post/desired topics)
//   subscriptionAllowed(filter, productId, deviceName): boolean      thing/ and ota/ topics (the SDK
//                                                                     subscribes thing/# and ota/#)
//   topicMatches(filter, topic): boolean                              MQTT wildcard match
export type DevicePublishKind =
  | "property/post"
  | "event/post"
  | "desired/get"
  | "desired/delete"
  | "set_reply"
  | "get_reply"
  | "invoke_reply"
  | "ota/inform_reply";

export function thingPrefix(productId: string, deviceName: string): string {
  return `$sys/${productId}/${deviceName}/thing/`;
}

/** OneNET's OTA topics, which its SDK subscribes as ota/# next to thing/#. */
export function otaPrefix(productId: string, deviceName: string): string {
  return `$sys/${productId}/${deviceName}/ota/`;
}

const FIXED: Record<string, DevicePublishKind> = {
  "property/post": "property/post",
  "event/post": "event/post",
  "property/desired/get": "desired/get",
  "property/desired/delete": "desired/delete",
  "property/set_reply": "set_reply",
  "property/get_reply": "get_reply",
};

/** What a device->cloud topic is, or undefined when the device may not publish there. */
export function classifyDevicePublish(
  topic: string,
  productId: string,
  deviceName: string,
): { kind: DevicePublishKind; serviceId?: string } | undefined {
  if (topic === otaPrefix(productId, deviceName) + "inform_reply") return { kind: "ota/inform_reply" };
  const prefix = thingPrefix(productId, deviceName);
  if (!topic.startsWith(prefix)) return undefined;
  const rest = topic.slice(prefix.length);
  const fixed = FIXED[rest];
  if (fixed) return { kind: fixed };
  const m = /^service\/([^/+#]+)\/invoke_reply$/.exec(rest);
  if (m) return { kind: "invoke_reply", serviceId: m[1]! };
  return undefined;
}

export function replyTopicFor(kind: DevicePublishKind, productId: string, deviceName: string): string | undefined {
  const prefix = thingPrefix(productId, deviceName);
  switch (kind) {
    case "property/post":
      return prefix + "property/post/reply";
    case "event/post":
      return prefix + "event/post/reply";
    case "desired/get":
      return prefix + "property/desired/get/reply";
    case "desired/delete":
      return prefix + "property/desired/delete/reply";
    default:
      return undefined;
  }
}

/** Every topic the cloud sends a device, after `thing/` (a service id stands for any). */
const DOWNLINK_TOPICS = [
  "property/set",
  "property/get",
  "property/post/reply",
  "event/post/reply",
  "property/desired/get/reply",
  "property/desired/delete/reply",
  "service/x/invoke",
];

/**
 * Only the device's own thing topics: a filter must be able to match something the cloud sends
 * (a misspelt topic is refused, not silently granted); `$sys/{pid}/{dev}/#` and wider are refused.
 */
export function subscriptionAllowed(filter: string, productId: string, deviceName: string): boolean {
  const ota = otaPrefix(productId, deviceName);
  if (filter.startsWith(ota)) return wellFormed(filter.slice(ota.length).split("/")) && topicMatches(filter.slice(ota.length), "inform");
  const prefix = thingPrefix(productId, deviceName);
  if (!filter.startsWith(prefix)) return false;
  const rest = filter.slice(prefix.length);
  if (rest.length === 0) return false;
  const levels = rest.split("/");
  if (!wellFormed(levels)) return false;
  // Any service id stands where the samples say "x".
  const sample = levels[0] === "service" && levels.length > 1 && levels[1] !== "+" && levels[1] !== "#" ? ["service", "x", ...levels.slice(2)].join("/") : rest;
  return DOWNLINK_TOPICS.some((topic) => topicMatches(sample, topic));
}

/** `#` only as the last level, `+` only as a whole level. */
function wellFormed(levels: string[]): boolean {
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level === "#") {
      if (i !== levels.length - 1) return false;
    } else if (level.includes("#") || (level.includes("+") && level !== "+")) {
      return false;
    }
  }
  return true;
}

export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === "#") return true;
    if (i >= t.length) return false;
    if (level !== "+" && level !== t[i]) return false;
  }
  return f.length === t.length;
}
