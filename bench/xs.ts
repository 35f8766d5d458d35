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
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { encodePublish, newPublishFields } from "../firmware/mqtt/index.js";
import { Simulation } from "../host-sim/sim.js";
import { XsBoardHost, liveSlots } from "../host-sim/xs/board-host.js";
import { bundleForXs } from "../host-sim/xs/bundle.js";
import { type XsLedDevice, deviceBundle } from "../host-sim/xs/device.js";
import { benchMcConfig, xsDevice } from "../host-sim/xs/sim-device.js";
import { CMD_HEADER_BYTES } from "../host-sim/xs/protocol.js";
import { XsWorker } from "../host-sim/xs/worker.js";
import type { Board } from "../firmware/board.js";
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
interface HarnessCost {
  rows: BenchRow[];
  baseline: number;
  perEvent: number;
  perRequest: number;
  perEventSlots: number;
  perRequestSlots: number;
}

function harnessRows(): HarnessCost {
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
    liveSlots(worker);
    const event = worker.command(header).meter;
    const perEvent = event.compute;
    const perEventSlots = event.currentHeapCount - liveSlots(worker);
    const loop = (n: number, body: string) =>
      worker.evaluate(`{ const b = xsHarness.board(); for (let i = 0; i < ${n}; i++) { ${body} } }`).meter.compute;
    const perRequest = (loop(1000, "b.random();") - loop(1000, "")) / 1000;
    // Reads carry bytes back: the costliest request, so the harness share below is an upper bound.
    const perRequestSlots = perOp(worker, (n) => `{ const b = xsHarness.board(); for (let i = 0; i < ${n}; i++) b.random(); }`, 100).slots;
    const baseline = liveSlots(worker);
    return {
      baseline,
      perEvent,
      perRequest,
      perEventSlots,
      perRequestSlots,
      rows: [
        row("xsnap + harness alone: live heap slots", baseline, "slots", "subtract from the LED app's slot counts"),
        row("harness: one host event (command) in XS", perEvent, "compute", "subtract per UART/timer event"),
        row("harness: one synchronous request (serial read/write, random)", perRequest, "compute", "proxy round trip"),
        row("harness: slots allocated per host event", perEventSlots, "slots"),
        row("harness: slots allocated per synchronous request", perRequestSlots, "slots"),
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
  // Through the bench's events: the UART's own tap is the Simulation's (its runUntil needs it).
  sim.onEvent((event) => {
    if (event.type === "uart" && event.direction === "to-mcu") for (const b of event.bytes) bytes.push(b);
  });
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
      const lines = worker.evaluateJson<number>(`(xsHarness.state.${mode}.lines = 0, xsHarness.state.${mode}.run(1))`).value;
      const allocated = perOp(worker, (n) => `xsHarness.state.${mode}.run(${n})`, 5).slots;
      rows.push(row(`AT parser, slots allocated per line (${mode} receive)`, allocated / lines, "slots/line", `${lines} lines in the recording; garbage, not retained`));
      // The same stream through the whole driver (serial read, parser, line handling), per line.
      const lab = `xsHarness.state.driver_${mode}`;
      worker.evaluate(`${lab} = new xsHarness.modules.at.DriverLab("${Buffer.from(stream).toString("hex")}", 32, "${mode}")`);
      const driverRun = (n: number) => worker.evaluate(`${lab}.run(${n})`).meter.compute;
      driverRun(1);
      rows.push(row(`AT driver, per line received (${mode} receive: serial read, parser, line handling)`, (driverRun(20) - driverRun(0)) / (20 * lines), "compute/line", `the same recording, ${lines} lines; data bytes included`));
      rows.push(row(`AT driver, slots allocated per line (${mode} receive)`, perOp(worker, (n) => `${lab}.run(${n})`, 5).slots / lines, "slots/line"));
    }
  } finally {
    worker.close();
  }
  return rows;
}

interface SetFigures {
  perSet: number;
  firmwarePerSet: number;
  eventsPerSet: number;
  requestsPerSet: number;
  growth: number;
  churn: number[];
  churnFirmware: number[];
}

const N = 1000;

/**
 * Handles property/set commands end to end on a booted XS device: 50 for warm-up, then N measured
 * (compute, live growth after GC), then 20 measured one by one for allocation.
 */
