// The dashboard server over HTTP (no browser): the page's files, the event stream's first message,
// the controls, and the loopback-only guards. The simulation runs in virtual time.
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { Simulation } from "../../host-sim/sim.js";
import { startDashboard, type Dashboard } from "../../host-sim/dashboard/server.js";
import { startMosquitto, type Mosquitto } from "../helpers/mosquitto.js";

let sim: Simulation | undefined;
let dash: Dashboard | undefined;
let mosquitto: Mosquitto | undefined;
afterEach(async () => {
  await dash?.close();
  await sim?.close();
  await mosquitto?.dispose();
  dash = sim = mosquitto = undefined;
});

type Message = { k: string; [key: string]: any };

/** Reads SSE messages from /events until `until` accepts the list, or fails after `limitMs` of board time. */
async function readEvents(url: string, s: Simulation, until: (messages: Message[]) => boolean, limitMs = 30_000): Promise<Message[]> {
  const controller = new AbortController();
  const res = await fetch(`${url}events`, { signal: controller.signal });
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const messages: Message[] = [];
  let buffer = "";
  let done = false;
  const pump = (async () => {
    for (;;) {
      const r = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (r.done) return;
      buffer += decoder.decode(r.value, { stream: true });
      let i: number;
      while ((i = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        for (const line of frame.split("\n")) if (line.startsWith("data: ")) messages.push(JSON.parse(line.slice(6)));
      }
      if (until(messages)) {
        done = true;
        return;
      }
    }
  })();
  await s.runUntil(() => done, limitMs);
  controller.abort();
  await pump;
  return messages;
}

function raw(url: string, method: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("dashboard server", () => {
  it("serves the page, streams state and history, and drives the cloud side", async () => {
    sim = await Simulation.create({ password: "wifi-secret-99" });
    sim.start();
    expect(await sim.runUntil(() => sim!.online, 120_000)).toBe(true);
    dash = await startDashboard(sim, { port: 0 });

    const page = await fetch(dash.url);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('data-action="led-on"');
    for (const file of ["app.js", "render.js", "style.css", "favicon.svg"]) expect((await fetch(dash.url + file)).status).toBe(200);
    expect((await fetch(`${dash.url}server.ts`)).status).toBe(404);
    expect((await fetch(`${dash.url}..%2Fserver.ts`)).status).toBe(404);

    const state = await (await fetch(`${dash.url}api/state`)).json();
    expect(state).toMatchObject({ online: true, led: false, broker: "embedded", link: { wifi: "up", tcp: "up", mqtt: "online" } });

    // A page opening the stream first gets "hello": the state, and the history the dashboard has seen.
    const first = await readEvents(dash.url, sim, (m) => m.length >= 1);
    expect(first[0]).toMatchObject({ k: "hello", online: true, led: false });
    // Started after the board came online, the dashboard still lists how it got there.
    expect(first[0]!["history"].some((m: Message) => m.k === "link" && m["layer"] === "mqtt" && m["state"] === "online")).toBe(true);

    const press = await fetch(`${dash.url}api/led-on`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(press.status).toBe(200);
    expect(await press.json()).toMatchObject({ ok: true });
    expect(await sim.runUntil(() => sim!.ledOn && sim!.deviceMessages.some((m) => m.kind === "set_reply"), 10_000)).toBe(true);
    await sim.runFor(500);

    const messages = await readEvents(dash.url, sim, (m) => m.length >= 1);
    const hello = messages[0]!;
    expect(hello).toMatchObject({ k: "hello", led: true });
    const history: Message[] = hello["history"];
    expect(history.some((m) => m.k === "led" && m["on"] === true)).toBe(true);
    expect(history.some((m) => m.k === "control" && m["action"] === "led-on" && m["ok"] === true)).toBe(true);
    const packets = history.filter((m) => m.k === "packet").map((m) => m["packet"]);
    expect(packets.some((p) => p.type === "PUBLISH" && p.direction === "down" && p.thing === "thing/property/set")).toBe(true);
    expect(packets.some((p) => p.type === "PUBLISH" && p.direction === "up" && p.thing === "thing/property/set_reply")).toBe(true);
    expect(packets.some((p) => p.type === "PUBLISH" && p.direction === "up" && p.thing === "thing/property/post")).toBe(true);
    const uart = history.filter((m) => m.k === "uart").flatMap((m) => m["entries"]);
    expect(uart.some((e: any) => e.direction === "to-module" && e.parts[0]?.text?.startsWith("AT+CIPSEND="))).toBe(true);
    expect(uart.some((e: any) => e.direction === "to-mcu" && e.parts.some((p: any) => "hex" in p))).toBe(true);

    // Unknown actions, and actions by GET, do nothing.
    expect((await fetch(`${dash.url}api/launch-rockets`, { method: "POST" })).status).toBe(404);
    expect((await fetch(`${dash.url}api/led-on`)).status).toBe(404);
  });

  it("a set pressed while the device is offline fails as OneNET says; a desired value pressed waits and is applied once online", async () => {
    sim = await Simulation.create();
    dash = await startDashboard(sim, { port: 0 });
    const post = (action: string) => fetch(`${dash!.url}api/${action}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    const set = await post("led-on");
    expect(set.status).toBe(409);
    expect(await set.json()).toEqual({ ok: false, error: expect.stringMatching(/^device not online \(OneNET delivers a set only to an online device; a desired value/) });
    expect((await post("led-get")).status).toBe(409);
    const desired = await post("desired-on");
    expect(desired.status).toBe(200);
    expect(await desired.json()).toEqual({ ok: true, message: "desired led=true set (version 1): the device applies it when it next comes online, then deletes it" });
    expect(sim.broker!.desired("L14FCC38pq", "test1")).toEqual({ led: { value: true, version: 1 } });
    sim.start();
    expect(await sim.runUntil(() => sim!.online && sim!.ledOn, 120_000)).toBe(true);
    expect(await sim.runUntil(() => Object.keys(sim!.broker!.desired("L14FCC38pq", "test1")).length === 0, 10_000)).toBe(true);
    const html = await (await fetch(dash.url)).text();
    expect(html).toContain('data-action="desired-on"');
    expect(html).toContain('data-action="desired-off"');
  });

  it("refuses foreign hosts and cross-origin presses", async () => {
    sim = await Simulation.create();
    dash = await startDashboard(sim, { port: 0 });
    const host = new URL(dash.url).host;
    expect((await raw(dash.url, "GET", "/", { host: "evil.example" })).status).toBe(421);
    expect((await raw(dash.url, "GET", "/", { host: host.replace("127.0.0.1", "localhost") })).status).toBe(200);
    const cross = await raw(dash.url, "POST", "/api/led-on", { host, origin: "http://evil.example" });
    expect(cross.status).toBe(403);
    expect(JSON.parse(cross.body)).toEqual({ ok: false, error: "cross-origin request refused" });
    expect(sim.events.some((e) => e.type === "fault")).toBe(false);
    const same = await raw(dash.url, "POST", "/api/reset-module", { host, origin: `http://${host}` });
    expect(same.status).toBe(200);
    expect(sim.events.some((e) => e.type === "fault" && e.fault === "reset-module")).toBe(true);
    await expect(startDashboard(sim, { host: "0.0.0.0" as "127.0.0.1" })).rejects.toThrow(/loopback/);
  });

  it("frames the MQTT packets from the UART when the broker is external (Mosquitto)", async () => {
    mosquitto = await startMosquitto();
    sim = await Simulation.create({ broker: { host: mosquitto.host, port: mosquitto.port } });
    dash = await startDashboard(sim, { port: 0 });
    sim.start();
    expect(await sim.runUntil(() => sim!.online, 120_000)).toBe(true);
    await sim.runFor(1000);
    const messages = await readEvents(dash.url, sim, (m) => m.length >= 1);
    const packets = (messages[0]!["history"] as Message[]).filter((m) => m.k === "packet").map((m) => m["packet"]);
    const sequence = packets.map((p) => `${p.direction} ${p.type}`);
    // The session that went online: CONNECT, CONNACK, SUBSCRIBE, SUBACK, each framed from the UART.
    // (The last one: in virtual time a busy machine can make an earlier attempt time out.)
    const connack = sequence.lastIndexOf("down CONNACK");
    expect(connack, sequence.join(", ")).toBeGreaterThan(0);
    expect(sequence.slice(connack - 1, connack + 3)).toEqual(["up CONNECT", "down CONNACK", "up SUBSCRIBE", "down SUBACK"]);
    expect(sequence.filter((s) => s !== "up CONNECT").length, sequence.join(", ")).toBeGreaterThan(3);
    expect(packets.every((p) => p.ok)).toBe(true);
    expect(packets[0].hex).toMatch(/<redacted \d+ bytes>$/);
    expect(JSON.stringify(messages)).not.toContain("sign=");
  });
});
