/*
 * The streaming MQTT 3.1.1 decoder: frames packets by remaining length into ONE fixed buffer and
 * hands each complete packet over as typed fields, with offsets into that buffer instead of copies.
 *
 * Public API:
 *   class MqttDecoder {
 *     constructor(options?: { bufferSize?: number (default 1024, min 8) })
 *     readonly buffer: Uint8Array      the fixed buffer: a framed packet sits at 0, fixed header included
 *     readonly packet: DecodedPacket   the one packet object, reused for every packet
 *     readonly broken: boolean         a framing error happened: input is ignored until reset()
 *     readonly pending: boolean        in the middle of a packet
 *     feed(bytes, offset, length, sink: DecoderSink): void
 *     end(sink): void                  the link closed: reports truncated-packet if inside one, then resets
 *     reset(): void                    new connection: forgets any partial packet and any framing error
 *   }
 *   interface DecoderSink { onPacket(p: DecodedPacket): void; onError(code: DecodeErrorCode, fatal: boolean): void }
 *   class DecodedPacket (fields below; valid only during onPacket, offsets index decoder.buffer)
 *   checkSuback(p, expectedPacketId, expectedCount): SessionCheckCode | null
 *
 * The client role, the one the chip runs: it accepts what a server may send (CONNACK, PUBLISH, PUBACK,
 * PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGRESP). The server role (CONNECT, SUBSCRIBE, ...: test
 * brokers and host tools) extends this class in host-sim/mqtt/server-codec.ts.
 *
 * Errors (onError is called INSTEAD of onPacket for that packet):
 * - Framing errors (remaining-length-too-long, remaining-length-not-minimal): fatal=true, and the stream
 *   is out of sync, so the decoder ignores all input until reset().
 * - packet-too-large: fatal=false. The packet is drained (counted, never stored past the buffer) and
 *   dropped; the stream stays in sync and the next packet decodes normally. The header is checked
 *   first, so a too-large packet of a forbidden type reports the type error instead. For a PUBLISH,
 *   the decoder keeps the bytes that fit and reports once they are in (the rest is drained after):
 *   packet.qos/dup/retain are set, packet.packetId too when it lies in the kept bytes (else 0), and
 *   topicOffset/topicLength when the whole topic does (unvalidated: for logs). A session may
 *   acknowledge such a QoS 1/2 message so the server does not redeliver it forever. Other types
 *   are reported as soon as their fixed header is complete.
 * - Every other code is a protocol violation inside a correctly framed packet: fatal=true, meaning
 *   MQTT requires the receiver to close the network connection. The decoder itself stays in sync
 *   (the caller decides; a host tool may keep reading).
 * - truncated-packet (from end() only): fatal=false, the link is already gone.
 * During onError, packet.type/flags/remainingLength describe the offending packet as far as known
 * (remainingLength is -1 for framing errors).
 *
 * Guarantees: feed() never throws on any input bytes and never writes outside `buffer`; it allocates
 * nothing. If a sink callback calls reset() (e.g. to drop the connection), the rest of the chunk is
 * discarded. A sink callback that throws leaves the decoder consistent, positioned after that packet;
 * the exception propagates out of feed() and the rest of that chunk is not consumed.
 */
import { CONNACK, PINGRESP, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK, SUBSCRIBE, UNSUBACK, UNSUBSCRIBE } from "./constants.js";
import type { DecodeErrorCode, SessionCheckCode } from "./errors.js";
import { UTF8_BAD, UTF8_HASH, UTF8_NULL, UTF8_PLUS, copyBytes, scanUtf8 } from "../bytes.js";

export interface DecoderOptions {
  bufferSize?: number;
}

export interface DecoderSink {
  onPacket(p: DecodedPacket): void;
  onError(code: DecodeErrorCode, fatal: boolean): void;
}

/**
 * One decoded packet. The decoder reuses this object: read what you need during onPacket, copy
 * anything you keep. Fields that do not apply to the packet's type are 0 / false.
 */
