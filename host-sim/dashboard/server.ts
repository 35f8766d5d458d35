/*
 * The simulator's web dashboard: a loopback-only HTTP server that serves a static page (plain HTML,
 * CSS and JS modules from ./public, no build step, nothing from the internet) and streams the
 * running Simulation to it as server-sent events; POST endpoints drive the cloud side and the faults.
 *
 *   const dash = await startDashboard(sim, { port: 0 });   // 0: any free port
 *   console.log(`dashboard: ${dash.url}`);
 *   ...
 *   await dash.close();                                     // before sim.close()
 *
 * HTTP:
 *   GET  /                  the page (index.html, app.js, render.js, style.css, favicon.svg)
 *   GET  /events            text/event-stream: first a "hello" message (state + capped history),
 *                           then one JSON message per event (UART bytes batched every 100 ms)
 *   GET  /api/state         the current state as JSON
 *   POST /api/<action>      led-on led-off led-toggle led-get (property/set and get: to an online device
 *                           only, else 409 "device not online", as OneNET answers), desired-on desired-off
 *                           (a desired value, online or not), wifi-drop tcp-close reset-module
 *                           broker-restart; answers {ok, message} or {ok: false, error}
 *
 * Messages (JSON, field `k` is the kind; `t` is board time in ms):
 *   hello {device, broker, mode, led, link, online, t, history: Message[]}
 *   led {on} | link {layer, state, detail} | publish {direction, kind, topic, payload, delivered?}
 *   error {code, detail} | app {event, detail} | fault {fault} | log {level, message}
 *   uart {entries: UartEntry[]} | packet {packet: PacketView} | control {action, ok, message}
 *   stopped {}   the last message: the simulator is shutting down (the page must not show "Online")
 *
 * Secrets: CONNECT passwords (the token) and the CWJAP password are redacted at the source
 * (packets.ts, uart-view.ts); every string sent is also scrubbed of the configured WiFi password
 * and device key. The server answers only requests addressed to its loopback name and refuses
 * POSTs from other origins, so a web page elsewhere cannot press the buttons.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { AddressInfo } from "node:net";
import type { SimDevice, Simulation, SimEvent } from "../sim.js";
import { MqttFramer } from "../broker/tap.js";
import { describePacket, type PacketView } from "./packets.js";
import { UartView, type UartEntry } from "./uart-view.js";
import { DeviceOfflineError, OFFLINE_HINT } from "../cloud.js";

export interface DashboardOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Loopback only. */
  host?: "127.0.0.1";
}

export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

export type DashboardAction =
  | "led-on"
  | "led-off"
  | "led-toggle"
  | "led-get"
  | "desired-on"
  | "desired-off"
  | "wifi-drop"
  | "tcp-close"
  | "reset-module"
  | "broker-restart";

type Message = { k: string; seq?: number; [key: string]: unknown };

/** History kept for a page opened later, per kind, so UART chatter does not push packets out. */
const HISTORY_CAP = { uart: 1500, packet: 600, other: 800 } as const;
const UART_FLUSH_MS = 100;
const HEARTBEAT_MS = 15_000;

const STATIC: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/render.js": { file: "render.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  "/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
  "/favicon.ico": { file: "favicon.svg", type: "image/svg+xml" },
};
const PUBLIC_DIR = fileURLToPath(new URL("./public/", import.meta.url));

