// OneNET's MQTT limits (its "limits" documentation pages), as numbers and checks the embedded broker
// applies, each with the reaction OneNET has to it:
//   - at most 3 logins per device in 5 s: the 4th is refused with a CONNACK error; more than 10 bans the
//     device for 5 minutes (CONNACK error meanwhile);
//   - subscriptions are granted at QoS 0 at most (what is delivered to a device is QoS 0);
//   - at most 8 filters in one SUBSCRIBE, 8 levels and 512 bytes per filter, 10 subscribed filters per
//     device: beyond, the SUBACK says 0x80 (failure) for the filter (for every filter of a SUBSCRIBE that
//     holds more than 8);
//   - at most 256 KB of payload in a PUBLISH: beyond, the link is closed.
//
// Public API: the constants below, and
//   filterProblem(filter): { limit, detail } | undefined    the level or length limit a filter breaks
//   countLogins(times, now): number                 logins in the window ending now (times pruned in place)
export const LOGIN_WINDOW_MS = 5_000;
/** Logins a device may make in LOGIN_WINDOW_MS; the next one is refused. */
export const LOGINS_PER_WINDOW = 3;
/** More logins than this in LOGIN_WINDOW_MS ban the device for BAN_MS. */
export const LOGIN_BAN_THRESHOLD = 10;
export const BAN_MS = 5 * 60_000;
export const MAX_GRANTED_QOS = 0;
export const MAX_FILTERS_PER_SUBSCRIBE = 8;
export const MAX_TOPIC_LEVELS = 8;
export const MAX_FILTER_BYTES = 512;
export const MAX_SUBSCRIPTIONS = 10;
export const MAX_PAYLOAD_BYTES = 256 * 1024;

export function filterProblem(filter: string): { limit: "topic-levels" | "filter-length"; detail: string } | undefined {
  const levels = filter.split("/").length;
  if (levels > MAX_TOPIC_LEVELS) return { limit: "topic-levels", detail: `${levels} topic levels, OneNET allows ${MAX_TOPIC_LEVELS}` };
  const bytes = Buffer.byteLength(filter, "utf8");
  if (bytes > MAX_FILTER_BYTES) return { limit: "filter-length", detail: `a ${bytes}-byte filter, OneNET allows ${MAX_FILTER_BYTES}` };
  return undefined;
}

/** Drops the login times older than the window and returns how many are left (the current one included). */
export function countLogins(times: number[], now: number): number {
  let keep = 0;
  for (const t of times) if (t > now - LOGIN_WINDOW_MS) times[keep++] = t;
  times.length = keep;
  return keep;
}
