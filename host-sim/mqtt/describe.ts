/*
 * One line per MQTT error code, for host tools and logs (the packet dissector, the fuzzer): the
 * chip reports codes only, so these texts stay off it.
 */
import type { MqttErrorCode } from "../../firmware/mqtt/index.js";

const descriptions: { readonly [code: string]: string } = Object.freeze({
  "remaining-length-too-long": "remaining length longer than 4 bytes (rule 1)",
  "remaining-length-not-minimal": "remaining length not in its shortest encoding (rule 1)",
  "packet-too-large": "packet larger than the decoder's buffer: dropped (rule 2)",
  "reserved-packet-type": "reserved packet type 0 or 15 (rule 3)",
  "forbidden-packet-type": "packet type the peer must not send in this direction (rule 3)",
  "bad-flags": "fixed-header flags not allowed for this packet type (rule 4)",
  "bad-qos": "QoS must be 0, 1 or 2 (rule 8)",
  "bad-connack-length": "CONNACK remaining length must be 2 (rule 5)",
  "bad-connack-flags": "CONNACK acknowledge flags must be 0 or 1 (rule 5)",
  "bad-connack-code": "CONNACK return code must be 0..5 (rule 5)",
  "bad-connack-session-present": "CONNACK session present with a non-zero return code (rule 5)",
  "bad-suback-length": "SUBACK remaining length must be at least 3 (rule 6)",
  "bad-suback-code": "SUBACK code must be 0, 1, 2 or 0x80 (rule 6)",
  "bad-ack-length": "acknowledgement remaining length must be 2 (rule 7)",
  "nonzero-remaining-length": "PINGREQ/PINGRESP/DISCONNECT must have remaining length 0 (rule 7)",
  "packet-id-zero": "packet identifier 0 is not allowed (rules 6, 7, 8)",
  "topic-overflow": "topic length runs past the end of the packet (rule 8)",
  "topic-empty": "zero-length topic (rule 8)",
  "topic-has-wildcard": "topic name contains + or # (rule 8)",
  "topic-has-null": "topic contains U+0000 (rule 8)",
  "invalid-utf8": "string is not well-formed UTF-8 (rule 8)",
  "truncated-packet": "link ended inside a packet (rule 9)",
  "packet-too-short": "a field runs past the end of the packet",
  "trailing-bytes": "bytes left after the last field",
  "no-topics": "SUBSCRIBE/UNSUBSCRIBE needs at least one topic filter",
  "bad-topic-filter": "topic filter wildcard not a whole level (or # not last)",
  "bad-subscribe-qos": "requested QoS must be 0, 1 or 2",
  "bad-protocol-name": "CONNECT protocol name must be MQTT",
  "bad-protocol-level": "CONNECT protocol level must be 4 (MQTT 3.1.1)",
  "bad-connect-flags": "CONNECT flags inconsistent or reserved bit set",
  "string-has-null": "string contains U+0000",
  "not-suback": "packet is not a SUBACK",
  "suback-packet-id-mismatch": "SUBACK packet id differs from the SUBSCRIBE's (rule 6)",
  "suback-count-mismatch": "SUBACK code count differs from the topics requested (rule 6)",
  "string-too-long": "string or binary field over 65,535 bytes (rule 10)",
  "remaining-length-too-large": "remaining length over 268,435,455 (rule 10)",
  "buffer-too-small": "packet does not fit in the buffer (rule 10)",
  "qos-needs-packet-id": "QoS 1 or 2 needs a packet identifier (rule 10)",
  "bad-packet-id": "packet identifier must be 1..65535",
  "dup-on-qos0": "DUP must be 0 on a QoS 0 PUBLISH",
  "too-many-topics": "count exceeds the topics given",
  "bad-slice": "offset/length outside the bytes given",
  "bad-keepalive": "keepalive must be 0..65535",
  "password-without-username": "a password needs a user name in MQTT 3.1.1",
  "empty-client-id-needs-clean-session": "an empty client id needs clean session",
});

/** One line for `code` (never contains packet data); the code itself when it has none. */
export function describeMqttError(code: MqttErrorCode): string {
  return descriptions[code] ?? code;
}
