/*
 * The MQTT codec for host tools and tests: the firmware's client-role codec, plus what only the
 * host needs (the server role, topic helpers, one-line descriptions of the error codes, and the
 * firmware's byte and UTF-8 helpers under the names the codec's users know).
 */
export * from "../../firmware/mqtt/index.js";
export {
  MqttDecoder,
  ServerPacket,
  ServerPacket as DecodedPacket,
  encodeConnack,
  encodePingresp,
  encodeSuback,
  encodeUnsuback,
  filterIsValid,
  type DecoderOptions,
  type DecoderSink,
  type DecoderRole,
} from "./server-codec.js";
export * from "./topic.js";
export { describeMqttError } from "./describe.js";
export { UTF8_BAD, UTF8_HASH, UTF8_NULL, UTF8_PLUS, copyBytes, scanUtf8, utf8Length, writeAscii, writeUtf8 } from "../../firmware/bytes.js";
