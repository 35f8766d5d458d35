// DOM builders for the dashboard's lists. Text always goes through textContent: packet payloads and
// UART lines come from the network and must never be parsed as HTML.

/** Board time (ms since power-on) as seconds. */
export function formatTime(t) {
  return `${(t / 1000).toFixed(3)} s`;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const DIRECTION = {
  up: { arrow: "↑", badge: "to broker", label: "device → broker" },
  down: { arrow: "↓", badge: "to device", label: "broker → device" },
};

function fieldValue(field) {
  if (field.kind === "text") return JSON.stringify(field.value);
  return String(field.value);
}

/** One MQTT packet: a summary line, and when opened the hex and the field table by section. */
export function renderPacket(msg) {
  const p = msg.packet;
  const dir = DIRECTION[p.direction];
  const subject = p.thing ?? p.topic ?? p.note ?? "";
  const summary = el(
    "summary",
    {},
    el("span", { class: "time", text: formatTime(msg.t) }),
    el("span", { class: `dir-badge ${p.direction}`, title: dir.label, text: `${dir.arrow} ${dir.badge}` }),
    el("span", { class: "ptype", text: p.type }),
    el("span", { class: "subject", text: subject }),
    p.packetId !== undefined ? el("span", { class: "pid", text: `id ${p.packetId}` }) : null,
    el("span", { class: "size", text: `${p.size} B` }),
    p.ok ? null : el("span", { class: "bad", text: "malformed" }),
  );
  summary.setAttribute("aria-label", `${p.type} ${dir.label}${subject ? `, ${subject}` : ""}, ${p.size} bytes, at ${formatTime(msg.t)}`);
  const body = el("div", { class: "packet-body" });
  let built = false;
  const details = el("details", {}, summary, body);
  // The dissection is built when first opened: hundreds of closed packets stay cheap.
  details.addEventListener("toggle", () => {
    if (!details.open || built) return;
    built = true;
    body.append(renderDissection(p));
  });
  return el(
    "li",
    {
      class: `packet ${p.direction}`,
      "data-type": p.type,
      "data-direction": p.direction,
      "data-topic": p.topic ?? "",
      "data-thing": p.thing ?? "",
    },
    details,
  );
}

function renderDissection(p) {
  const frag = document.createDocumentFragment();
  if (p.topic) frag.append(el("p", { class: "kv" }, el("strong", { text: "Topic " }), el("code", { text: p.topic })));
  if (p.message) frag.append(el("p", { class: "kv" }, el("strong", { text: "Message " }), el("code", { text: p.message })));
  frag.append(el("p", { class: "kv" }, el("strong", { text: "Bytes " })), el("pre", { class: "hexdump", text: wrapHex(p.hex, 16) }));
  for (const packet of p.packets) {
    for (const section of packet.sections) {
      const table = el(
        "table",
        { class: `fields ${section.name.replace(/\s+/g, "-")}` },
        el("caption", { text: `${section.name} (${section.length} byte${section.length === 1 ? "" : "s"} at offset ${section.offset})` }),
        el(
          "thead",
          {},
          el("tr", {}, el("th", { scope: "col", text: "Offset" }), el("th", { scope: "col", text: "Bytes" }), el("th", { scope: "col", text: "Field" }), el("th", { scope: "col", text: "Value" }), el("th", { scope: "col", text: "Note" })),
        ),
      );
      const tbody = el("tbody");
      for (const f of section.fields) {
        tbody.append(
          el(
            "tr",
            {},
            el("td", { class: "num", text: String(f.offset) }),
            el("td", { class: "bytes" }, el("code", { text: f.hex })),
            el("th", { scope: "row", text: f.name }),
            el("td", { class: `value ${f.kind}` }, el("code", { text: fieldValue(f) })),
            el("td", { class: "note", text: f.note }),
          ),
        );
      }
      table.append(tbody);
      frag.append(table);
    }
    if (packet.error) frag.append(el("p", { class: "bad", text: `${packet.error.code}: ${packet.error.description}${packet.error.fatal ? " (the connection must be closed)" : ""}` }));
  }
  return frag;
}

function wrapHex(hex, perLine) {
  // A redaction marker stays whole on its line.
  const tokens = hex.match(/<redacted \d+ bytes>|\S+/g) ?? [];
  const lines = [];
  for (let i = 0; i < tokens.length; i += perLine) lines.push(tokens.slice(i, i + perLine).join(" "));
  return lines.join("\n");
}

const UART_DIR = {
  "to-module": { label: "MCU → ESP8266", short: "→" },
  "to-mcu": { label: "ESP8266 → MCU", short: "←" },
};

/** One UART entry: an AT line as text, raw data as hex, secrets as a marker. */
export function renderUart(entry) {
  const d = UART_DIR[entry.direction];
  const content = el("span", { class: "content" });
  for (const part of entry.parts) {
    if ("text" in part) content.append(el("span", { class: "text", text: part.text }));
    else if ("hex" in part) content.append(el("span", { class: "hex", text: part.hex }));
    else content.append(el("span", { class: "redacted", text: `<redacted ${part.redacted} bytes>` }));
  }
  return el(
    "li",
    { class: `uline ${entry.direction}`, "data-direction": entry.direction },
    el("span", { class: "time", text: formatTime(entry.t) }),
    el("span", { class: "udir", title: d.label }, el("span", { "aria-hidden": "true", text: d.short }), el("span", { class: "visually-hidden", text: d.label })),
    content,
  );
}

/** One line of the event list; null for kinds not listed. */
export function renderEvent(msg) {
  let text;
  let kind = msg.k;
  switch (msg.k) {
    case "led":
      text = `LED ${msg.on ? "ON" : "off"}`;
      break;
    case "link":
      text = `${msg.layer.toUpperCase()} ${msg.state}${msg.detail ? ` (${msg.detail})` : ""}`;
      break;
    case "publish":
      text = `${msg.direction === "up" ? "device →" : "cloud →"} ${msg.kind}${msg.delivered === false ? " (not delivered: the device is offline)" : ""}: ${msg.payload}`;
      break;
    case "error":
      text = `error ${msg.code}${msg.detail ? `: ${msg.detail}` : ""}`;
      break;
    case "app":
      text = `app ${msg.event}${msg.detail ? `: ${msg.detail}` : ""}`;
      break;
    case "fault":
      text = `fault injected: ${msg.fault}`;
      break;
    case "log":
      text = `[${msg.level}] ${msg.message}`;
      break;
    case "control":
      text = `${msg.ok ? "✓" : "✗"} ${msg.action}: ${msg.message}`;
      kind = msg.ok ? "control" : "error";
      break;
    default:
      return null;
  }
  return el("li", { class: `event ${kind}`, "data-kind": msg.k, "data-level": msg.level }, el("span", { class: "time", text: formatTime(msg.t) }), el("span", { class: "etext", text }));
}
