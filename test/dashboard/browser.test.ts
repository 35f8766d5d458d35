// The dashboard in a real browser: headless Chromium (Debian's `chromium`) driven by playwright-core,
// against a Simulation running in real time with the embedded broker.
import { existsSync, mkdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { Simulation } from "../../host-sim/sim.js";
import { startDashboard, type Dashboard } from "../../host-sim/dashboard/server.js";

const CHROMIUM = "/usr/bin/chromium";
const WAIT = 60_000;
const ARTIFACTS = new URL("../../artifacts/", import.meta.url);

let sim: Simulation | undefined;
let dash: Dashboard | undefined;
let browser: Browser | undefined;

beforeAll(() => {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium is missing at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (Debian package; .ci/run installs it)`);
});

afterAll(async () => {
  await browser?.close();
  await dash?.close();
  await sim?.close();
});

async function packetCount(page: Page, selector: string): Promise<number> {
  return page.locator(selector).count();
}

describe("dashboard in headless Chromium", () => {
  it("shows the board come online, switches the LED from the page, lists the packets; in a WiFi drop a set fails and a desired value waits, applied on recovery", { timeout: 240_000 }, async () => {
    sim = await Simulation.create({ mode: "real" });
    sim.start();
    dash = await startDashboard(sim, { port: 0 });
    expect(dash.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    page.on("console", (msg) => {
      // The refused set below answers 409 on purpose (device not online); Chromium logs every 4xx.
      if (msg.type() === "error" && !/status of 409/.test(msg.text())) pageErrors.push(msg.text());
    });
    await page.goto(dash.url);

    // Boot to online: module boot, WiFi join, TCP, CONNECT/CONNACK, SUBSCRIBE/SUBACK (~4 s of module delays).
    await page.waitForSelector('.layer[data-layer="mqtt"][data-state="online"]', { timeout: WAIT });
    await page.waitForSelector('#link-banner[data-online="true"]', { timeout: WAIT });
    expect(await page.locator('.layer[data-layer="wifi"]').getAttribute("data-state")).toBe("up");
    expect(await page.locator('.layer[data-layer="tcp"]').getAttribute("data-state")).toBe("up");
    await page.waitForSelector('li.packet[data-type="CONNECT"][data-direction="up"]', { timeout: WAIT });
    await page.waitForSelector('li.packet[data-type="SUBACK"][data-direction="down"]', { timeout: WAIT });
    expect(await page.locator("#lamp").getAttribute("data-on")).toBe("false");

    const topic = (name: string) => `$sys/${sim!.config.onenet.productId}/${sim!.config.onenet.deviceName}/thing/property/${name}`;
    const setReply = `li.packet[data-type="PUBLISH"][data-direction="up"][data-topic="${topic("set_reply")}"]`;
    const post = `li.packet[data-type="PUBLISH"][data-direction="up"][data-topic="${topic("post")}"]`;
    const set = `li.packet[data-type="PUBLISH"][data-direction="down"][data-topic="${topic("set")}"]`;
    const postsBefore = await packetCount(page, post);
    expect(await packetCount(page, setReply)).toBe(0);

    // "LED on", pressed with the keyboard: a real button, reachable and usable without a mouse.
    const ledOn = page.getByRole("button", { name: "LED on", exact: true });
    await ledOn.focus();
    await page.keyboard.press("Enter");

    await page.waitForSelector('#lamp[data-on="true"]', { timeout: WAIT });
    await expect.poll(() => page.getByRole("img", { name: "LED on" }).count(), { timeout: WAIT }).toBe(1);
    expect(sim.ledOn).toBe(true);
    await page.waitForSelector(set, { timeout: WAIT });
    await page.waitForSelector(setReply, { timeout: WAIT });
    await expect.poll(() => packetCount(page, post), { timeout: WAIT, interval: 200 }).toBeGreaterThan(postsBefore);
    expect(await page.locator("#control-result").textContent()).toContain("property/set led=true sent");

    // The set_reply opens into the byte-by-byte breakdown.
    const reply = page.locator(setReply).first();
    expect(await reply.locator("summary .subject").textContent()).toBe("thing/property/set_reply");
    await reply.locator("summary").focus();
    await page.keyboard.press("Enter");
    // The breakdown is built when the packet is first opened.
    await reply.locator("table.fields").first().waitFor({ timeout: WAIT });
    const captions = await reply.locator("table.fields caption").allTextContents();
    expect(captions.map((c) => c.split(" (")[0])).toEqual(["fixed header", "variable header", "payload"]);
    const rows = await reply.locator("table.fields tbody th").allTextContents();
    expect(rows).toEqual(expect.arrayContaining(["packet type", "flags", "remaining length", "topic length", "topic", "message"]));
    expect(await reply.locator("table.fields tbody tr", { hasText: "topic" }).filter({ hasText: "UTF-8" }).textContent()).toContain(topic("set_reply"));
    expect(await reply.locator(".packet-body").textContent()).toContain('"code":200');

    // The CONNECT shows its token only as a redaction marker.
    const connect = page.locator('li.packet[data-type="CONNECT"]').first();
    await connect.locator("summary").click();
    await connect.locator("table.fields").first().waitFor({ timeout: WAIT });
    const connectText = (await connect.locator(".packet-body").textContent()) ?? "";
    expect(connectText).toMatch(/<redacted \d+ bytes>/);
    expect(connectText).toContain("password");
    await connect.locator("summary").click();
    await reply.scrollIntoViewIfNeeded();

    // The UART list: AT lines as text, coloured by direction, the WiFi password hidden.
    const uartText = (await page.locator("#uart").textContent()) ?? "";
    expect(uartText).toContain('AT+CWJAP="onenet-lab","***"');
    expect(uartText).toContain("+CIPRECVDATA:");
    expect(await page.locator("li.uline.to-module").count()).toBeGreaterThan(5);
    expect(await page.locator("li.uline.to-mcu").count()).toBeGreaterThan(5);
    expect(await page.locator("li.uline .redacted").count()).toBeGreaterThan(0);

    // No secret anywhere in the page.
    const html = await page.content();
    expect(html).not.toContain(sim.config.wifi.password);
    expect(html).not.toContain("sign=");
    expect(html).not.toContain(sim.config.onenet.key);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL("dashboard-led-on.png", ARTIFACTS).pathname });

    // WiFi drop: the board goes down, then recovers by itself when the access point comes back.
    await page.getByRole("button", { name: "WiFi drop" }).click();
    await page.waitForSelector('#link-banner[data-online="false"]', { timeout: WAIT });
    await page.waitForSelector('.layer[data-layer="wifi"][data-level="down"]', { timeout: WAIT });
    expect(await page.locator("#link-banner").textContent()).toMatch(/^Link down/);
    // Offline: "LED off" fails as OneNET's console says; "Desired off" is kept for the device.
    await page.getByRole("button", { name: "LED off", exact: true }).click();
    await expect.poll(() => page.locator("#control-result").getAttribute("data-ok"), { timeout: WAIT }).toBe("false");
    expect(await page.locator("#control-result").textContent()).toMatch(/^LED off failed: device not online/);
    await page.getByRole("button", { name: "Desired off", exact: true }).click();
    await expect.poll(() => page.locator("#control-result").textContent(), { timeout: WAIT }).toMatch(/^Desired off: desired led=false set \(version 1\)/);
    expect(await page.locator("#lamp").getAttribute("data-on")).toBe("true");
    await page.screenshot({ path: new URL("dashboard-wifi-down.png", ARTIFACTS).pathname });
    await page.waitForSelector('.layer[data-layer="mqtt"][data-state="online"]', { timeout: WAIT });
    await page.waitForSelector('#link-banner[data-online="true"]', { timeout: WAIT });
    expect(await page.locator('.layer[data-layer="wifi"]').getAttribute("data-state")).toBe("up");
    expect(await page.locator('.layer[data-layer="tcp"]').getAttribute("data-state")).toBe("up");
    // Back online, the device fetched the desired value, applied it and deleted it.
    await page.waitForSelector('#lamp[data-on="false"]', { timeout: WAIT });
    await expect.poll(() => sim!.broker!.desired(sim!.config.onenet.productId, sim!.config.onenet.deviceName), { timeout: WAIT }).toEqual({});
    await page.screenshot({ path: new URL("dashboard-recovered.png", ARTIFACTS).pathname });

    expect(pageErrors).toEqual([]);
  });
});
