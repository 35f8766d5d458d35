// The READMEs stay true to each other and to the tool: both start with the same two commands, the English one
// links the Chinese one from its top, the Chinese wiring tables carry the same pins and settings, both walk
// through the OneNET console and troubleshooting, and every `run` option the README names exists.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url);
const en = readFileSync(new URL("README.md", root), "utf8");
const zh = readFileSync(new URL("README.zh-CN.md", root), "utf8");

const firstBlock = (text: string) => /```sh\n([\s\S]*?)```/.exec(text)![1]!;
const commands = (block: string) => block.split("\n").filter(Boolean).map((line) => line.split("#")[0]!.trim());
/** Table rows whose last cell is a config setting (`key=value`): the wiring tables. */
const wiringSettings = (text: string) => [...text.matchAll(/^\|.*\| (`[a-z]+[A-Za-z]*=[^|]*`) \|$/gm)].map((m) => m[1]);

describe("README.md and README.zh-CN.md", () => {
  it("start with the same two commands, and README.md links the Chinese one at its top", () => {
    expect(en.split("\n")[2]).toBe("```sh");
    expect(commands(firstBlock(en))).toEqual(["npm install && npm start", "npm test"]);
    expect(commands(firstBlock(zh))).toEqual(["npm install && npm start", "npm test"]);
    const top = en.split("\n").slice(0, 12).join("\n");
    expect(top).toContain("(README.zh-CN.md)");
  });

  it("have the same wiring settings, a OneNET console walk-through and a troubleshooting table", () => {
    expect(wiringSettings(zh)).toEqual(wiringSettings(en));
    expect(wiringSettings(en).length).toBeGreaterThanOrEqual(10);
    for (const [text, walkthrough, trouble] of [
      [en, "## On the real OneNET", "## Troubleshooting"],
      [zh, "## 在 OneNET 控制台上的操作", "## 常见问题"],
    ] as const) {
      expect(text).toContain(walkthrough);
      expect(text).toContain(trouble);
      // The thing model: a read-write boolean property with the identifier the firmware uses.
      expect(text).toMatch(/`led`/);
      expect(text).toContain("OneJson");
      expect(text).toContain("npx onenet-led run --broker mqtts.heclouds.com:1883 --product");
    }
  });

  it("names only `run` options that exist", () => {
    const help = spawnSync(process.execPath, [new URL("bin/onenet-led.js", root).pathname, "run", "--help"], { encoding: "utf8" }).stdout;
    const table = en.slice(en.indexOf("| option | what |"), en.indexOf("## The other"));
    const named = [...table.matchAll(/`(--[a-z-]+)/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(10);
    for (const option of new Set(named)) expect(help, option).toContain(option);
  });
});
