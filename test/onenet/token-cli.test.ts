import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import seed from "../fixtures/seed-vectors.json" with { type: "json" };

const root = fileURLToPath(new URL("../..", import.meta.url));
const KEY = "b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU=";

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/onenet-led.js", "token", ...args], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const PRODUCT_KEY = "cHJvZHVjdGtleXByb2R1Y3RrZXlwcm9kdWN0a2V5MDA=";
const seedArgs = ["--product", "L14FCC38pq", "--device", "test1", "--key", KEY, "--et", "2017881776"];

describe("onenet-led token", () => {
  it("prints the seed's token exactly for the issue's example", async () => {
    const r = await cli(...seedArgs, "--method", "sha1");
    expect(r).toEqual({ code: 0, stdout: `${seed.onenet.token}\n`, stderr: "" });
  });

  it("--explain shows each step and never the key; other methods, --days, --product-key", async () => {
    const [explain, sha256, md5, days, product] = await Promise.all([
      cli(...seedArgs, "--explain"),
      cli(...seedArgs, "--method", "sha256"),
      cli(...seedArgs, "--method=md5"),
      cli("--product", "L14FCC38pq", "--device", "test1", "--key", KEY, "--days", "2"),
      cli("--product", "L14FCC38pq", "--device", "test1", "--key", PRODUCT_KEY, "--et", "2017881776", "--product-key"),
    ]);
    expect(explain.code).toBe(0);
    expect(explain.stdout).toContain('"2017881776\\nsha1\\nproducts/L14FCC38pq/devices/test1\\n2018-10-31"');
    expect(explain.stdout).toContain("f2e905699eed2befa98ac44451844b61c4a2455c");
    expect(explain.stdout).toContain("8ukFaZ7tK++pisREUYRLYcSiRVw=");
    expect(explain.stdout).toContain(seed.onenet.token);
    expect(explain.stdout).not.toContain(KEY);
    expect(sha256.stdout.trim()).toMatch(/&method=sha256&sign=aXnhD5A%2B2%2FOLsA%2BlVLa7C5XCwoiISGkdFOs6nFpQhOA%3D$/);
    expect(md5.stdout.trim()).toMatch(/&method=md5&sign=IWc62R%2FPfsibkYMxCRuD8g%3D%3D$/);
    const et = Number(/&et=(\d+)&/.exec(days.stdout)?.[1]);
    expect(Math.abs(et - (Date.now() / 1000 + 2 * 86_400))).toBeLessThan(120);
    // The product key signs the same device res (its sign differs: another key).
    expect(product.stdout).toContain("&res=products%2FL14FCC38pq%2Fdevices%2Ftest1&");
    expect(product.stdout.trim()).not.toBe(seed.onenet.token);
  });

  it("--help prints the usage and exits 0", async () => {
    const r = await cli("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("--product <pid>");
    expect(r.stdout).toContain("--explain");
  });

  it("bad input: exit 1, the bad option named, no stack trace, no key", async () => {
    const badKey = "b0ZHZ1BnNTdBSUV2c0dh!mJGMDBRYVJXS090VEVnMHU=";
    const cases: [string[], string][] = [
      [["--product", "L14FCC38pq", "--device", "test1", "--key", badKey, "--et", "2017881776"], "--key"],
      [["--product", "L14FCC38pq", "--device", "test1", "--key", "QUJD", "--et", "2017881776"], "--key"],
      [["--product", "L14FCC38pq", "--device", "a/b", "--key", KEY, "--et", "2017881776"], "--device"],
      [["--product", "", "--device", "test1", "--key", KEY, "--et", "2017881776"], "--product"],
      [[...seedArgs, "--method", "sha512"], "--method"],
      [["--product", "L14FCC38pq", "--device", "test1", "--key", KEY, "--et", "soon"], "--et"],
      [["--product", "L14FCC38pq", "--device", "test1", "--key", KEY, "--et", "1000"], "--et"],
      [["--product", "L14FCC38pq", "--device", "test1", "--key", KEY, "--days", "0"], "--days"],
      [[...seedArgs, "--days", "3"], "--days"],
      [["--device", "test1", "--key", KEY], "--product"],
      [[...seedArgs, "--colour", "red"], "--colour"],
      [[...seedArgs, "extra"], "extra"],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(...args)));
    results.forEach((r, i) => {
      const [args, named] = cases[i];
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain(named);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).not.toContain(KEY);
      expect(r.stderr).not.toContain(badKey);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    });
  });
});
