/*
 * `onenet-led run --chip pico --image ...` as a user runs it, checked in a real browser: the
 * dashboard shows the emulated Pico come online, and its LED follows sets pressed on the page.
 * For `npm run chip` (Debian's chromium and playwright-core, as the dashboard's own tests use).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { PROJECT_ROOT } from "./build.js";

const CHROMIUM = "/usr/bin/chromium";

export async function dashboardFollowsSets(image: string, bootrom: string, limitMs = 240_000): Promise<{ ok: boolean; detail: string }> {
  if (!existsSync(CHROMIUM)) return { ok: false, detail: `no Chromium at ${CHROMIUM} (apt-get install chromium)` };
  const cli = spawn(process.execPath, [join(PROJECT_ROOT, "bin/onenet-led.js"), "run", "--chip", "pico", "--image", image, "--bootrom", bootrom, "--dashboard-port", "0"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  cli.stdout.on("data", (c: Buffer) => (out += c.toString()));
  cli.stderr.on("data", (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => cli.on("exit", (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, ms: number): Promise<string> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = pattern.exec(out);
      if (m) return m[1] ?? m[0];
      if (Date.now() > deadline) throw new Error(`no ${pattern} in ${ms / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
  try {
    const url = await waitFor(/dashboard: (http:\/\/\S+)/, 60_000);
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForSelector('.layer[data-layer="mqtt"][data-state="online"]', { timeout: limitMs });
    for (const [action, lit] of [["led-on", "true"], ["led-off", "false"]] as const) {
      await page.click(`button[data-action="${action}"]`);
      await page.waitForSelector(`#lamp[data-on="${lit}"]`, { timeout: 60_000 });
    }
    await waitFor(/LED ON {3}\(\*\)[\s\S]*LED OFF {2}\( \)/, 10_000);
    cli.stdin.write("quit\n");
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("timeout"), 30_000))]);
    return { ok: code === 0, detail: `online on the page, the lamp followed led-on and led-off, the console printed both; quit exit ${code}` };
  } catch (error) {
    return { ok: false, detail: `${error instanceof Error ? error.message : String(error)}; the CLI printed:\n${out.slice(-2000)}` };
  } finally {
    await browser.close();
    cli.kill();
  }
}
