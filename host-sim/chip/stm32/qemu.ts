/*
 * An STM32F405 in QEMU (machine netduinoplus2, Debian's qemu-system-arm 7.2), seen from outside:
 * its USARTs as byte streams, its GPIO writes as pin levels.
 *
 *   const chip = new QemuStm32({ elf, usarts: { console: 2, modem: 6 } });
 *   chip.onConsoleData = (bytes) => ...;      // what the firmware prints on the console USART
 *   chip.onModemData = (bytes) => ...;        // what it sends on the modem USART
 *   chip.onGpio = (port, odr) => ...;         // a GPIO port's output register changed ("c", 0x1000)
 *   chip.onExit = (reason) => ...;            // QEMU stopped on its own (a crash, a bad image)
 *   await chip.start();  chip.writeModem(bytes);  await chip.stop();
 *
 * QEMU connects its Nth `-serial` to USART N, here as a TCP client of a loopback server of ours.
 * QEMU sends what the firmware writes to a USART at once (no baud timing: the caller paces it) and
 * takes received bytes one at a time as the USART's RXNE clears, so the socket holds back the rest.
 * QEMU has no GPIO model for this SoC: GPIO registers are "unimplemented devices" whose accesses
 * `-d unimp` logs on stderr; the output data register (ODR) and the bit set/reset register (BSRR)
 * writes are enough to follow an output pin. Reads of those registers return 0 in QEMU, so a
 * read-modify-write of ODR only shows the pin it writes: the model keeps the other bits itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";

/** The SoC's USART count: QEMU's -serial 1..6. */
const USART_COUNT = 6;

export interface QemuStm32Options {
  elf: string;
  /** Which USART carries the console and which the ESP8266 (1..6). */
  usarts: { console: number; modem: number };
  machine?: string;
  /** qemu-system-arm's path (default: $QEMU_SYSTEM_ARM or qemu-system-arm on PATH). */
  qemu?: string;
}

const GPIO_WRITE = /^GPIO([A-K]): unimplemented device write \(size (\d), offset 0x([0-9a-f]+), value 0x([0-9a-f]+)\)/;
const ODR = 0x14;
const BSRR = 0x18;

/** The output register of each GPIO port as the firmware last wrote it. */
export class GpioModel {
  private readonly odr = new Map<string, number>();

  /** Applies one register write; returns the port's new ODR if it changed. */
  write(port: string, offset: number, size: number, value: number): number | undefined {
    const before = this.odr.get(port) ?? 0;
    let after = before;
    if (offset === ODR) after = value & 0xffff;
    else if (offset === BSRR) {
      // Bits 0-15 set, 16-31 reset (set wins when both name a pin); a 16-bit write sets only.
      const set = value & 0xffff;
      const reset = size === 4 ? (value >>> 16) & 0xffff : 0;
      after = (before & ~reset) | set;
    } else if (offset === BSRR + 2) {
      after = before & ~(value & 0xffff); // the reset half, written on its own
    } else return undefined;
    if (after === before && this.odr.has(port)) return undefined;
    this.odr.set(port, after);
    return after;
  }

  /** Parses one line of QEMU's `-d unimp` log. */
  line(text: string): { port: string; odr: number } | undefined {
    const m = GPIO_WRITE.exec(text);
    if (!m) return undefined;
    const port = m[1].toLowerCase();
    const odr = this.write(port, Number.parseInt(m[3], 16), Number(m[2]), Number.parseInt(m[4], 16));
    return odr === undefined ? undefined : { port, odr };
  }

  level(port: string, pin: number): 0 | 1 {
    return (((this.odr.get(port) ?? 0) >> pin) & 1) as 0 | 1;
  }
}

/** Splits QEMU's stderr into lines (CR LF or LF), keeping the unfinished tail. */
export class LineSplitter {
  private partial = "";
  constructor(private readonly onLine: (line: string) => void) {}

  push(text: string): void {
    this.partial += text;
    let nl: number;
    while ((nl = this.partial.indexOf("\n")) >= 0) {
      const line = this.partial.slice(0, nl).replace(/\r$/, "");
      this.partial = this.partial.slice(nl + 1);
      this.onLine(line);
    }
    // A line that never ends must not grow without bound.
    if (this.partial.length > 4096) {
      this.onLine(this.partial);
      this.partial = "";
    }
  }

  flush(): void {
    if (this.partial) this.onLine(this.partial.replace(/\r$/, ""));
    this.partial = "";
  }
}

export function findQemu(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.QEMU_SYSTEM_ARM) return existsSync(env.QEMU_SYSTEM_ARM) ? env.QEMU_SYSTEM_ARM : undefined;
  for (const dir of (env.PATH ?? "").split(":")) {
    if (dir && existsSync(`${dir}/qemu-system-arm`)) return `${dir}/qemu-system-arm`;
  }
  return undefined;
}