async function measureSets(sim: Simulation<XsLedDevice>, device: XsLedDevice, harnessCost: HarnessCost): Promise<SetFigures> {
  const { perEvent, perRequest, perEventSlots, perRequestSlots } = harnessCost;
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
  await handle(N);
  const compute = device.worker.totalCompute - compute0 - perEvent; // minus the liveSlots command
  const events = stats.readable.count + stats.writable.count + stats.timer.count - events0;
  const requests = stats.requests - requests0;
  const steadyAfter = liveSlots(device.worker);
  // Allocation per set (churn, collected later): slots counted from a GC to the end of one set,
  // with no GC in between (a set where XS collected on its own is measured again).
  const churn: number[] = [];
  let last = 0;
  let collected = false;
  device.host.onCrank = (_kind, meter) => {
    if (meter.currentHeapCount < last) collected = true;
    last = meter.currentHeapCount;
  };
  const churnFirmware: number[] = [];
  for (let attempt = 0; churn.length < 20 && attempt < 40; attempt++) {
    const base = liveSlots(device.worker);
    last = base;
    collected = false;
    const e0 = stats.readable.count + stats.writable.count + stats.timer.count;
    const r0 = stats.requests;
    await handle(1);
    if (collected) continue;
    churn.push(last - base);
    const e = stats.readable.count + stats.writable.count + stats.timer.count - e0;
    churnFirmware.push(last - base - e * perEventSlots - (stats.requests - r0) * perRequestSlots);
  }
  device.host.onCrank = undefined;
  const harness = events * perEvent + requests * perRequest;
  return {
    perSet: compute / N,
    firmwarePerSet: (compute - harness) / N,
    eventsPerSet: events / N,
    requestsPerSet: requests / N,
    growth: steadyAfter - steadyBefore,
    churn,
    churnFirmware,
  };
}

/** Live slots with the device bundle evaluated but no LedDevice built: code, classes, prototypes. */
function bundleOnlySlots(): number {
  const worker = new XsWorker({ name: "bench-xs-bundle" });
  try {
    worker.evaluate(deviceBundle().code);
    return liveSlots(worker);
  } finally {
    worker.close();
  }
}

