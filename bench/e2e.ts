/*
 * End-to-end figures of the LED firmware on the simulated bench (issue 4 and 5 benchmarks):
 * - board time from power-on to SUBACK (virtual time: 115200 baud, the emulator's module delays)
 *   and the AT commands on that path, per AT dialect and receive mode;
 * - UART bytes per property/set handled (set in, set_reply and property/post out, with every AT
 *   command and notification around them) against the minimum: the MQTT packets alone;
 * - our processing time from the last byte of a property/set reaching the MCU to the LED pin
 *   switching (the floor is zero: no wait, only our code), and the AT parser's time per byte.
 * Board-time figures are deterministic; CPU times are medians on this machine.
 */
import type { SerialHandlers } from "../firmware/board.js";
import { AtParser, type AtParserSink } from "../firmware/at/parser.js";
import type { Dialect } from "../host-sim/esp8266/emulator.js";
import { Simulation } from "../host-sim/sim.js";
import type { ReceiveMode } from "../firmware/config.js";
import type { BenchRow, BenchSuite } from "./measure.js";

const modes: [Dialect, ReceiveMode][] = [
  ["1.7", "active"],
  ["2.x", "active"],
  ["1.7", "passive"],
  ["2.x", "passive"],
  ["1.7", "transparent"],
  ["2.x", "transparent"],
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function bootFigures(dialect: Dialect, receiveMode: ReceiveMode): Promise<BenchRow[]> {
  const sim = await Simulation.create({ dialect, receiveMode });
  try {
    sim.start();
    const ok = await sim.runUntil(() => sim.online, 120_000);
    const commands = Object.values(sim.emulator.stats.commands).reduce((a, b) => a + b, 0);
    if (!ok) return [{ suite: "e2e", name: `power-on to SUBACK, AT ${dialect} ${receiveMode}`, value: Number.NaN, unit: "ms", note: "did not come online" }];
    const bootMs = sim.clock.now();
    const rows: BenchRow[] = [
      { suite: "e2e", name: `power-on to SUBACK, AT ${dialect} ${receiveMode}`, value: Math.round(bootMs), unit: "ms board time", note: `${commands} AT commands` },
    ];
    // UART bytes for one property/set round (set in; set_reply and property/post out).
    await sim.runFor(2_000);
    const rounds = 20;
    const before = { toModule: sim.uart.stats.toModule, toMcu: sim.uart.stats.toMcu };
    const mqttBefore = mqttBytes(sim);
    for (let i = 0; i < rounds; i++) {
      const id = await sim.setLed(i % 2 === 0);
      await sim.runUntil(() => sim.replyTo(id) !== undefined, 10_000);
      await sim.runFor(500);
    }
    const uartBytes = sim.uart.stats.toModule - before.toModule + (sim.uart.stats.toMcu - before.toMcu);
    const minimum = mqttBytes(sim) - mqttBefore;
    rows.push({
      suite: "e2e",
      name: `UART bytes per property/set round, AT ${dialect} ${receiveMode}`,
      value: Math.round(uartBytes / rounds),
      unit: "bytes",
      peer: "MQTT packets alone (minimum)",
      peer_value: Math.round(minimum / rounds),
    });
    return rows;
  } finally {
    await sim.close();
  }
}

/** Bytes of every MQTT packet both ways, as the broker saw them. */
function mqttBytes(sim: Simulation): number {
  let n = 0;
  for (const event of sim.broker!.history) if (event.type === "packet") n += event.bytes.length;
  return n;
}

/**
 * UART bytes (both directions, AT commands and notifications included) to carry one MQTT PUBLISH
 * with a 100-byte payload from the device to the server, and one from the server to the device,
 * against the PUBLISH packet alone.
 */
async function uartPerPublish(dialect: Dialect, receiveMode: ReceiveMode): Promise<BenchRow[]> {
  const sim = await Simulation.create({ dialect, receiveMode });
  try {
    sim.start();
    await sim.runUntil(() => sim.online, 120_000);
    await sim.runFor(5_000);
    const uartTotal = () => sim.uart.stats.toModule + sim.uart.stats.toMcu;
    const lastPacket = (dir: "in" | "out") => {
      for (let i = sim.broker!.history.length - 1; i >= 0; i--) {
        const e = sim.broker!.history[i];
        if (e.type === "packet" && e.dir === dir && e.cmd === "publish") return e.bytes.length;
      }
      return 0;
    };
    // Send: a device PUBLISH no broker answers (set_reply), QoS 0.
    const topic = sim.config.onenet;
    const payload = new Uint8Array(100).fill(0x61);
    let before = uartTotal();
    const sent = sim.device.client.publish(`$sys/${topic.productId}/${topic.deviceName}/thing/property/set_reply`, payload, 0, 100, 0);
    if (sent !== "sent") throw new Error(`publish: ${sent}`);
    await sim.runFor(1_000);
    const sendBytes = uartTotal() - before;
    const sendMinimum = lastPacket("in");
    // Receive: a 100-byte message the firmware reads and answers with nothing (a post/reply).
    const body = JSON.stringify({ id: "1", code: 200, msg: "" });
    const reply = new TextEncoder().encode(body.replace('"msg":""', `"msg":"${"x".repeat(100 - body.length)}"`));
    before = uartTotal();
    sim.broker!.publishRaw(topic.productId, topic.deviceName, "property/post/reply", reply);
    await sim.runFor(2_000);
    const receiveBytes = uartTotal() - before;
    const receiveMinimum = lastPacket("out");
    return [
      { suite: "e2e", name: `UART bytes, 100-byte PUBLISH sent, AT ${dialect} ${receiveMode}`, value: sendBytes, unit: "bytes", peer: "the PUBLISH alone", peer_value: sendMinimum },
      { suite: "e2e", name: `UART bytes, 100-byte PUBLISH received, AT ${dialect} ${receiveMode}`, value: receiveBytes, unit: "bytes", peer: "the PUBLISH alone", peer_value: receiveMinimum },
    ];
  } finally {
    await sim.close();
  }
}

async function setToLed(): Promise<BenchRow[]> {
  let inReadable = false;
  let readableStart = 0n;
  let measuring = false;
  let readableNs = 0n;
  let readableBytes = 0;
  const latencies: number[] = [];
  const wrap = (handlers: SerialHandlers): SerialHandlers => ({
    onReadable(count) {
      inReadable = true;
      readableStart = process.hrtime.bigint();
      try {
        handlers.onReadable(count);
      } finally {
        inReadable = false;
        if (measuring) {
          readableNs += process.hrtime.bigint() - readableStart;
          readableBytes += count;
        }
      }
    },
    onWritable: (count) => handlers.onWritable(count),
  });
  const sim = await Simulation.create({ receiveMode: "active", wrapSerialHandlers: wrap });
  try {
    sim.start();
    await sim.runUntil(() => sim.online, 120_000);
    let virtualLagMax = 0;
    let lastRx = 0;
    // Through the bench's events: the UART's own tap is the Simulation's (its runUntil needs it).
    sim.onEvent((event) => {
      if (event.type === "uart" && event.direction === "to-mcu") lastRx = event.t;
    });
    measuring = true;
    sim.board.led.onChange(() => {
      if (inReadable) latencies.push(Number(process.hrtime.bigint() - readableStart) / 1000);
      virtualLagMax = Math.max(virtualLagMax, sim.clock.now() - lastRx);
    });
    for (let i = 0; i < 400; i++) {
      const id = await sim.setLed(i % 2 === 0);
      await sim.runUntil(() => sim.replyTo(id) !== undefined, 10_000);
    }
    return [
      {
        suite: "e2e",
        name: "last byte of property/set to LED switched",
        value: Number(median(latencies).toFixed(1)),
        unit: "µs CPU (median)",
        note: `${latencies.length} sets; board-time lag ${virtualLagMax} ms (floor 0)`,
      },
      {
        suite: "e2e",
        name: "driver's processing per received UART byte",
        value: Number((Number(readableNs) / readableBytes).toFixed(1)),
        unit: "ns CPU (mean)",
        note: `all the firmware does in onReadable (parse, frame MQTT, handle sets) over ${readableBytes} bytes`,
      },
    ];
  } finally {
    await sim.close();
  }
}

function parserPerByte(): BenchRow[] {
  let bytes = 0;
  const sink: AtParserSink = {
    onLine: () => {},
    onPrompt: () => {},
    onDataStart: () => {},
    onData: (_b, _o, n) => {
      bytes += n;
    },
    onDataEnd: () => {},
  };
  const parser = new AtParser(sink);
  // A realistic receive stream: +IPD frames of MQTT PUBLISHes mixed with status lines.
  const frame = new TextEncoder().encode("\r\n+IPD,120:" + "x".repeat(120) + "\r\nWIFI CONNECTED\r\nSEND OK\r\n");
  const stream = new Uint8Array(frame.length * 64);
  for (let i = 0; i < 64; i++) stream.set(frame, i * frame.length);
  for (let i = 0; i < 200; i++) parser.feed(stream, 0, stream.length);
  const runs: number[] = [];
  for (let r = 0; r < 7; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < 200; i++) parser.feed(stream, 0, stream.length);
    runs.push(Number(process.hrtime.bigint() - start) / (200 * stream.length));
  }
  if (bytes === 0) throw new Error("parser delivered no data");
  return [{ suite: "e2e", name: "AT parser time per received byte", value: Number(median(runs).toFixed(2)), unit: "ns" }];
}

export const suite: BenchSuite = {
  name: "end to end on the simulated bench (virtual time)",
  async run() {
    const rows: BenchRow[] = [];
    for (const [dialect, mode] of modes) rows.push(...(await bootFigures(dialect, mode)));
    for (const [dialect, mode] of modes) rows.push(...(await uartPerPublish(dialect, mode)));
    rows.push(...(await setToLed()));
    rows.push(...parserPerByte());
    return rows;
  },
};
