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
 *   (describeMqttError, one line per code for tools, is host-sim/mqtt/describe.ts: no text on the chip)
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
 * Server-role decoding (CONNECT, SUBSCRIBE, UNSUBSCRIBE: host-sim/mqtt/server-codec.ts) adds:
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

/**
 * Thrown by the encoders (never by the decoder). The message is the code, never the data (host
 * tools describe a code with host-sim/mqtt/describe.ts).
 */
export class MqttError extends Error {
  readonly code: MqttErrorCode;
  constructor(code: MqttErrorCode) {
    super(code);
    this.name = "MqttError";
    this.code = code;
  }
}

/** A name for any thrown value that is safe to log: an encoder's code, or the error's class and message. */
export function errorName(error: unknown): string {
  if (error instanceof MqttError) return error.code;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return "non-error thrown";
}
