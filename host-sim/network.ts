/*
 * What the emulated ESP8266 connects to when the firmware says AT+CIPSTART: real sockets
 * (NodeNetwork) or in-process servers (MemoryNetwork, e.g. an Aedes broker's `handle(stream)`).
 *
 * Public API:
 *
 *   interface NetworkBackend { connect(target: NetTarget, events: NetEvents): NetLink }
 *   NetTarget { host; port; tls; verify? }   NetEvents { onConnect(); onData(bytes); onClose(error?) }
 *   TlsVerify { enabled; ca?; checkName?; servername? }   // per link: how the module checks the server
 *   NetLink { write(bytes); close(); pause?(); resume?(); remoteAddress? }
 *   new NodeNetwork({ dns: { "mqtts.heclouds.com": "127.0.0.1" }, ports: { 8883: 18883 },
 *                     strictDns: true, tls: { ca, rejectUnauthorized, servername }, connectTimeoutMs })
 *   new MemoryNetwork().listen(host, port, (serverSide: Duplex, target) => aedes.handle(serverSide))
 *   memoryNetwork.listenEcho(host, port, received?)  // echoes every byte (and records it)
 *   memoryNetwork.unlisten(host, port); memoryNetwork.serverStreams  // every server side handed out
 *   duplexPair() -> [a, b]                    // two connected in-process streams
 *   netErrorCode(error) -> NetErrorCode | undefined
 *   pump(clock, ms, { stepMs })               // interleave virtual time with real I/O (see below)
 *   pumpUntil(clock, predicate, limitMs, { stepMs, realTimeoutMs }) -> Promise<boolean>
 *
 * Per-link verification (NetTarget.verify, set by the emulator from AT+CIPSSLCCONF): NodeNetwork
 * then uses it instead of its own `tls` options. enabled false: any certificate is accepted (a
 * module with no CA loaded). enabled true: only `ca` is trusted (absent: nothing is, as with an
 * empty client_ca), and the certificate must name `checkName` (absent: the chain alone is
 * checked, as NonOS AT 1.7 does); `servername`, when given, is the SNI. MemoryNetwork has no TLS
 * and ignores it.
 *
 * Errors given to onClose start with a code, then ": detail": "dns-failed", "refused",
 * "timeout", "tls-failed", "reset" (anything else the socket reports), so the emulator can choose
 * the module's answer (1.7 prints `DNS Fail`) without parsing Node's messages.
 *
 * MemoryNetwork: a connect to a host:port nobody listens on fails with "refused"; writes made in
 * one tick of the event loop arrive at the peer as one chunk (like TCP coalescing), one tick
 * later, never inside the writer's call.
 *
 * Virtual time and real I/O: both backends call `events` from Node's event loop, never inside
 * `connect`/`write`/`close`. The emulator reacts by scheduling its UART output on the VirtualClock
 * at the current virtual time. Nothing advances virtual time by itself in tests, so a test must
 * give the event loop turns while it advances the clock: `await pump(clock, 2000)` advances 2 s
 * of virtual time in steps of `stepMs` (default 1 ms) and yields to Node (setImmediate, which
 * runs after pending socket I/O) between steps. A loopback round trip therefore costs a few
 * virtual milliseconds, which is about what a LAN costs a real module. The interactive simulator
 * uses RealTimeDriver instead, where virtual time follows the wall clock.
 */
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import type { VirtualClock } from "./clock.js";

export interface NetTarget {
  host: string;
  port: number;
  tls: boolean;
  /** TLS links: how the client checks the server; absent: the backend's own options. */
  verify?: TlsVerify;
}

export interface TlsVerify {
  enabled: boolean;
  /** PEM of the trusted CA certificate(s). */
  ca?: string;
  /** The name the server certificate must carry (DNS or IP SAN, or CN). */
  checkName?: string;
  /** SNI to send (default: the target host unless it is an address). */
  servername?: string;
}

export interface NetEvents {
  onConnect(): void;
  onData(bytes: Uint8Array): void;
  /** The link is gone (or never came up). `error` is absent for an orderly close by the peer. */
  onClose(error?: string): void;
}

export interface NetLink {
  write(bytes: Uint8Array): void;
  /** Closes our side; no more events follow. */
  close(): void;
  /** Back-pressure: stop / restart delivering onData (the module's receive buffer is full). */
  pause?(): void;
  resume?(): void;
  /** The peer's address once connected (shown by AT+CIPSTATUS). */
  readonly remoteAddress?: string;
}

export interface NetworkBackend {
  connect(target: NetTarget, events: NetEvents): NetLink;
}

