// The dashboard's page in headless Chromium (Debian's `chromium`, playwright-core), for what a user sees
// around the data: the page is exactly the window (no blank scroll below it), it stops saying "Online"
// once the simulator has quit (or can no longer be reached), and the packet list keeps its columns when
// board time reaches three digits. The first two drive `onenet-led run` as a process, as a user does.
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { Simulation } from "../../host-sim/sim.js";
import { startDashboard, type Dashboard } from "../../host-sim/dashboard/server.js";
import { startCli, type CliProcess } from "../helpers/cli.js";

const CHROMIUM = "/usr/bin/chromium";
const WAIT = 60_000;

let browser: Browser | undefined;
const processes: CliProcess[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium is missing at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (Debian package; .ci/run installs it)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
});

afterAll(async () => {
  for (const p of processes) p.kill("SIGKILL");
  await browser?.close();
});

async function simulatorWithPage(): Promise<{ cli: CliProcess; page: Page }> {
  const cli = startCli(["run", "--quiet"]);
  processes.push(cli);
  const url = (await cli.waitFor(/dashboard: http:\/\/127\.0\.0\.1:\d+\//, 20_000)).slice("dashboard: ".length);
  const page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(url);
  await page.waitForSelector('#link-banner[data-online="true"]', { timeout: WAIT });
  return { cli, page };
}

describe("dashboard page (headless Chromium)", () => {
  it("is exactly the window: the lists scroll, the page has no blank space below", { timeout: 120_000 }, async () => {
    const { cli, page } = await simulatorWithPage();
    // Enough UART lines that the list overflows its box many times over.
    await expect.poll(() => page.locator("#uart li").count(), { timeout: WAIT }).toBeGreaterThan(50);
    const sizes = await page.evaluate<{ page: number; window: number; uart: number; uartBox: number }>(`({
      page: document.scrollingElement.scrollHeight,
      window: window.innerHeight,
      uart: document.getElementById("uart").scrollHeight,
      uartBox: document.getElementById("uart").clientHeight,
    })`);
    expect(sizes.uart).toBeGreaterThan(sizes.uartBox * 2);
    expect(sizes.page).toBeLessThanOrEqual(sizes.window);
    cli.type("quit");
    expect((await cli.exited).code).toBe(0);
    await page.close();
  });

  it("says the simulator stopped after quit, and never 'Online' once it is gone", { timeout: 120_000 }, async () => {
    const { cli, page } = await simulatorWithPage();
    expect(await page.locator("#link-banner").textContent()).toMatch(/^Online/);
    cli.type("quit");
    expect((await cli.exited).code).toBe(0);
    await page.waitForSelector('#link-banner[data-online="unknown"]', { timeout: WAIT });
    expect(await page.locator("#link-banner").textContent()).toMatch(/^Simulator stopped: the board is off/);
    expect(await page.locator("#stream").textContent()).toBe("Simulator stopped");
    // The board's own going-down reached the page before the end.
    expect(await page.locator('.layer[data-layer="mqtt"]').getAttribute("data-state")).toBe("stopped");
    await page.close();

    // A simulator killed outright sends no goodbye: the page says it cannot reach it.
    const killed = await simulatorWithPage();
    killed.cli.kill("SIGKILL");
    await killed.page.waitForSelector('#link-banner[data-online="unknown"]', { timeout: WAIT });
    expect(await killed.page.locator("#link-banner").textContent()).toMatch(/^Simulator not reachable/);
    await killed.page.close();
  });

  it("keeps the packet columns in place when board time reaches three digits", { timeout: 120_000 }, async () => {
    let sim: Simulation | undefined;
    let dash: Dashboard | undefined;
    try {
      // Virtual time: minutes of board time in a second, past the second PINGREQ (keepalive 120 s).
      sim = await Simulation.create({ keepaliveS: 120 });
      dash = await startDashboard(sim, { port: 0 });
      sim.start();
      expect(await sim.runUntil(() => sim!.online, 60_000)).toBe(true);
      const page = await browser!.newPage({ viewport: { width: 1440, height: 900 } });
      await page.goto(dash.url);
      await page.waitForSelector('li.packet[data-type="SUBACK"]', { timeout: WAIT });
      await sim.runFor(200_000);
      await expect.poll(() => page.locator('li.packet[data-type="PINGRESP"]').count(), { timeout: WAIT }).toBeGreaterThanOrEqual(2);
      const rows = await page.locator("li.packet summary").evaluateAll((summaries) =>
        summaries.map((s) => ({
          time: s.querySelector(".time")!.textContent!,
          badge: Math.round(s.querySelector(".dir-badge")!.getBoundingClientRect().left),
          type: Math.round(s.querySelector(".ptype")!.getBoundingClientRect().left),
          subject: Math.round(s.querySelector(".subject")!.getBoundingClientRect().left),
        })),
      );
      expect(rows.some((r) => /^\d\.\d{3} s$/.test(r.time)), JSON.stringify(rows)).toBe(true);
      expect(rows.some((r) => /^\d{3}\.\d{3} s$/.test(r.time)), JSON.stringify(rows)).toBe(true);
      for (const column of ["badge", "type", "subject"] as const) expect(new Set(rows.map((r) => r[column])), column).toHaveProperty("size", 1);
      await page.close();
    } finally {
      await dash?.close();
      await sim?.close();
    }
  });
});