/** A loopback server that takes exactly one connection (QEMU's, for one USART). */
async function oneConnection(): Promise<{ port: number; socket: Promise<Socket>; server: Server }> {
  const server = createServer();
  let resolveSocket!: (socket: Socket) => void;
  const socket = new Promise<Socket>((resolve) => (resolveSocket = resolve));
  server.on("connection", (s) => {
    s.setNoDelay(true);
    resolveSocket(s);
    server.close();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as AddressInfo).port, socket, server };
}

export class QemuStm32 {
  onConsoleData: ((bytes: Uint8Array) => void) | undefined;
  onModemData: ((bytes: Uint8Array) => void) | undefined;
  onGpio: ((port: string, odr: number) => void) | undefined;
  /** QEMU ended without stop(): the reason, with what it printed last. */
  onExit: ((reason: string) => void) | undefined;
  readonly gpio = new GpioModel();
  /** QEMU's own messages (not the unimp log), the last 50. */
  readonly qemuMessages: string[] = [];
  private child: ChildProcess | undefined;
  private modem: Socket | undefined;
  private consoleSocket: Socket | undefined;
  private stopping = false;
  private readonly pendingModem: Uint8Array[] = [];

  constructor(readonly options: QemuStm32Options) {
    const { console: c, modem: m } = options.usarts;
    for (const n of [c, m]) if (!Number.isInteger(n) || n < 1 || n > USART_COUNT) throw new RangeError(`USART${n}: the STM32F405 has USART1..${USART_COUNT}`);
    if (c === m) throw new RangeError("the console and the modem need different USARTs");
  }

  get running(): boolean {
    return this.child !== undefined && !this.stopping;
  }

  async start(): Promise<void> {
    if (this.child) throw new Error("QEMU is already running");
    const qemu = this.options.qemu ?? findQemu();
    if (!qemu) throw new Error("qemu-system-arm not found: apt-get install qemu-system-arm (or set QEMU_SYSTEM_ARM)");
    if (!existsSync(this.options.elf)) throw new Error(`no firmware image at ${this.options.elf}`);
    const consoleEnd = await oneConnection();
    const modemEnd = await oneConnection();
    const serial: string[] = [];
    for (let n = 1; n <= USART_COUNT; n++) {
      let backend = "null";
      if (n === this.options.usarts.console) backend = `tcp:127.0.0.1:${consoleEnd.port},nodelay=on`;
      if (n === this.options.usarts.modem) backend = `tcp:127.0.0.1:${modemEnd.port},nodelay=on`;
      serial.push("-serial", backend);
    }
    const args = ["-M", this.options.machine ?? "netduinoplus2", "-nodefaults", "-display", "none", "-monitor", "none", ...serial, "-d", "unimp", "-kernel", this.options.elf];
    const child = spawn(qemu, args, { stdio: ["ignore", "ignore", "pipe"] });
    this.child = child;
    const stderr = new LineSplitter((line) => this.qemuLine(line));
    child.stderr!.setEncoding("latin1");
    child.stderr!.on("data", (text: string) => stderr.push(text));
    const exited = new Promise<string>((resolve) => {
      child.on("error", (error) => resolve(`QEMU did not start: ${error.message}`));
      child.on("exit", (code, signal) => resolve(signal ? `QEMU ended by ${signal}` : `QEMU exited with status ${code}`));
    });
    void exited.then((reason) => {
      stderr.flush();
      const wasStopping = this.stopping;
      this.child = undefined;
      consoleEnd.server.close();
      modemEnd.server.close();
      if (!wasStopping) {
        const last = this.qemuMessages.slice(-5).join(" | ");
        this.onExit?.(last ? `${reason}: ${last}` : reason);
      }
    });
    const connected = await Promise.race([Promise.all([consoleEnd.socket, modemEnd.socket]), exited]);
    if (typeof connected === "string") {
      throw new Error(`${connected}${this.qemuMessages.length ? `: ${this.qemuMessages.slice(-5).join(" | ")}` : ""}`);
    }
    const [consoleSocket, modem] = connected;
    this.consoleSocket = consoleSocket;
    this.modem = modem;
    consoleSocket.on("data", (chunk: Buffer) => this.onConsoleData?.(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    consoleSocket.on("error", () => {});
    modem.on("data", (chunk: Buffer) => this.onModemData?.(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    modem.on("error", () => {});
    for (const bytes of this.pendingModem.splice(0)) modem.write(bytes);
  }

  /** Bytes the modem sends to the chip's USART. */
  writeModem(bytes: Uint8Array): void {
    if (this.modem) this.modem.write(Uint8Array.from(bytes));
    else this.pendingModem.push(Uint8Array.from(bytes));
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.stopping = true;
    this.modem?.destroy();
    this.consoleSocket?.destroy();
    if (!child) return;
    const gone = once(child, "exit");
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await gone;
    clearTimeout(timer);
  }

  private qemuLine(line: string): void {
    const change = this.gpio.line(line);
    if (change) {
      this.onGpio?.(change.port, change.odr);
      return;
    }
    if (line.includes("unimplemented device") || line.includes("unassigned area of PPB")) return;
    if (!line.trim()) return;
    this.qemuMessages.push(line);
    if (this.qemuMessages.length > 50) this.qemuMessages.shift();
  }
}