export async function startDashboard(sim: Simulation<SimDevice>, options: DashboardOptions = {}): Promise<Dashboard> {
  const host = options.host ?? "127.0.0.1";
  if (host !== "127.0.0.1") throw new Error("the dashboard listens on loopback (127.0.0.1) only");
  const history = { uart: [] as Message[], packet: [] as Message[], other: [] as Message[] };
  const clients = new Set<ServerResponse>();
  let seq = 0;
  let port = 0;

  const secrets = [sim.config.wifi.password, sim.config.onenet.key].filter((s) => s.length >= 4);
  const scrub = (value: unknown): unknown => {
    if (typeof value === "string") {
      let s = value;
      for (const secret of secrets) if (s.includes(secret)) s = s.split(secret).join("<redacted>");
      return s;
    }
    if (Array.isArray(value)) return value.map(scrub);
    if (value && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = scrub(v);
      return out;
    }
    return value;
  };

  const broadcast = (message: Message): void => {
    const m = scrub({ ...message, seq: ++seq }) as Message;
    const list = m.k === "uart" ? history.uart : m.k === "packet" ? history.packet : history.other;
    list.push(m);
    const cap = m.k === "uart" ? HISTORY_CAP.uart : m.k === "packet" ? HISTORY_CAP.packet : HISTORY_CAP.other;
    if (list.length > cap) list.splice(0, list.length - cap);
    const frame = `id: ${m.seq}\ndata: ${JSON.stringify(m)}\n\n`;
    for (const res of clients) res.write(frame);
  };

  // ---------------------------------------------------------------- the simulator's events

  const uart = new UartView();
  const sendPacket = (view: PacketView) => broadcast({ k: "packet", t: sim.clock.now(), packet: view });
  // Without the embedded broker, the MQTT packets are framed from the data crossing the UART.
  const framers = sim.broker ? undefined : { up: new MqttFramer(), down: new MqttFramer() };
  if (framers) {
    uart.onData = (direction, bytes) => {
      const dir = direction === "to-module" ? "up" : "down";
      for (const frame of framers[dir].push(bytes)) sendPacket(describePacket(frame, dir));
    };
  }
  const flushUart = (): void => {
    const entries: UartEntry[] = uart.take(performance.now(), UART_FLUSH_MS);
    if (entries.length) broadcast({ k: "uart", entries });
  };
  const uartTimer = setInterval(() => {
    if (uart.pending) flushUart();
  }, UART_FLUSH_MS);
  uartTimer.unref();

  const onSimEvent = (e: SimEvent): void => {
    switch (e.type) {
      case "uart":
        uart.feed(e.direction, e.bytes, e.t);
        return;
      case "link":
        if (framers && e.layer === "tcp" && e.state !== "up") {
          // A new TCP link starts a new MQTT byte stream.
          framers.up = new MqttFramer();
          framers.down = new MqttFramer();
        }
        broadcast({ k: "link", t: e.t, layer: e.layer, state: e.state, detail: e.detail, online: sim.online });
        return;
      case "led":
        broadcast({ k: "led", t: e.t, on: e.on });
        return;
      case "publish":
        broadcast({ k: "publish", t: e.t, direction: e.direction, kind: e.kind, topic: e.topic, payload: e.payload, delivered: e.delivered });
        return;
      case "error":
        broadcast({ k: "error", t: e.t, code: e.code, detail: e.detail });
        return;
      case "app":
        broadcast({ k: "app", t: e.t, event: e.event, detail: e.detail });
        return;
      case "fault":
        broadcast({ k: "fault", t: e.t, fault: e.fault });
        return;
      case "log":
        broadcast({ k: "log", t: e.t, level: e.level, message: e.message });
        return;
    }
  };
  // A dashboard started after the board: what the simulation kept (not UART bytes) comes first.
  for (const e of sim.events.slice(-HISTORY_CAP.other)) onSimEvent(e);
  const offSim = sim.onEvent(onSimEvent);
  const offBroker = sim.broker?.onEvent((e) => {
    if (e.type !== "packet") return;
    // UART lines written before this packet reached the broker come first in the page.
    if (uart.pending) flushUart();
    sendPacket(describePacket(e.bytes, e.dir === "in" ? "up" : "down"));
  });

  // ---------------------------------------------------------------- HTTP

  const state = () => ({
    device: { productId: sim.config.onenet.productId, deviceName: sim.config.onenet.deviceName, ledIdentifier: sim.config.led.identifier },
    broker: sim.options.broker ? `${sim.options.broker.host}:${sim.options.broker.port}` : "embedded",
    mode: sim.options.mode ?? "virtual",
    led: sim.ledOn,
    link: { ...sim.link },
    online: sim.online,
    t: sim.clock.now(),
  });

  /** A set or get reaches an online device only: offline it fails as OneNET's console says. */
  const toDevice = async (send: () => Promise<string>, hint: string): Promise<string> => {
    try {
      if (!sim.online) throw new DeviceOfflineError();
      return await send();
    } catch (error) {
      if (error instanceof DeviceOfflineError) throw new ActionError(409, `device not online (${hint})`);
      throw error;
    }
  };
  const act = async (action: string): Promise<string> => {
    switch (action as DashboardAction) {
      case "led-on":
        return `property/set led=true sent (id ${await toDevice(() => sim.setLed(true), OFFLINE_HINT)})`;
      case "led-off":
        return `property/set led=false sent (id ${await toDevice(() => sim.setLed(false), OFFLINE_HINT)})`;
      case "led-toggle":
        return `property/set toggle sent (id ${await toDevice(() => sim.toggleLed(), OFFLINE_HINT)})`;
      case "led-get":
        return `property/get sent (id ${await toDevice(() => sim.getLed(), "OneNET reads a property only from an online device")})`;
      case "desired-on":
      case "desired-off": {
        const on = action === "desired-on";
        return `desired led=${on} set (version ${await sim.setLedDesired(on)}): the device applies it when it next comes online, then deletes it`;
      }
      case "wifi-drop":
        sim.wifiDrop();
        return "WiFi access point gone for 5 s";
      case "tcp-close":
        sim.tcpClose();
        return "TCP link closed by the server";
      case "reset-module":
        sim.resetModule();
        return "ESP8266 reset";
      case "broker-restart":
        if (!sim.broker) throw new ActionError(409, "broker restart needs the embedded broker");
        await sim.brokerRestart();
        return "broker restarted (down 2 s)";
      default:
        throw new ActionError(404, `unknown action ${JSON.stringify(action)}`);
    }
  };

  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    // DNS rebinding: a foreign name pointing at 127.0.0.1 gets nothing.
    if (!allowedHosts().has(req.headers.host ?? "")) return send(res, 421, "text/plain", "wrong host\n");
    if (req.method === "GET" || req.method === "HEAD") {
      const file = STATIC[url.pathname];
      if (file) {
        const body = await readFile(PUBLIC_DIR + file.file);
        return send(res, 200, file.type, body);
      }
      if (url.pathname === "/events") return openStream(req, res);
      if (url.pathname === "/api/state") return send(res, 200, "application/json", JSON.stringify(scrub(state())));
      return send(res, 404, "text/plain", "not found\n");
    }
    if (req.method === "POST" && url.pathname.startsWith("/api/")) {
      const origin = req.headers.origin;
      if (origin !== undefined && !allowedHosts().has(origin.replace(/^http:\/\//, "")))
        return send(res, 403, "application/json", JSON.stringify({ ok: false, error: "cross-origin request refused" }));
      req.resume();
      const action = url.pathname.slice("/api/".length);
      try {
        const message = await act(action);
        broadcast({ k: "control", t: sim.clock.now(), action, ok: true, message });
        return send(res, 200, "application/json", JSON.stringify({ ok: true, message }));
      } catch (error) {
        const status = error instanceof ActionError ? error.status : 500;
        const message = (error as Error).message;
        broadcast({ k: "control", t: sim.clock.now(), action, ok: false, message });
        return send(res, status, "application/json", JSON.stringify(scrub({ ok: false, error: message })));
      }
    }
    return send(res, 405, "text/plain", "method not allowed\n");
  };

  const openStream = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-content-type-options": "nosniff",
    });
    if (uart.pending) flushUart();
    const past = [...history.other, ...history.packet, ...history.uart].sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    res.write(`retry: 1000\ndata: ${JSON.stringify(scrub({ k: "hello", ...state(), history: past }))}\n\n`);
    clients.add(res);
    res.on("close", () => clients.delete(res));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, "text/plain", `${(error as Error).message}\n`);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const heartbeat = setInterval(() => {
    for (const res of clients) res.write(": keepalive\n\n");
  }, HEARTBEAT_MS);
  heartbeat.unref();

  let closed = false;
  return {
    url: `http://${host}:${port}/`,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(uartTimer);
      clearInterval(heartbeat);
      offSim();
      offBroker?.();
      if (uart.pending) flushUart();
      const bye = `data: ${JSON.stringify({ k: "stopped", t: sim.clock.now() })}\n\n`;
      for (const res of clients) res.end(bye);
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

class ActionError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    "content-type": type,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    // Everything the page needs comes from this server.
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
  });
  res.end(body);
}