export class DecodedPacket {
  /** The decoder's buffer: every *Offset indexes it. */
  readonly buffer: Uint8Array;
  /** 1..14 (constants.ts). */
  type = 0;
  /** Low 4 bits of the first byte. */
  flags = 0;
  /** Bytes of fixed header (1 + 1..4): the variable header starts at this offset. */
  headerLength = 0;
  remainingLength = 0;
  /** PUBLISH (QoS 1/2), PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK. */
  packetId = 0;
  /** PUBLISH flags. */
  qos = 0;
  dup = false;
  retain = false;
  /** PUBLISH topic name. */
  topicOffset = 0;
  topicLength = 0;
  /** PUBLISH: the application message. SUBACK: the return codes (one byte each). */
  payloadOffset = 0;
  payloadLength = 0;
  /** CONNACK. returnCode 1..5 is a refusal (a valid packet, not a decode error). */
  sessionPresent = false;
  returnCode = 0;
  constructor(buffer: Uint8Array) {
    this.buffer = buffer;
  }

  /** Whole packet length (fixed header included); the packet starts at buffer offset 0. */
  get packetLength(): number {
    return this.headerLength + this.remainingLength;
  }

  /** SUBACK: number of return codes. */
  get codeCount(): number {
    return this.type === SUBACK ? this.payloadLength : 0;
  }

  /** SUBACK: return code `i` (0, 1, 2 granted QoS; 0x80 failure). */
  code(i: number): number {
    return this.buffer[this.payloadOffset + i];
  }

  /** @internal Clears every field before the decoder fills it in (a subclass clears its own too). */
  clear(): void {
    this.packetId = 0;
    this.qos = 0;
    this.dup = false;
    this.retain = false;
    this.topicOffset = 0;
    this.topicLength = 0;
    this.payloadOffset = 0;
    this.payloadLength = 0;
    this.sessionPresent = false;
    this.returnCode = 0;
  }
}

/** Decoder errors found in a packet's fixed header: the bytes there cannot be MQTT at all. */
export function headerError(code: DecodeErrorCode): boolean {
  return (
    code === "reserved-packet-type" ||
    code === "forbidden-packet-type" ||
    code === "bad-flags" ||
    code === "bad-qos" ||
    code === "remaining-length-too-long" ||
    code === "remaining-length-not-minimal"
  );
}

/**
 * The SUBACK rules that need the session's memory (rule 6): the packet id of the SUBSCRIBE in
 * flight and one code per topic filter it carried. null when the SUBACK matches.
 */
export function checkSuback(p: DecodedPacket, expectedPacketId: number, expectedCount: number): SessionCheckCode | null {
  if (p.type !== SUBACK) return "not-suback";
  if (p.packetId !== expectedPacketId) return "suback-packet-id-mismatch";
  if (p.payloadLength !== expectedCount) return "suback-count-mismatch";
  return null;
}

/** Bit n set: packet type n may arrive at a client (what a server may send). */
export const CLIENT_ACCEPTS =
  (1 << CONNACK) | (1 << PUBLISH) | (1 << PUBACK) | (1 << PUBREC) | (1 << PUBREL) | (1 << PUBCOMP) | (1 << SUBACK) | (1 << UNSUBACK) | (1 << PINGRESP);

// Decoder states.
const HEADER = 0; // expecting the first byte of a packet
const LENGTH = 1; // inside the remaining-length bytes
const BODY = 2; // copying the body into the buffer
const DRAIN = 3; // skipping the body of a dropped packet
const BROKEN = 4; // framing lost: ignore everything until reset()

export class MqttDecoder {
  readonly buffer: Uint8Array;
  readonly packet: DecodedPacket;
  /** Bit n set: packet type n may arrive. */
  protected readonly accepts: number;
  private state = HEADER;
  private lengthBytes = 0;
  private multiplier = 1;
  private remaining = 0;
  /** Next write position in the buffer (BODY) or bytes left to skip (DRAIN). */
  private pos = 0;
  private bodyEnd = 0;
  /** Bytes of an oversized PUBLISH still to drain once its start is in the buffer. */
  private oversize = 0;
  private generation = 0;
  /**
   * Where the packet being decoded began in the bytes of the current feed() (the chunk's start
   * when it began in an earlier one): valid during onError, for a transport that wants to look at
   * bytes that cannot be MQTT (Transport.unparsable).
   */
  packetStart = 0;

  /** `accepts` and `packet` are for subclasses (host-sim's server role); the firmware takes the defaults. */
  constructor(options: DecoderOptions = {}, accepts = CLIENT_ACCEPTS, packet?: (buffer: Uint8Array) => DecodedPacket) {
    const size = options.bufferSize ?? 1024;
    if (!(size === Math.floor(size) && size >= 8)) throw new RangeError("MqttDecoder bufferSize must be a whole number >= 8");
    this.buffer = new Uint8Array(size);
    this.packet = packet ? packet(this.buffer) : new DecodedPacket(this.buffer);
    this.accepts = accepts;
  }