export type NetErrorCode = "dns-failed" | "refused" | "timeout" | "tls-failed" | "reset";

/** The code at the start of an onClose error string. */
export function netErrorCode(error: string | undefined): NetErrorCode | undefined {
  if (!error) return undefined;
  const code = error.split(":", 1)[0];
  return code === "dns-failed" || code === "refused" || code === "timeout" || code === "tls-failed"
    ? code
    : "reset";
}

export interface NodeNetworkOptions {
  /** Host name -> address, consulted before the system resolver. */
  dns?: Record<string, string>;
  /** When true, names missing from `dns` fail with dns-failed instead of asking the system. */
  strictDns?: boolean;
  /** Port -> port actually dialled (e.g. 8883 -> a test broker's ephemeral port). */
  ports?: Record<number, number>;
  tls?: { ca?: string | Buffer | (string | Buffer)[]; rejectUnauthorized?: boolean; servername?: string };
  connectTimeoutMs?: number;
}

function classify(err: NodeJS.ErrnoException, tlsLink: boolean, connected: boolean): string {
  const code = err.code ?? "";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL") return `dns-failed: ${err.message}`;
  if (code === "ECONNREFUSED") return `refused: ${err.message}`;
  if (code === "ETIMEDOUT") return `timeout: ${err.message}`;
  if (tlsLink && !connected) return `tls-failed: ${err.message}`;
  return `reset: ${err.message}`;
}

const isIp = (host: string) => net.isIP(host) !== 0;

/** Real TCP/TLS sockets. */
export class NodeNetwork implements NetworkBackend {
  constructor(private readonly options: NodeNetworkOptions = {}) {}

  connect(target: NetTarget, events: NetEvents): NetLink {
    const o = this.options;
    const mapped = o.dns?.[target.host];
    const port = o.ports?.[target.port] ?? target.port;
    let done = false;
    let connected = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      events.onClose(error);
    };
    if (mapped === undefined && o.strictDns && !isIp(target.host)) {
      setImmediate(() => finish(`dns-failed: ${target.host} not in the DNS map`));
      return { write() {}, close() {} };
    }
    const host = mapped ?? target.host;
    let socket: net.Socket;
    if (target.tls) {
      const v = target.verify;
      const servername = v?.servername ?? o.tls?.servername ?? (isIp(target.host) ? undefined : target.host);
      const checkName = v?.checkName;
      socket = tls.connect({
        host,
        port,
        servername,
        // An empty list is an empty trust store (no system roots), as in a module.
        ca: v ? (v.enabled && v.ca ? v.ca : []) : o.tls?.ca,
        rejectUnauthorized: v ? v.enabled : (o.tls?.rejectUnauthorized ?? true),
        ...(v?.enabled
          ? { checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => (checkName ? tls.checkServerIdentity(checkName, cert) : undefined) }
          : {}),
      });
      socket.once("secureConnect", () => {
        connected = true;
        if (!done) events.onConnect();
      });
    } else {
      socket = net.connect({ host, port });
      socket.once("connect", () => {
        connected = true;
        if (!done) events.onConnect();
      });
    }
    socket.setNoDelay(true);
    let timer: NodeJS.Timeout | undefined;
    if (o.connectTimeoutMs) {
      timer = setTimeout(() => {
        if (!connected) {
          finish(`timeout: no answer from ${target.host}:${target.port}`);
          socket.destroy();
        }
      }, o.connectTimeoutMs);
      timer.unref();
    }
    let error: string | undefined;
    socket.on("data", (chunk: Buffer) => {
      if (!done) events.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    });
    socket.on("error", (err) => {
      error = classify(err, target.tls, connected);
    });
    socket.on("close", () => {
      if (timer) clearTimeout(timer);
      finish(error);
    });
    return {
      write(bytes: Uint8Array) {
        if (!done && !socket.destroyed) socket.write(Buffer.from(bytes));
      },
      close() {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        // An orderly FIN once what was written has gone; a link still dialling is just dropped.
        if (connected) socket.end(() => socket.destroy());
        else socket.destroy();
      },
      pause() {
        socket.pause();
      },
      resume() {
        socket.resume();
      },
      get remoteAddress() {
        return socket.remoteAddress;
      },
    };
  }
}

/**
 * Two connected Duplex streams in one process (node:stream's duplexPair is Node >= 22.6).
 * Ending one side ends the other's readable side; destroying one closes both.
 */
