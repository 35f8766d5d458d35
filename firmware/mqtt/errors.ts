/*
 * Every way an MQTT 3.1.1 packet can be wrong, as named values (the way FreeRTOS coreMQTT names its
 * statuses), so the session can pick a reaction and a log line can say exactly which rule broke.
 *
 * Public API (other modules code against this; keep it stable):
 *   type DecodeErrorCode   what MqttDecoder reports through DecoderSink.onError(code, fatal)
 *   type SessionCheckCode  what checkSuback() returns (rules that need the session's memory)
 *   type EncodeErrorCode   what the encoders throw, inside an MqttError
 *   type MqttErrorCode     any of the three
 *   class MqttError extends Error { readonly code: MqttErrorCode }   thrown by the encoders only
 *   describeMqttError(code): string   one line for logs and tools (never contains packet data)
 *
 * Codes map to the rules of shared/reference/mqtt-client-decoder-rules.md (rule number in brackets):
 *   [1]  remaining-length-too-long, remaining-length-not-minimal        (framing: fatal, decoder stops)
 *   [2]  packet-too-large                                                (drained, not fatal, in sync)
 *   [3]  reserved-packet-type (0, 15), forbidden-packet-type (wrong direction for the role)
 *   [4]  bad-flags
 *   [5]  bad-connack-length, bad-connack-flags, bad-connack-code, bad-connack-session-present
 *   [6]  bad-suback-length, packet-id-zero, bad-suback-code;
 *        suback-packet-id-mismatch, suback-count-mismatch (checkSuback, needs the session's memory)
 *   [7]  bad-ack-length, packet-id-zero, nonzero-remaining-length (PINGRESP, PINGREQ, DISCONNECT)
 *   [8]  bad-qos, topic-overflow, packet-id-zero, topic-has-wildcard, topic-has-null, invalid-utf8,
 *        topic-empty
 *   [9]  truncated-packet (MqttDecoder.end(): the link closed inside a packet)
 *   [10] encoder: string-too-long, remaining-length-too-large, buffer-too-small, and the rest below
 * Server-role decoding (CONNECT, SUBSCRIBE, UNSUBSCRIBE, for host tools and test brokers) adds:
 *   packet-too-short, trailing-bytes, no-topics, bad-topic-filter, bad-subscribe-qos,
 *   bad-protocol-name, bad-protocol-level, bad-connect-flags, string-has-null.
 */

export type DecodeErrorCode =
  | "remaining-length-too-long" // [1] a 4th length byte still has its continuation bit set
  | "remaining-length-not-minimal" // [1] e.g. 80 00: a longer encoding than the value needs
  | "packet-too-large" // [2] the whole packet does not fit the decoder's buffer: drained, dropped
  | "reserved-packet-type" // [3] type 0 or 15
  | "forbidden-packet-type" // [3] a type the peer must not send to this role
  | "bad-flags" // [4] fixed-header flags other than the ones the type requires (or DUP on QoS 0)
  | "bad-qos" // [8] PUBLISH with QoS 3
  | "bad-connack-length" // [5] CONNACK remaining length is not 2
  | "bad-connack-flags" // [5] acknowledge flags other than 0 or 1
  | "bad-connack-code" // [5] return code above 5
  | "bad-connack-session-present" // [5] session present with a refusal
  | "bad-suback-length" // [6] SUBACK remaining length below 3
  | "bad-suback-code" // [6] a code outside {0, 1, 2, 0x80}
  | "bad-ack-length" // [7] PUBACK/PUBREC/PUBREL/PUBCOMP/UNSUBACK remaining length is not 2
  | "nonzero-remaining-length" // [7] PINGRESP (PINGREQ, DISCONNECT) with a body
  | "packet-id-zero" // [6][7][8] packet identifier 0
  | "topic-overflow" // [8] the topic length runs past the end of the PUBLISH
  | "topic-empty" // [8] zero-length topic (or topic filter)
  | "topic-has-wildcard" // [8] + or # in a topic name
  | "topic-has-null" // [8] U+0000 in a topic name or filter
  | "invalid-utf8" // [8] a UTF-8 string field that is not well-formed UTF-8 (or encodes a surrogate)
  | "truncated-packet" // [9] the link ended inside a packet
  | "packet-too-short" // a field runs past the end of the packet
  | "trailing-bytes" // bytes left after the last field of a CONNECT
  | "no-topics" // SUBSCRIBE/UNSUBSCRIBE without a topic filter
  | "bad-topic-filter" // a + or # that is not a whole level, or # not last
  | "bad-subscribe-qos" // requested QoS byte above 2
  | "bad-protocol-name" // CONNECT protocol name is not "MQTT"
  | "bad-protocol-level" // CONNECT protocol level is not 4 (a server answers CONNACK 1, then closes)
  | "bad-connect-flags" // reserved bit, will QoS 3, will QoS/retain without will, password without user name
  | "string-has-null"; // U+0000 in a client id or user name

export type SessionCheckCode =
  | "not-suback" // checkSuback() was handed some other packet
  | "suback-packet-id-mismatch" // [6] not the packet id of the SUBSCRIBE in flight
  | "suback-count-mismatch"; // [6] not one code per topic filter requested

export type EncodeErrorCode =
  | "string-too-long" // [10] a string or binary field over 65,535 bytes
  | "remaining-length-too-large" // [10] the packet would exceed 268,435,455 bytes of remaining length
  | "buffer-too-small" // [10] the packet does not fit between offset and the end of the buffer
  | "qos-needs-packet-id" // [10] QoS 1/2 PUBLISH with packet id 0
  | "bad-packet-id" // not a whole number in 1..65535
  | "bad-qos" // not 0, 1 or 2
  | "dup-on-qos0" // MQTT-3.3.1-2: DUP must be 0 on QoS 0
  | "topic-has-wildcard" // [10] + or # in a topic name
  | "topic-empty"
  | "topic-has-null"
  | "string-has-null"
  | "invalid-utf8" // a lone UTF-16 surrogate: no UTF-8 encoding exists
  | "bad-topic-filter"
  | "no-topics" // SUBSCRIBE/UNSUBSCRIBE with count 0
  | "too-many-topics" // count larger than the fields' arrays
  | "bad-slice" // offset/length outside the Uint8Array given
  | "bad-keepalive" // not a whole number in 0..65535
  | "password-without-username" // MQTT-3.1.2-22
  | "empty-client-id-needs-clean-session" // MQTT-3.1.3-7
  | "bad-connack-code" // (encodeConnack, test brokers)
  | "bad-connack-session-present"
  | "bad-suback-code";

export type MqttErrorCode = DecodeErrorCode | SessionCheckCode | EncodeErrorCode;

// Frozen: Moddable keeps a frozen table in flash instead of copying it to RAM.
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

export function describeMqttError(code: MqttErrorCode): string {
  return descriptions[code] ?? code;
}

/** Thrown by the encoders (never by the decoder). The message names the rule, never the data. */
export class MqttError extends Error {
  readonly code: MqttErrorCode;
  constructor(code: MqttErrorCode) {
    super(`${code}: ${describeMqttError(code)}`);
    this.name = "MqttError";
    this.code = code;
  }
}