function mean(values: number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

function setRows(prefix: string, m: SetFigures): BenchRow[] {
  return [
    row(`${prefix}property/set end to end, total in XS`, m.perSet, "compute/set", `${m.eventsPerSet.toFixed(1)} host events, ${m.requestsPerSet.toFixed(1)} requests per set`),
    row(`${prefix}property/set end to end, firmware only (minus harness)`, m.firmwarePerSet, "compute/set", "harness share estimated from the harness rows"),
    row(`${prefix}property/set: live heap growth over ${N} (steady state, after GC)`, m.growth, "slots", "target 0"),
    row(
      `${prefix}property/set: slots allocated per set (garbage, harness included)`,
      mean(m.churn),
      "slots/set",
      `mean of ${m.churn.length} sets, min ${Math.min(...m.churn)}, max ${Math.max(...m.churn)}`,
    ),
    row(`${prefix}property/set: slots allocated per set by the firmware (minus harness)`, mean(m.churnFirmware), "slots/set", "harness share estimated from its allocation per event and request"),
  ];
}

async function deviceRows(harnessCost: HarnessCost, baseline: number): Promise<BenchRow[]> {
  const codeSlots = bundleOnlySlots();
  // No observer: the firmware runs as on a board, paying for no host hooks.
  const sim = await Simulation.create({ wallClockStart: WALL, seed: 11 }, xsDevice({ observe: false, bundle: deviceBundle() }));
  const device = sim.device;
  try {
    const loaded = liveSlots(device.worker);
    sim.start();
    const booted = await sim.runUntil(() => sim.ledOn === false && sim.deviceMessages.some((m) => m.kind === "property/post"), 120_000);
    if (!booted) throw new Error("bench: the XS device did not come online");
    await sim.runFor(2_000);
    const afterBoot = liveSlots(device.worker);

    const m = await measureSets(sim, device, harnessCost);
    if (sim.clock.errors.length) throw new Error(`bench: firmware errors: ${sim.clock.errors.map(String).join("; ")}`);
    return [
      row("LED app: live heap slots after loading (bundle + LedDevice)", loaded, "slots", "xsnap's own baseline included"),
      row("  of which the firmware's code (modules, classes, prototypes)", codeSlots - baseline, "slots", "in flash when preloaded on a device"),
      row("  of which the LedDevice instance (objects built at start-up)", loaded - codeSlots, "slots", "RAM on a device; buffers are chunks, not slots"),
      row("LED app: live heap slots after boot (online, state posted)", afterBoot, "slots"),
      ...setRows("", m),
    ];
  } finally {
    await sim.close();
  }
}

const ENTRY_CONFIG = benchMcConfig({ uartPort: "1", uartReceive: "16", uartTransmit: "17", ledPin: "2", rstPin: "5" });

/** The same through the Moddable entry (firmware/main.ts and the ECMA-419 adapter, see host-sim/xs/labs/entry). */
/** The firmware booted through the Moddable entry in XS, online with its state posted. */
async function bootEntry(): Promise<Simulation<XsLedDevice>> {
  const sim = await Simulation.create({ wallClockStart: WALL, seed: 11 }, xsDevice({ entry: { config: ENTRY_CONFIG, pins: { led: 2, reset: 5 } } }));
  sim.start();
  const booted = await sim.runUntil(() => sim.deviceMessages.some((m) => m.kind === "property/post"), 120_000);
  if (!booted) {
    await sim.close();
    throw new Error("bench: the Moddable entry did not come online in XS");
  }
  return sim;
}

async function entryRows(harnessCost: HarnessCost): Promise<BenchRow[]> {
  const sim = await bootEntry();
  const device = sim.device;
  try {
    await sim.runFor(2_000);
    const m = await measureSets(sim, device, harnessCost);
    if (sim.clock.errors.length) throw new Error(`bench: firmware errors: ${sim.clock.errors.map(String).join("; ")}`);
    return setRows("Moddable entry (main.ts + ECMA-419 adapter): ", m);
  } finally {
    await sim.close();
  }
}

/**
 * How deep the receive path runs: the synchronous chain from the serial port's onReadable (the
 * ECMA-419 adapter's, as on a chip) down to Digital.write, in XS frames, over 10 sets through the
 * Moddable entry. Each frame holds its arguments, locals and a header on the XS stack.
 */
async function depthRows(): Promise<BenchRow[]> {
  const sim = await bootEntry();
  const device = sim.device;
  try {
    device.host.evaluateJson<string>("xsHarness.modules.entry.receiveDepth(true)");
    let on = false;
    for (let i = 0; i < 10; i++) {
      on = !on;
      const id = await sim.setLed(on);
      if (!(await sim.runUntil(() => sim.replyTo(id) !== undefined && sim.ledOn === on, 10_000))) throw new Error(`bench: set ${i} not handled`);
    }
    const depth = JSON.parse(device.host.evaluateJson<string>("xsHarness.modules.entry.receiveDepth(false)")) as { deepest: number; frames: string };
    const names = depth.frames
      .split("\n")
      .map((line) => line.trim().replace(/^at /, "").replace(/ \(.*$/, ""))
      .reverse()
      .join(" > ");
    return [row("receive path: frames from the serial adapter's onReadable to Digital.write (property/set)", depth.deepest, "frames", names)];
  } finally {
    await sim.close();
  }
}

/** Compute and slots allocated (not retained: no GC in between) per operation, from two evaluations. */
function perOp(worker: XsWorker, code: (n: number) => string, n: number): { compute: number; slots: number } {
  worker.evaluate(code(1));
  liveSlots(worker);
  const a = worker.evaluate(code(0)).meter;
  liveSlots(worker);
  const b = worker.evaluate(code(n)).meter;
  // The second evaluation starts one slot higher: xsnap retains one per evaluation.
  return { compute: (b.compute - a.compute) / n, slots: (b.currentHeapCount - a.currentHeapCount - 1) / n };
}

function hexPublish(topic: string, payload: string): string {
  const buf = new Uint8Array(512);
  const f = newPublishFields();
  f.topic = topic;
  f.payload = payload;
  return Buffer.from(buf.subarray(0, encodePublish(buf, 0, f))).toString("hex");
}

/** Moddable's mqtt.js from a local SDK ($MODDABLE, or $MODDABLE_MQTT_JS for the file itself). */
function moddableMqttPath(): string | undefined {
  const file = process.env.MODDABLE_MQTT_JS ?? (process.env.MODDABLE ? join(process.env.MODDABLE, "modules/network/mqtt/mqtt.js") : undefined);
  return file && existsSync(file) ? file : undefined;
}

/** Ours beside Moddable's own MQTT client for the same packets, when a Moddable SDK is at hand. */
function peerRows(): BenchRow[] {
  const setTopic = "$sys/L14FCC38pq/test1/thing/property/set";
  const setPayload = '{"id":"42","version":"1.0","params":{"led":true}}';
  const postTopic = "$sys/L14FCC38pq/test1/thing/property/post";
  const postPayload = '{"id":"7","version":"1.0","params":{"led":{"value":true}}}';
  const packet = hexPublish(setTopic, setPayload);
  const N = 200;
  const ours = new XsWorker({ name: "bench-xs-ours" });
  let oursReceive: { compute: number; slots: number };
  let oursSend: { compute: number; slots: number };
  let oursSendStrings: { compute: number; slots: number };
  try {
    ours.evaluate(bundleForXs({ modules: { codec: "host-sim/xs/labs/codec.ts" } }).code);
    ours.evaluate(
      `xsHarness.state.rx = new xsHarness.modules.codec.ReceiveLoop("${packet}");` +
        `xsHarness.state.tx = new xsHarness.modules.codec.SendLoop(${JSON.stringify(postTopic)}, ${JSON.stringify(postPayload)}, true);` +
        `xsHarness.state.txs = new xsHarness.modules.codec.SendLoop(${JSON.stringify(postTopic)}, ${JSON.stringify(postPayload)}, false);`,
    );
    oursReceive = perOp(ours, (n) => `xsHarness.state.rx.run(${n})`, N);
    oursSend = perOp(ours, (n) => `xsHarness.state.tx.run(${n})`, N);
    oursSendStrings = perOp(ours, (n) => `xsHarness.state.txs.run(${n})`, N);
  } finally {
    ours.close();
  }
  const receiveName = "receive one property/set PUBLISH (to the app callback)";
  const sendName = "send one property/post PUBLISH (encode; ours from bytes, as the app does)";
  const stringRows = [
    row("send one PUBLISH, ours with topic and payload as strings", oursSendStrings.compute, "compute/packet", "XS allocates a wrapper per character read from a string"),
    row("send one PUBLISH, ours with strings: slots allocated", oursSendStrings.slots, "slots/packet"),
  ];
  const file = moddableMqttPath();
  if (!file) {
    const note = "Moddable peer skipped: set MODDABLE to a Moddable SDK checkout to measure its mqtt.js beside ours";
    return [
      row(`${receiveName}, ours`, oursReceive.compute, "compute/packet", note),
      row(`${receiveName}, ours: slots allocated`, oursReceive.slots, "slots/packet"),
      row(`${sendName}, ours`, oursSend.compute, "compute/packet"),
      row(`${sendName}, ours: slots allocated`, oursSend.slots, "slots/packet"),
      ...stringRows,
    ];
  }
  const shims = "host-sim/xs/labs/moddable";
  const peer = new XsWorker({ name: "bench-xs-moddable" });
  try {
    const bundle = bundleForXs({
      modules: { moddable: `${shims}/lab.ts` },
      allowedRoots: ["firmware", "host-sim/xs", dirname(file)],
      alias: {
        "moddable-mqtt": file,
        socket: `./${shims}/socket.ts`,
        timer: `./${shims}/timer.ts`,
        time: `./${shims}/time.ts`,
        websocket: `./${shims}/websocket.ts`,
      },
    });
    peer.evaluate(bundle.code);
    peer.evaluate(`xsHarness.state.m = new xsHarness.modules.moddable.ModdableLab("20020000"); xsHarness.state.m.prepare("${packet}");`);
    if (!peer.evaluateJson<boolean>("xsHarness.state.m.ready").value) throw new Error("bench: Moddable's client did not accept CONNACK");
    const receive = perOp(peer, (n) => `xsHarness.state.m.receive(${n})`, N);
    const received = peer.evaluateJson<number>("xsHarness.state.m.received").value;
    if (received < N) throw new Error("bench: Moddable's client did not deliver the PUBLISHes");
    const send = perOp(peer, (n) => `xsHarness.state.m.send(${JSON.stringify(postTopic)}, ${JSON.stringify(postPayload)}, ${n})`, N);
    const peerName = "Moddable mqtt.js";
    const withPeer = (name: string, value: number, unit: string, peerValue: number, note?: string): BenchRow => ({
      ...row(name, value, unit, note),
      peer: peerName,
      peer_value: Math.round(peerValue * 10) / 10,
    });
    return [
      withPeer(receiveName, oursReceive.compute, "compute/packet", receive.compute, "peer: socket read + parse + 0 ms Timer dispatch, JS string shims"),
      withPeer(`${receiveName}: slots allocated`, oursReceive.slots, "slots/packet", receive.slots),
      withPeer(sendName, oursSend.compute, "compute/packet", send.compute),
      withPeer(`${sendName}: slots allocated`, oursSend.slots, "slots/packet", send.slots, "peer's string conversions are JS shims here (native on a device)"),
      ...stringRows,
    ];
  } finally {
    peer.close();
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
      ...peerRows(),
      ...(await parserRows()),
      ...(await deviceRows(harness, harness.baseline)),
      ...(await entryRows(harness)),
      ...(await depthRows()),
    ];
  },
};
