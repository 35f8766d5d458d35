/*
 * Fixed stores for the session's unacknowledged packets, all allocated at start-up:
 * - InflightStore: outbound QoS 1/2 PUBLISHes, each encoded once into its own slot so it can be
 *   resent (with DUP) after a reconnect or a retransmission timeout without the caller's buffers,
 *   and the packet-id pool that never hands out 0 or an id still in flight.
 * - IdSet: inbound QoS 2 packet ids awaiting PUBREL, so a redelivered PUBLISH is acknowledged
 *   again but not handed to the application twice.
 */

/**
 * What a slot holds, named as coreMQTT names its publish states. The QoS is in the state: a QoS 1
 * message waits for PUBACK, a QoS 2 one for PUBREC, then (its PUBREL being what is resent) PUBCOMP.
 */
export type SlotState = "free" | "puback-pending" | "pubrec-pending" | "pubcomp-pending";

/** The acknowledgements that move a slot. */
export type SlotEvent = "puback" | "pubrec" | "pubcomp";

/**
 * The one transition function: the state `event` leads to from `state`, or null when the event
 * does not belong to that state (an ack for nothing we have in flight: ignored). A PUBREC again
 * after the PUBREL went out keeps the slot where it is (the PUBREL is sent again).
 */
export function nextSlotState(state: SlotState, event: SlotEvent): SlotState | null {
  switch (event) {
    case "puback":
      return state === "puback-pending" ? "free" : null;
    case "pubrec":
      return state === "pubrec-pending" || state === "pubcomp-pending" ? "pubcomp-pending" : null;
    case "pubcomp":
      return state === "pubcomp-pending" ? "free" : null;
  }
}

export class InflightSlot {
  state: SlotState = "free";
  packetId = 0;
  qos = 0;
  /** Acceptance order, so queued messages go out in the order the application gave them. */
  seq = 0;
  /** When handed to the transport on the current link; -1 when not (yet) sent on it. */
  sentAt = -1;
  /** Sent at least once on any link: every later copy carries DUP. */
  everSent = false;
  /** Encoded PUBLISH length in `bytes`. */
  length = 0;

  constructor(readonly bytes: Uint8Array) {}
}

export class InflightStore {
  readonly slots: InflightSlot[];
  private seq = 0;
  private nextId = 1;

  constructor(count: number, readonly slotSize: number) {
    // One block for all slots: a single allocation, views handed out once.
    const pool = new Uint8Array(count * slotSize);
    const slots: InflightSlot[] = [];
    for (let i = 0; i < count; i++) slots.push(new InflightSlot(pool.subarray(i * slotSize, (i + 1) * slotSize)));
    this.slots = slots;
  }

  get used(): number {
    let n = 0;
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) if (slots[i].state !== "free") n++;
    return n;
  }

  freeSlot(): InflightSlot | null {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) if (slots[i].state === "free") return slots[i];
    return null;
  }

  find(packetId: number): InflightSlot | null {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      if (slot.state !== "free" && slot.packetId === packetId) return slot;
    }
    return null;
  }

  /**
   * The next packet id in 1..65535 that no slot holds and that is not `alsoInUse` (the pending
   * SUBSCRIBE's id). Ids rotate rather than restart at 1 so a late ack for a released id is
   * unlikely to match a new message.
   */
  allocateId(alsoInUse: number): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = id === 65535 ? 1 : id + 1;
      if (id !== alsoInUse && this.find(id) === null) return id;
    }
  }

  claim(slot: InflightSlot, packetId: number, qos: number, length: number): void {
    slot.state = qos === 1 ? "puback-pending" : "pubrec-pending";
    slot.packetId = packetId;
    slot.qos = qos;
    slot.length = length;
    slot.seq = ++this.seq;
    slot.sentAt = -1;
    slot.everSent = false;
  }

  /**
   * Applies an acknowledgement to `slot` through nextSlotState; false (nothing changed) when it
   * does not belong there. A slot that becomes free is released; one that moves to
   * pubcomp-pending has its PUBREL (not sent yet on any link) go out next.
   */
  acknowledge(slot: InflightSlot, event: SlotEvent): boolean {
    const next = nextSlotState(slot.state, event);
    if (next === null) return false;
    if (next === "free") {
      this.release(slot);
      return true;
    }
    // From here the PUBREL is what is in flight; everSent now tracks it, not the PUBLISH.
    if (slot.state !== next) slot.everSent = false;
    slot.state = next;
    slot.sentAt = -1;
    return true;
  }

  release(slot: InflightSlot): void {
    slot.state = "free";
    slot.packetId = 0;
    slot.sentAt = -1;
    slot.everSent = false;
    slot.length = 0;
  }

  /** The link went down: nothing is in transit on the next one until resent. */
  markAllUnsent(): void {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) slots[i].sentAt = -1;
  }

  /** The oldest occupied slot not yet sent on the current link, or null. */
  oldestUnsent(): InflightSlot | null {
    let best: InflightSlot | null = null;
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const slot = slots[i];
      if (slot.state !== "free" && slot.sentAt < 0 && (best === null || slot.seq < best.seq)) best = slot;
    }
    return best;
  }
}

/** A fixed-capacity set of 16-bit ids. */
export class IdSet {
  private readonly ids: Uint16Array;
  private count = 0;

  constructor(capacity: number) {
    this.ids = new Uint16Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count === this.ids.length;
  }

  has(id: number): boolean {
    for (let i = 0; i < this.count; i++) if (this.ids[i] === id) return true;
    return false;
  }

  /** Adds `id`; false when the set is full (the id is then not recorded). */
  add(id: number): boolean {
    if (this.has(id)) return true;
    if (this.count === this.ids.length) return false;
    this.ids[this.count++] = id;
    return true;
  }

  remove(id: number): boolean {
    for (let i = 0; i < this.count; i++) {
      if (this.ids[i] === id) {
        this.ids[i] = this.ids[--this.count];
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.count = 0;
  }
}
