/*
 * The MQTT 3.1.1 codec in one import, client role (what the chip runs): constants, errors,
 * encoders and the streaming decoder. Each module's header documents its part of the API. Host
 * tools import host-sim/mqtt/index.ts, which adds the server role, topic helpers and descriptions.
 */
export * from "./constants.js";
export * from "./errors.js";
export * from "./encode.js";
export * from "./decode.js";
