// The dashboard page: follows the simulator's event stream (/events) and drives it (/api/*).
import { renderEvent, renderPacket, renderUart } from "./render.js";

const $ = (id) => document.getElementById(id);
const lists = {
  packets: { node: $("packets"), cap: 600 },
  uart: { node: $("uart"), cap: 1500 },
  events: { node: $("events"), cap: 800 },
};
const link = { wifi: "down", tcp: "down", mqtt: "stopped" };
let online = false;
let led = null;
let packetCount = 0;
/** "live" while the stream is open; "lost": the simulator cannot be reached; "stopped": it quit. */
let simulator = "live";

const UP = { wifi: "up", tcp: "up", mqtt: "online" };
const LAYER_NAME = { wifi: "WiFi", tcp: "TCP", mqtt: "MQTT" };

function level(layer, state) {
  if (state === UP[layer]) return "up";
  if (state === "down" || state === "stopped") return "down";
  return "busy";
}

function announce(text) {
  // Re-setting the same text would not be spoken again: clear first.
  const node = $("announce");
  node.textContent = "";
  setTimeout(() => (node.textContent = text), 50);
}

// ------------------------------------------------------------------ state display

function showLed(on, speak) {
  if (led === on) return;
  led = on;
  const lamp = $("lamp");
  lamp.dataset.on = String(on);
  lamp.setAttribute("aria-label", on ? "LED on" : "LED off");
  $("led-text").textContent = on ? "LED ON" : "LED off";
  if (speak) announce(on ? "LED switched on" : "LED switched off");
}

function showLink(speak) {
  for (const layer of Object.keys(link)) {
    const li = document.querySelector(`.layer[data-layer="${layer}"]`);
    li.dataset.level = level(layer, link[layer]);
    li.dataset.state = link[layer];
    li.querySelector(".state").textContent = link[layer];
  }
  const banner = $("link-banner");
  const wasOnline = banner.dataset.online === "true";
  // Without the simulator nothing here is current: never claim "Online" then.
  if (simulator !== "live") {
    banner.dataset.online = "unknown";
    banner.textContent =
      simulator === "stopped"
        ? "Simulator stopped: the board is off (start it again and reload this page)"
        : "Simulator not reachable: the state below is the last one seen";
    if (speak && wasOnline) announce(banner.textContent);
    return;
  }
  banner.dataset.online = String(online);
  if (online) banner.textContent = "Online: the device is connected to the broker";
  else {
    const broken = Object.keys(link).find((layer) => level(layer, link[layer]) !== "up");
    banner.textContent = broken ? `Link down: ${LAYER_NAME[broken]} ${link[broken]}, reconnecting…` : "Link down";
  }
  if (speak && wasOnline !== online) announce(online ? "Device online" : banner.textContent);
}

// ------------------------------------------------------------------ lists

function append(listName, node) {
  const { node: list, cap } = lists[listName];
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(node);
  while (list.childElementCount > cap) list.firstElementChild.remove();
  // Follow the newest unless the reader scrolled up to look at something.
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function applyPingFilter(li) {
  const hide = $("hide-pings").checked;
  li.hidden = hide && (li.dataset.type === "PINGREQ" || li.dataset.type === "PINGRESP");
}

function applyLogFilter(li) {
  // Warnings and errors from the firmware always show; routine lines on request.
  li.hidden = li.dataset.kind === "log" && li.dataset.level !== "warn" && li.dataset.level !== "error" && !$("show-logs").checked;
}

function handle(msg, live) {
  switch (msg.k) {
    case "packet": {
      const li = renderPacket(msg);
      applyPingFilter(li);
      append("packets", li);
      packetCount++;
      $("packet-count").textContent = String(packetCount);
      return;
    }
    case "uart":
      for (const entry of msg.entries) append("uart", renderUart(entry));
      return;
    case "led":
      showLed(msg.on, live);
      break;
    case "link":
      link[msg.layer] = msg.state;
      online = msg.online;
      showLink(live);
      break;
  }
  const li = renderEvent(msg);
  if (li) {
    applyLogFilter(li);
    append("events", li);
  }
}

// ------------------------------------------------------------------ the stream

function connect() {
  const source = new EventSource("/events");
  const stream = $("stream");
  source.onopen = () => {
    stream.dataset.state = "open";
    stream.textContent = "Live";
  };
  source.onerror = () => {
    if (simulator === "stopped") return;
    stream.dataset.state = "closed";
    stream.textContent = "Disconnected from the simulator: retrying…";
    simulator = "lost";
    showLink(true);
  };
  source.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.k === "hello") return hello(msg);
    if (msg.k === "stopped") {
      // The simulator quit: nothing more will come, and retrying would only fail.
      source.close();
      simulator = "stopped";
      stream.dataset.state = "closed";
      stream.textContent = "Simulator stopped";
      showLink(true);
      return;
    }
    handle(msg, true);
  };
}

function hello(msg) {
  simulator = "live";
  for (const { node } of Object.values(lists)) node.replaceChildren();
  packetCount = 0;
  $("packet-count").textContent = "0";
  const d = msg.device;
  $("device").textContent = `Device ${d.productId} / ${d.deviceName} · broker: ${msg.broker} · ${msg.mode === "real" ? "real time" : "virtual time"}`;
  for (const m of msg.history) handle(m, false);
  Object.assign(link, msg.link);
  online = msg.online;
  led = null;
  showLed(msg.led, false);
  showLink(false);
  for (const { node } of Object.values(lists)) node.scrollTop = node.scrollHeight;
}

// ------------------------------------------------------------------ controls

async function press(button) {
  const action = button.dataset.action;
  const result = $("control-result");
  button.setAttribute("aria-busy", "true");
  result.dataset.ok = "pending";
  result.textContent = `${button.textContent}…`;
  try {
    const res = await fetch(`/api/${action}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    const body = await res.json();
    result.dataset.ok = String(body.ok);
    result.textContent = body.ok ? `${button.textContent}: ${body.message}` : `${button.textContent} failed: ${body.error}`;
  } catch (error) {
    result.dataset.ok = "false";
    result.textContent = `${button.textContent} failed: ${error.message}`;
  } finally {
    button.removeAttribute("aria-busy");
  }
}

for (const button of document.querySelectorAll("button[data-action]")) button.addEventListener("click", () => press(button));
$("hide-pings").addEventListener("change", () => lists.packets.node.querySelectorAll("li").forEach(applyPingFilter));
$("show-logs").addEventListener("change", () => lists.events.node.querySelectorAll("li").forEach(applyLogFilter));

connect();