export function duplexPair(): [Duplex, Duplex] {
  const make = (peer: () => Duplex): Duplex => {
    // Deferred: a push into a flowing stream emits 'data' synchronously, and the other side must
    // never see its callbacks run inside its own write(). Everything written in one tick arrives
    // as one chunk, as a TCP stack would coalesce it (MQTT libraries write a packet in pieces).
    let pending: Buffer[] = [];
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      if (!pending.length) return;
      const data = Buffer.concat(pending);
      pending = [];
      const p = peer();
      if (!p.destroyed) p.push(data);
    };
    return new Duplex({
      allowHalfOpen: false,
      read() {},
      write(chunk: Buffer, _enc, cb) {
        pending.push(Buffer.from(chunk));
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
        cb();
      },
      final(cb) {
        setImmediate(() => {
          flush();
          const p = peer();
          if (!p.destroyed) p.push(null);
          cb();
        });
      },
      destroy(err, cb) {
        const p = peer();
        setImmediate(() => {
          flush();
          if (!p.destroyed) {
            p.push(null);
            p.destroy();
          }
        });
        cb(err);
      },
    });
  };
  // eslint-disable-next-line prefer-const
  let b: Duplex;
  const a = make(() => b);
  b = make(() => a);
  return [a, b];
}

export type MemoryHandler = (serverSide: Duplex, target: NetTarget) => void;

/** In-process servers keyed by host:port: no sockets, deterministic, fast. */
export class MemoryNetwork implements NetworkBackend {
  private readonly handlers = new Map<string, MemoryHandler>();
  /** Every server-side stream handed out, for tests that want to poke the peer. */
  readonly serverStreams: Duplex[] = [];

  listen(host: string, port: number, handler: MemoryHandler): this {
    this.handlers.set(`${host.toLowerCase()}:${port}`, handler);
    return this;
  }

  unlisten(host: string, port: number): void {
    this.handlers.delete(`${host.toLowerCase()}:${port}`);
  }

  /** A server that sends back every byte it receives; `received` collects them in order. */
  listenEcho(host: string, port: number, received?: number[]): this {
    return this.listen(host, port, (s) => {
      s.on("data", (chunk: Buffer) => {
        if (received) for (const b of chunk) received.push(b);
        s.write(chunk);
      });
      s.on("end", () => s.end());
      s.on("error", () => {});
    });
  }

  connect(target: NetTarget, events: NetEvents): NetLink {
    const handler = this.handlers.get(`${target.host.toLowerCase()}:${target.port}`);
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      events.onClose(error);
    };
    if (!handler) {
      setImmediate(() => finish(`refused: nothing listens on ${target.host}:${target.port}`));
      return { write() {}, close() {} };
    }
    const [client, server] = duplexPair();
    this.serverStreams.push(server);
    client.on("data", (chunk: Buffer) => {
      if (!done) events.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    });
    client.on("error", () => {});
    client.on("end", () => finish());
    client.on("close", () => finish());
    setImmediate(() => {
      if (done) return;
      handler(server, target);
      events.onConnect();
    });
    return {
      write(bytes: Uint8Array) {
        if (!done && !client.destroyed) client.write(Buffer.from(bytes));
      },
      close() {
        if (done) return;
        done = true;
        client.end();
      },
      pause() {
        client.pause();
      },
      resume() {
        client.resume();
      },
      remoteAddress: target.host,
    };
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Advances `clock` by `ms` of virtual time in steps of `stepMs`, giving Node's event loop a turn
 * (socket I/O, stream callbacks) between steps. The way to run the emulator against real sockets
 * or in-process streams in a test.
 */
export async function pump(clock: VirtualClock, ms: number, options: { stepMs?: number } = {}): Promise<void> {
  const step = options.stepMs ?? 1;
  const end = clock.now() + ms;
  while (clock.now() < end) {
    clock.runUntil(Math.min(end, clock.now() + step));
    await turn();
  }
  await turn();
}

/**
 * Like pump, but stops as soon as `predicate()` holds; returns whether it did within `limitMs` of
 * virtual time. Real I/O that needs real time (a TLS handshake on a loaded machine, a server's
 * own timers) may not be done when the virtual limit is reached: with `realTimeoutMs`, the clock
 * then stays put and the wait goes on in real time (1 ms sleeps) up to that long.
 */
export async function pumpUntil(
  clock: VirtualClock,
  predicate: () => boolean,
  limitMs: number,
  options: { stepMs?: number; realTimeoutMs?: number } = {},
): Promise<boolean> {
  const step = options.stepMs ?? 1;
  const end = clock.now() + limitMs;
  const realEnd = Date.now() + (options.realTimeoutMs ?? 0);
  for (;;) {
    if (predicate()) return true;
    if (clock.now() >= end) {
      if (Date.now() >= realEnd) return false;
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    clock.runUntil(Math.min(end, clock.now() + step));
    await turn();
  }
}
