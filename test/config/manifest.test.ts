/*
 * manifest.json against the tree: every firmware module reaches the Moddable build under the
 * specifier its relative imports expect, and every platform's config defaults, with credentials
 * added as mcconfig would (strings), pass both config parsers.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../firmware/config.js";
import { parseBoardConfig } from "../../firmware/moddable/pins.js";

const ROOT = join(import.meta.dirname, "../..");

interface Manifest {
  include: string[];
  modules: Record<string, string | string[]>;
  preload: string[];
  config: Record<string, unknown>;
  platforms: Record<string, { modules?: Record<string, string>; config?: Record<string, unknown>; error?: string }>;
}

const manifest = JSON.parse(readFileSync(join(ROOT, "manifest.json"), "utf8")) as Manifest;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(relative(ROOT, p).slice(0, -3));
  }
  return out;
}

/** Module specifier -> source path (no extension), expanding "dir/*" entries like mcconfig does. */
function specifiers(modules: Record<string, string | string[]>): Map<string, string> {
  const map = new Map<string, string>();
  for (const [key, value] of Object.entries(modules)) {
    for (const source of Array.isArray(value) ? value : [value]) {
      const path = source.replace(/^\.\//, "");
      const prefix = key === "*" ? "" : key.endsWith("/*") ? key.slice(0, -1) : undefined;
      if (path.endsWith("/*")) {
        const dir = path.slice(0, -2);
        for (const f of readdirSync(join(ROOT, dir))) {
          if (f.endsWith(".ts") && !f.endsWith(".d.ts")) map.set((prefix ?? "") + f.slice(0, -3), `${dir}/${f.slice(0, -3)}`);
        }
      } else {
        const base = path.slice(path.lastIndexOf("/") + 1);
        map.set(prefix === undefined ? key : prefix + base, path);
      }
    }
  }
  return map;
}

describe("manifest.json", () => {
  it("includes the base and ECMA-419 IO manifests", () => {
    expect(manifest.include).toEqual(["$(MODDABLE)/examples/manifest_base.json", "$(MODDABLE)/modules/io/manifest.json"]);
  });

  it("builds every firmware module under the specifier of its path in firmware/", () => {
    const map = specifiers(manifest.modules);
    for (const [spec, path] of map) {
      expect(existsSync(join(ROOT, `${path}.ts`)), `${spec} -> ${path}.ts`).toBe(true);
      // relative imports ("../board.js" from moddable/board) only resolve if the folders are kept
      expect(`firmware/${spec}`).toBe(path);
    }
    const lin = specifiers(manifest.platforms.lin?.modules ?? {});
    const covered = new Set([...map.values(), ...lin.values()]);
    const missing = tsFiles(join(ROOT, "firmware")).filter((f) => !covered.has(f));
    expect(missing).toEqual([]);
  });

  it("preloads everything but main (which runs at boot), each module by name", () => {
    // mcconfig matches preload wildcards against .js files only: "mqtt/*" would preload nothing.
    expect(manifest.preload.filter((p) => p.includes("*"))).toEqual([]);
    const map = specifiers(manifest.modules);
    for (const spec of map.keys()) expect(manifest.preload.includes(spec), spec).toBe(spec !== "main");
    for (const spec of manifest.preload) expect(map.has(spec), `preload ${spec} is a module`).toBe(true);
  });

  it("gives lin a Digital stub, and unknown platforms a clear error", () => {
    expect(manifest.platforms.lin?.modules?.["embedded:io/digital"]).toBe("./firmware/moddable/lin/digital");
    expect(manifest.platforms["..."]?.error).toMatch(/esp32, pico, zephyr\/nucleo_f413zh, zephyr\/stm32f4_disco, zephyr\/olimex_stm32_h405 \(QEMU\) and lin/);
  });

  it.each(["esp32", "pico", "zephyr/nucleo_f413zh", "zephyr/stm32f4_disco", "zephyr/olimex_stm32_h405", "lin"])("%s defaults parse once credentials are given", (platform) => {
    const entry = manifest.platforms[platform];
    expect(entry).toBeDefined();
    const credentials = {
      ssid: "MyWiFi",
      password: "secret123",
      product: "AbCdEf1234",
      device: "led1",
      key: "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=",
    };
    const raw = { ...manifest.config, ...entry!.config, ...credentials };
    const device = parseConfig(raw);
    expect(device.mqtt).toMatchObject({ host: "mqtts.heclouds.com", port: 1883, tls: false, keepaliveS: 120 });
    expect(device.at.receiveMode).toBe("passive");
    const board = parseBoardConfig(raw);
    expect(board.uart.baud).toBe(115200);
    expect(board.reset).toBeUndefined();
    // Everything again as command-line strings, the way `mcconfig key=value` delivers it.
    const strings = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
    expect(parseConfig(strings)).toEqual(device);
    expect(parseBoardConfig(strings)).toEqual(board);
  });

  it("stops with a named error when credentials are left at the manifest's empty defaults", () => {
    expect(() => parseConfig({ ...manifest.config, ...manifest.platforms.esp32!.config })).toThrow(/"ssid"/);
  });
});
