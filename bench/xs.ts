/*
 * The firmware measured inside Moddable's XS engine (xsnap-worker, @agoric/xsnap): XS metering
 * units ("compute") and heap slots, which are deterministic, so one run gives exact figures. Times
 * are not measured here (the worker runs XS on a PC; only counts transfer to the chip).
 *
 * Rows:
 * - bundle size of the firmware (firmware/app.ts and everything it imports, no harness);
 * - the harness's own cost per host event and per synchronous request (to read the rest against);
 * - MQTT codec: compute per PUBLISH round trip (encode + decode), live heap growth over 1,000;
 * - AT parser: compute per byte of recorded module output (active and passive receive);
 * - the LED application end to end (XsLedDevice in the Simulation, no observer, as on a board):
 *   live slots after loading and after boot, compute per property/set handled end to end (UART
 *   bytes in, LED switched, set_reply and property/post out, PUBACK in), and live heap growth over
 *   1,000 property/set in steady state after a GC.
 */
import { Simulation } from "../host-sim/sim.js";
import { XsBoardHost, liveSlots } from "../host-sim/xs/board-host.js";
import { bundleForXs } from "../host-sim/xs/bundle.js";
import { XsLedDevice, deviceBundle } from "../host-sim/xs/device.js";
import { CMD_HEADER_BYTES } from "../host-sim/xs/protocol.js";
import { XsWorker } from "../host-sim/xs/worker.js";
import type { LedDeviceObserver } from "../firmware/app.js";
import type { Board } from "../firmware/board.js";
import type { Layer, SimEvent } from "../host-sim/sim.js";
import type { BenchRow, BenchSuite } from "./measure.js";

const SUITE = "xs";
const WALL = 1_763_800_000_000;

function row(name: string, value: number, unit: string, note?: string): BenchRow {
  return { suite: SUITE, name, value: Math.round(value * 10) / 10, unit, ...(note ? { note } : {}) };
}

function bundleRows(): BenchRow[] {
  const plain = bundleForXs({ modules: { app: "firmware/app.ts" }, withoutHarness: true });
  const minified = bundleForXs({ modules: { app: "firmware/app.ts" }, withoutHarness: true, minify: true });
  return [
    row("firmware bundle (app + imports), esbuild", plain.bytes, "bytes", `${plain.inputs.length} modules`),
    row("firmware bundle, minified", minified.bytes, "bytes"),
  ];
}

/** What one empty host event and one synchronous request cost the harness inside XS. */
function harnessRows(): { rows: BenchRow[]; perEvent: number; perRequest: number } {
  const worker = new XsWorker({ name: "bench-xs-harness" });
  try {
    worker.evaluate(bundleForXs({ modules: {} }).code);
    const board: Board = {
      openSerial: () => ({ read: () => 0, write: (v) => v.length, writable: 128 }),
      led: { write() {} },
      clock: { now: () => 0, wallTime: () => -1, createTimer: () => ({ schedule() {}, cancel() {} }) },
      log: () => {},
      random: () => 0.5,
    };
    new XsBoardHost(worker, board);
    // An op the harness ignores: header decoding, time update, empty reply.
    const header = new Uint8Array(CMD_HEADER_BYTES);
    worker.command(header);
    const perEvent = worker.command(header).meter.compute;
    const loop = (n: number, body: string) =>
      worker.evaluate(`{ const b = xsHarness.board(); for (let i = 0; i < ${n}; i++) { ${body} } }`).meter.compute;
    const perRequest = (loop(1000, "b.random();") - loop(1000, "")) / 1000;
    const baseline = liveSlots(worker);
    return {
      perEvent,
      perRequest,
      rows: [
        row("xsnap + harness alone: live heap slots", baseline, "slots", "subtract from the LED app's slot counts"),
        row("harness: one host event (command) in XS", perEvent, "compute", "subtract per UART/timer event"),
        row("harness: one synchronous request (serial read/write, random)", perRequest, "compute", "proxy round trip"),
      ],
    };
  } finally {
    worker.close();
  }
}

function codecRows(): BenchRow[] {
  const worker = new XsWorker({ name: "bench-xs-codec" });
  try {
    worker.evaluate(bundleForXs({ modules: { codec: "host-sim/xs/labs/codec.ts" } }).code);
    const payload = '{"id":"123","version":"1.0","params":{"led":{"value":true,"time":1763800000000}}}';
    worker.evaluate(`xsHarness.state.rt = new xsHarness.modules.codec.RoundTrip("$sys/L14FCC38pq/test1/thing/property/post", ${JSON.stringify(payload)})`);
    const run = (n: number) => worker.evaluate(`xsHarness.state.rt.run(${n})`).meter.compute;
    run(10);
    const perRoundTrip = (run(1000) - run(0)) / 1000;
    const before = liveSlots(worker);
    run(1000);
    const growth = liveSlots(worker) - before - 1; // the evaluation itself retains one slot
    return [
      row("MQTT PUBLISH round trip (encode + decode, 84-byte payload)", perRoundTrip, "compute/round trip"),
      row("MQTT round trips: live heap growth over 1,000", growth, "slots"),
    ];
  } finally {
    worker.close();
  }
}