  get broken(): boolean {
    return this.state === BROKEN;
  }

  get pending(): boolean {
    return this.state !== HEADER && this.state !== BROKEN;
  }

  reset(): void {
    this.state = HEADER;
    this.oversize = 0;
    this.generation++;
  }

  end(sink: DecoderSink): void {
    const inside = this.pending;
    this.reset();
    if (inside) {
      this.packet.remainingLength = -1;
      sink.onError("truncated-packet", false);
    }
  }

  feed(bytes: Uint8Array, offset: number, length: number, sink: DecoderSink): void {
    // Clamp the range instead of trusting it: reading past `bytes` would only yield undefined,
    // but a negative or fractional offset must not turn into garbage packets.
    let i = offset > 0 ? Math.floor(offset) : 0;
    let stop = i + (length > 0 ? Math.floor(length) : 0);
    if (stop > bytes.length) stop = bytes.length;
    const generation = this.generation;
    const buf = this.buffer;
    this.packetStart = i;
    while (i < stop) {
      const state = this.state;
      if (state === BODY) {
        let n = this.bodyEnd - this.pos;
        if (n > stop - i) n = stop - i;
        const p = copyBytes(buf, this.pos, bytes, i, n);
        i += n;
        this.pos = p;
        if (p === this.bodyEnd) {
          if (this.oversize > 0) this.oversized(sink);
          else {
            // dispatch(), inlined: this call chain runs from a UART byte to the application.
            this.state = HEADER;
            const packet = this.packet;
            packet.clear();
            const error = this.parse(packet);
            if (error !== null) sink.onError(error, true);
            else sink.onPacket(packet);
          }
        }
      } else if (state === HEADER) {
        this.packetStart = i;
        const b = bytes[i++];
        buf[0] = b;
        this.packet.type = b >> 4;
        this.packet.flags = b & 15;
        this.lengthBytes = 0;
        this.multiplier = 1;
        this.remaining = 0;
        this.state = LENGTH;
      } else if (state === LENGTH) {
        const b = bytes[i++];
        buf[++this.lengthBytes] = b;
        this.remaining += (b & 127) * this.multiplier;
        this.multiplier *= 128;
        if (b & 128) {
          if (this.lengthBytes === 4) this.framingError("remaining-length-too-long", sink);
        } else if (b === 0 && this.lengthBytes > 1) this.framingError("remaining-length-not-minimal", sink);
        else this.headerDone(sink);
      } else if (state === DRAIN) {
        let n = this.pos;
        if (n > stop - i) n = stop - i;
        i += n;
        this.pos -= n;
        if (this.pos === 0) this.state = HEADER;
      } else return; // BROKEN
      if (this.generation !== generation) return; // the sink reset us: drop the rest of this chunk
    }
  }

  private framingError(code: DecodeErrorCode, sink: DecoderSink): void {
    this.state = BROKEN;
    this.packet.remainingLength = -1;
    sink.onError(code, true);
  }

  /** The fixed header is complete: check what it alone can tell, then store, drain or dispatch. */
  private headerDone(sink: DecoderSink): void {
    const p = this.packet;
    const rl = this.remaining;
    const headerLength = 1 + this.lengthBytes;
    p.headerLength = headerLength;
    p.remainingLength = rl;
    const type = p.type;
    const flags = p.flags;
    let error: DecodeErrorCode | null = null;
    if (type === 0 || type === 15) error = "reserved-packet-type";
    else if (!(this.accepts & (1 << type))) error = "forbidden-packet-type";
    else if (type === PUBLISH) {
      if ((flags & 6) === 6) error = "bad-qos";
      else if ((flags & 6) === 0 && flags & 8) error = "bad-flags"; // MQTT-3.3.1-2: no DUP on QoS 0
    } else if (flags !== (type === PUBREL || type === SUBSCRIBE || type === UNSUBSCRIBE ? 2 : 0)) error = "bad-flags";
    const tooLarge = headerLength + rl > this.buffer.length;
    if (error === null && tooLarge && type === PUBLISH) {
      // Keep what fits, so the report can say which message (QoS, packet id) was dropped: the
      // session may acknowledge it rather than have the server redeliver it forever.
      this.state = BODY;
      this.pos = headerLength;
      this.bodyEnd = this.buffer.length;
      this.oversize = headerLength + rl - this.buffer.length;
      return;
    }
    if (error !== null || tooLarge) {
      if (rl > 0) {
        this.state = DRAIN;
        this.pos = rl;
      } else this.state = HEADER;
      if (error !== null) sink.onError(error, true);
      else sink.onError("packet-too-large", false);
      return;
    }
    if (rl === 0) {
      this.state = HEADER;
      this.dispatch(sink);
      return;
    }
    this.state = BODY;
    this.pos = headerLength;
    this.bodyEnd = headerLength + rl;
  }

