/*
 * The board seam: everything the firmware needs from the hardware, and nothing else.
 *
 * On a chip, `firmware/main` builds a Board from Moddable's ECMA-419 IO (`embedded:io/serial`,
 * `embedded:io/digital`) and `timer`. On a PC, `host-sim` builds one from a virtual UART, a virtual
 * LED and a virtual clock, so the very same firmware runs in tests days of virtual time in seconds.
 *
 * Rules for every implementation:
 * - Callbacks (onReadable, onWritable, timer callbacks) are never called re-entrantly from inside
 *   a call the firmware made (read, write, schedule): they come from the event loop, as on XS.
 * - Nothing here allocates per byte or per packet on the firmware's side: the firmware passes its
 *   own preallocated buffers in.
 */

/** Callbacks of the UART wired to the ESP8266, ECMA-419 style. */
export interface SerialHandlers {
  /** `count` bytes are waiting to be read. Read them with `read(view)` (never more than `count`). */
  onReadable(count: number): void;
  /** The transmit FIFO has room for `count` more bytes. */
  onWritable(count: number): void;
}

/** The UART wired to the ESP8266 (8N1, baud chosen by the board). */
export interface SerialPort {
  /**
   * Copies up to `view.length` waiting bytes into `view` (from its start) and returns how many.
   * Returns 0 when nothing waits: callers must tolerate it (some ports report readable and then
   * have nothing; Pico throws, ESP32 returns undefined: the board adapter hides both).
   */
  read(view: Uint8Array): number;
  /**
   * Queues `view` for transmission and returns how many bytes were accepted: never more than
   * the transmit FIFO has room for (real FIFOs hold ~128 bytes). The caller continues from
   * `onWritable` with the rest.
   */
  write(view: Uint8Array): number;
  /** Bytes the transmit FIFO can take right now. */
  readonly writable: number;
}

/** A digital output pin (the LED). Levels are electrical: polarity is the application's business. */
export interface DigitalOutput {
  write(level: 0 | 1): void;
}

/**
 * A one-shot timer created once at start-up and rescheduled as often as needed, so that
 * rescheduling allocates nothing (Moddable: `Timer.set` once, then `Timer.schedule`).
 */
export interface BoardTimer {
  /** (Re)arm: the callback runs once, `ms` from now. Re-arming an armed timer moves it. */
  schedule(ms: number): void;
  /** Disarm; harmless when not armed. */
  cancel(): void;
}

export interface Clock {
  /** Monotonic milliseconds since boot. Never goes back; not wall time. */
  now(): number;
  /** Creates a timer. Call at start-up, not per event. */
  createTimer(callback: () => void): BoardTimer;
  /**
   * Wall-clock milliseconds since the Unix epoch, or -1 when the board has no trustworthy time
   * (no RTC, no SNTP yet). Used for token expiry and OneJSON `time`.
   */
  wallTime(): number;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** Log sink. Callers must never pass secrets (WiFi password, device key, token). */
export type Log = (level: LogLevel, message: string) => void;

export interface Board {
  /** Opens the UART to the ESP8266. Called once. */
  openSerial(handlers: SerialHandlers): SerialPort;
  /** The LED's output pin. */
  readonly led: DigitalOutput;
  readonly clock: Clock;
  readonly log: Log;
  /** A number in [0, 1) for back-off jitter; host boards make it seeded and reproducible. */
  random(): number;
  /**
   * Optional hardware reset line of the ESP8266 (RST pin). `level` 0 holds it in reset.
   * Absent when RST is not wired: the driver then resets with AT+RST.
   */
  readonly moduleReset?: DigitalOutput;
}