/** Records what the module sends the MCU during boot and a few sets, on Node. */
async function recordModuleOutput(receiveMode: "active" | "passive"): Promise<Uint8Array> {
  const sim = await Simulation.create({ receiveMode, wallClockStart: WALL, seed: 5 });
  const bytes: number[] = [];
  sim.uart.onTraffic = (direction, chunk) => {
    if (direction === "to-mcu") for (const b of chunk) bytes.push(b);
  };
  try {
    sim.start();
    if (!(await sim.runUntil(() => sim.online, 120_000))) throw new Error("bench: the board did not come online");
    for (const on of [true, false, true, false]) {
      const id = await sim.setLed(on);
      await sim.runUntil(() => sim.replyTo(id) !== undefined, 10_000);
    }
    await sim.runFor(1_000);
  } finally {
    await sim.close();
  }
  return Uint8Array.from(bytes);
}

async function parserRows(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const worker = new XsWorker({ name: "bench-xs-parser" });
  try {
    worker.evaluate(bundleForXs({ modules: { at: "host-sim/xs/labs/at.ts" } }).code);
    for (const mode of ["active", "passive"] as const) {
      const stream = await recordModuleOutput(mode);
      worker.evaluate(`xsHarness.state.${mode} = new xsHarness.modules.at.ParserLab("${Buffer.from(stream).toString("hex")}", 32)`);
      const run = (n: number) => worker.evaluate(`xsHarness.state.${mode}.run(${n})`).meter.compute;
      run(1);
      const perByte = (run(20) - run(0)) / (20 * stream.length);
      rows.push(row(`AT parser, per byte received (${mode} receive, 32-byte chunks)`, perByte, "compute/byte", `${stream.length}-byte recording: boot, 4 sets`));
    }
  } finally {
    worker.close();
  }
  return rows;
}

interface SimInternals {
  device: unknown;
  onLinkStatus(status: string, detail: string): void;
  setLayer(layer: Layer, state: string, detail: string): void;
  emit(event: SimEvent): void;
}

/** The Simulation with the XS device in place of the Node one (see test/xs/sim-xs.ts). */
function attachXs(sim: Simulation): XsLedDevice {
  const hostBoard = sim.board;
  const board: Board = {
    openSerial: (handlers) => sim.uart.mcu.open(handlers),
    led: hostBoard.led,
    clock: hostBoard.clock,
    log: hostBoard.log,
    random: hostBoard.random,
    moduleReset: hostBoard.moduleReset,
  };
  // No observer: the firmware runs as on a board, paying for no host hooks.
  const observer: LedDeviceObserver = {};
  const device = new XsLedDevice(board, sim.config, observer, { observe: false, bundle: deviceBundle() });
  (sim as unknown as SimInternals).device = device;
  return device;
}

async function deviceRows(perEvent: number, perRequest: number): Promise<BenchRow[]> {
  const sim = await Simulation.create({ wallClockStart: WALL, seed: 11 });
  const device = attachXs(sim);
  try {
    const loaded = liveSlots(device.worker);
    sim.start();
    const booted = await sim.runUntil(() => sim.ledOn === false && sim.deviceMessages.some((m) => m.kind === "property/post"), 120_000);
    if (!booted) throw new Error("bench: the XS device did not come online");
    await sim.runFor(2_000);
    const afterBoot = liveSlots(device.worker);

    let on = false;
    const handle = async (count: number) => {
      for (let i = 0; i < count; i++) {
        on = !on;
        const posts = sim.deviceMessages.length;
        const id = await sim.setLed(on);
        // Handled end to end: set_reply out, LED switched, property/post out and acknowledged.
        const done = await sim.runUntil(
          () => sim.replyTo(id) !== undefined && sim.ledOn === on && sim.deviceMessages.length >= posts + 2,
          10_000,
        );
        if (!done) throw new Error(`bench: set ${i} not handled`);
        await sim.runFor(50);
      }
    };
    await handle(50); // warm-up: every path taken at least once
    const steadyBefore = liveSlots(device.worker);
    const stats = device.host.stats;
    const compute0 = device.worker.totalCompute;
    const events0 = stats.readable.count + stats.writable.count + stats.timer.count;
    const requests0 = stats.requests;
    const N = 1000;
    await handle(N);
    const compute = device.worker.totalCompute - compute0 - perEvent; // minus the liveSlots command
    const events = stats.readable.count + stats.writable.count + stats.timer.count - events0;
    const requests = stats.requests - requests0;
    const steadyAfter = liveSlots(device.worker);
    const harness = events * perEvent + requests * perRequest;
    if (sim.clock.errors.length) throw new Error(`bench: firmware errors: ${sim.clock.errors.map(String).join("; ")}`);
    return [
      row("LED app: live heap slots after loading (bundle + LedDevice)", loaded, "slots", "xsnap's own baseline included"),
      row("LED app: live heap slots after boot (online, state posted)", afterBoot, "slots"),
      row("property/set end to end, total in XS", compute / N, "compute/set", `${(events / N).toFixed(1)} host events, ${(requests / N).toFixed(1)} requests per set`),
      row("property/set end to end, firmware only (minus harness)", (compute - harness) / N, "compute/set", "harness share estimated from the two harness rows"),
      row(`property/set: live heap growth over ${N} (steady state, after GC)`, steadyAfter - steadyBefore, "slots", "target 0"),
    ];
  } finally {
    await sim.close();
    device.close();
  }
}

export const suite: BenchSuite = {
  name: "Firmware on XS (xsnap metering: deterministic)",
  run: async () => {
    const harness = harnessRows();
    return [
      ...bundleRows(),
      ...harness.rows,
      ...codecRows(),
      ...(await parserRows()),
      ...(await deviceRows(harness.perEvent, harness.perRequest)),
    ];
  },
};
