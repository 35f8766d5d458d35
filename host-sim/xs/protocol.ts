/*
 * The byte protocol between the board proxy inside XS (board-proxy.ts) and the host in Node
 * (board-host.ts). Shared by both sides, so it holds only constants (it is bundled into XS).
 *
 * Node -> XS: one xsnap command per host event (handleCommand(ArrayBuffer)):
 *   [op u8][now f64][wallTime f64][operand u32]     (17 + 4 bytes, little-endian)
 * The header carries virtual time, so the proxy's clock never needs to ask Node for it.
 *
 * XS -> Node: records, in the order the firmware made the calls. One-way records (LED, timers,
 * log...) wait in a fixed outbox and travel with the next synchronous request (issueCommand) or as
 * the command's reply, so Node applies them in exactly the firmware's order, and a whole event's
 * worth of effects costs one pipe round trip. Serial bytes travel as raw bytes, never as JSON.
 */

/** Node -> XS command ops. */
export const CMD_READABLE = 1;
export const CMD_WRITABLE = 2;
export const CMD_TIMER = 3;
/** Collects garbage: the command's meter then reports live slots only (evaluations retain a slot each). */
export const CMD_GC = 4;
export const CMD_HEADER_BYTES = 21;

/** XS -> Node one-way records. */
export const REC_LED = 1; // [level u8]
export const REC_RESET = 2; // [level u8] the ESP8266 RST line
export const REC_TIMER_CREATE = 3; // [id u16]
export const REC_TIMER_SCHEDULE = 4; // [id u16][ms f64]
export const REC_TIMER_CANCEL = 5; // [id u16]
export const REC_LOG = 6; // [level u8][length u16][utf-8]
export const REC_SERIAL_OPEN = 7;
export const REC_ERROR = 8; // [length u16][utf-8]: a firmware callback threw
export const REC_EVENT = 9; // [length u16][utf-8]: xsHarness.emit() from test or harness code

/** XS -> Node synchronous requests: the last record of an issueCommand payload. */
export const REQ_FLUSH = 0x80; // reply: empty
export const REQ_READ = 0x81; // [max u32] reply: the bytes read
export const REQ_WRITE = 0x82; // [length u32][bytes] reply: [accepted u32]
export const REQ_WRITABLE = 0x83; // reply: [count u32]
export const REQ_RANDOM = 0x84; // reply: [value f64]

/** Log levels on the wire, in firmware/board.ts LogLevel order. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
