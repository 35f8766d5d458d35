/*
 * The MQTT 3.1.1 codec in one import: constants, errors, encoders, the streaming decoder and the
 * topic helpers. Each module's header documents its part of the API.
 */
export * from "./constants.js";
export * from "./errors.js";
export * from "./encode.js";
export * from "./decode.js";
export * from "./topic.js";
export { copyBytes } from "./bytes.js";
export { utf8Length, writeUtf8, writeAscii, scanUtf8, utf8ToString, UTF8_BAD, UTF8_NULL, UTF8_PLUS, UTF8_HASH } from "./utf8.js";