  /** The kept start of an oversized PUBLISH is in: describe it, report it, drain the rest. */
  private oversized(sink: DecoderSink): void {
    const p = this.packet;
    const b = this.buffer;
    p.clear();
    const flags = p.flags;
    p.qos = (flags >> 1) & 3;
    p.dup = (flags & 8) !== 0;
    p.retain = (flags & 1) !== 0;
    const s = p.headerLength;
    const tl = (b[s] << 8) | b[s + 1];
    const idAt = s + 2 + tl;
    if (idAt <= b.length) {
      p.topicOffset = s + 2;
      p.topicLength = tl;
    }
    if (p.qos !== 0 && idAt + 2 <= b.length) p.packetId = (b[idAt] << 8) | b[idAt + 1];
    this.state = DRAIN;
    this.pos = this.oversize;
    this.oversize = 0;
    sink.onError("packet-too-large", false);
  }

  /** A whole packet is in the buffer: validate it by type and hand it over. */
  private dispatch(sink: DecoderSink): void {
    const p = this.packet;
    p.clear();
    const error = this.parse(p);
    if (error !== null) sink.onError(error, true);
    else sink.onPacket(p);
  }

  /** Validates the packet in the buffer by type and fills `p`; null when it is valid. A subclass (host-sim's server role) adds types. */
  protected parse(p: DecodedPacket): DecodeErrorCode | null {
    const b = this.buffer;
    const s = p.headerLength;
    const rl = p.remainingLength;
    const e = s + rl;
    switch (p.type) {
      case PUBLISH: {
        const flags = p.flags;
        p.qos = (flags >> 1) & 3;
        p.dup = (flags & 8) !== 0;
        p.retain = (flags & 1) !== 0;
        if (rl < 2) return "topic-overflow";
        const tl = (b[s] << 8) | b[s + 1];
        let q = s + 2;
        if (q + tl > e) return "topic-overflow";
        if (tl === 0) return "topic-empty";
        const f = scanUtf8(b, q, tl);
        if (f & UTF8_BAD) return "invalid-utf8";
        if (f & UTF8_NULL) return "topic-has-null";
        if (f & (UTF8_PLUS | UTF8_HASH)) return "topic-has-wildcard";
        p.topicOffset = q;
        p.topicLength = tl;
        q += tl;
        if (p.qos !== 0) {
          if (q + 2 > e) return "packet-too-short";
          const id = (b[q] << 8) | b[q + 1];
          if (id === 0) return "packet-id-zero";
          p.packetId = id;
          q += 2;
        }
        p.payloadOffset = q;
        p.payloadLength = e - q;
        return null;
      }
      case CONNACK: {
        if (rl !== 2) return "bad-connack-length";
        const ack = b[s];
        const code = b[s + 1];
        if (ack > 1) return "bad-connack-flags";
        if (code > 5) return "bad-connack-code";
        if (ack === 1 && code !== 0) return "bad-connack-session-present";
        p.sessionPresent = ack === 1;
        p.returnCode = code;
        return null;
      }
      case PUBACK:
      case PUBREC:
      case PUBREL:
      case PUBCOMP:
      case UNSUBACK: {
        if (rl !== 2) return "bad-ack-length";
        const id = (b[s] << 8) | b[s + 1];
        if (id === 0) return "packet-id-zero";
        p.packetId = id;
        return null;
      }
      case SUBACK: {
        if (rl < 3) return "bad-suback-length";
        const id = (b[s] << 8) | b[s + 1];
        if (id === 0) return "packet-id-zero";
        for (let i = s + 2; i < e; i++) {
          const c = b[i];
          if (c > 2 && c !== 0x80) return "bad-suback-code";
        }
        p.packetId = id;
        p.payloadOffset = s + 2;
        p.payloadLength = rl - 2;
        return null;
      }
      case PINGRESP:
        return rl === 0 ? null : "nonzero-remaining-length";
    }
    return "reserved-packet-type"; // unreachable: the header check filtered the type
  }
}
