/*
 * A token signed with the product key, as a user makes it: `onenet-led token --product-key` (a process),
 * compared with OneNET's SDK algorithm (dev_token_generate in cm-heclouds/OneNET_AIO_c utils/dev_token.c)
 * computed here independently with Node's crypto, then presented to the embedded broker by a plain MQTT
 * client, and by the firmware itself on the simulated bench.
 */
import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { OneNetBroker } from "../../host-sim/broker/onenet-broker.js";
import { Simulation } from "../../host-sim/sim.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const PID = "238322";
const DEV = "mqtts-test-device";
const DEVICE_KEY = "EnW4T71eIE55xOIQMN6pFMKuqel5T5HTzsGJRPiDhlM=";
const PRODUCT_KEY = "cHJvZHVjdGtleXByb2R1Y3RrZXlwcm9kdWN0a2V5MDA=";
const ET = 4102444800;

/**
 * The SDK's dev_token_generate with a device name: res = products/{pid}/devices/{name} whichever key is
 * given; the string to sign "et\nmethod\nres\n2018-10-31"; the sign base64'd and then escaped character
 * by character for + space / ? % # & = (nothing else), as its switch does.
 */
function sdkToken(productId: string, deviceName: string, key: string, method: "md5" | "sha1" | "sha256", et: number): string {
  const sign = createHmac(method, Buffer.from(key, "base64")).update(`${et}\n${method}\nproducts/${productId}/devices/${deviceName}\n2018-10-31`).digest("base64");
  const escapes: Record<string, string> = { "+": "%2B", " ": "%20", "/": "%2F", "?": "%3F", "%": "%25", "#": "%23", "&": "%26", "=": "%3D" };
  const escaped = [...sign].map((c) => escapes[c] ?? c).join("");
  return `version=2018-10-31&res=products%2F${productId}%2Fdevices%2F${deviceName}&et=${et}&method=${method}&sign=${escaped}`;
}

function tokenTool(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/onenet-led.js", "token", ...args], { cwd: root, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

let broker: OneNetBroker | undefined;
let sim: Simulation | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  await broker?.close();
  broker = undefined;
});

describe("a product-key token", () => {
  it("from the token tool equals the SDK's algorithm computed here, and the broker admits it", async () => {
    for (const method of ["sha1", "sha256", "md5"] as const) {
      const r = await tokenTool("--product", PID, "--device", DEV, "--key", PRODUCT_KEY, "--product-key", "--method", method, "--et", String(ET));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(sdkToken(PID, DEV, PRODUCT_KEY, method, ET));
    }
    const token = (await tokenTool("--product", PID, "--device", DEV, "--key", PRODUCT_KEY, "--product-key", "--et", String(ET))).stdout.trim();

    broker = new OneNetBroker({ devices: [{ productId: PID, deviceName: DEV, key: DEVICE_KEY }], productKeys: { [PID]: PRODUCT_KEY } });
    const port = await broker.listen();
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: DEV, username: PID, password: token, protocolVersion: 4, keepalive: 60, reconnectPeriod: 0 });
    expect(broker.isOnline(PID, DEV)).toBe(true);
    expect(broker.history.find((e) => e.type === "connack")).toMatchObject({ returnCode: 0 });
    await client.endAsync(true);

    // Without the product key the broker refuses it (CONNACK 4), as OneNET would a wrong key.
    const other = new OneNetBroker({ devices: [{ productId: PID, deviceName: DEV, key: DEVICE_KEY }] });
    try {
      const p2 = await other.listen();
      await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${p2}`, { clientId: DEV, username: PID, password: token, reconnectPeriod: 0 })).rejects.toMatchObject({ code: 4 });
    } finally {
      await other.close();
    }
  });

  it("the product-level res stays available, labelled for the HTTP API, and the broker refuses it at a login", async () => {
    const r = await tokenTool("--api", "--product", PID, "--key", PRODUCT_KEY, "--product-key", "--et", String(ET), "--explain");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1\. res\s+products\/238322 {3}\(product level: for OneNET's HTTP API, not a device login\)/);
    const plain = await tokenTool("--api", "--product", PID, "--key", PRODUCT_KEY, "--product-key", "--et", String(ET));
    const sign = createHmac("sha1", Buffer.from(PRODUCT_KEY, "base64")).update(`${ET}\nsha1\nproducts/${PID}\n2018-10-31`).digest("base64");
    expect(plain.stdout.trim()).toBe(`version=2018-10-31&res=products%2F${PID}&et=${ET}&method=sha1&sign=${encodeURIComponent(sign)}`);
    expect(plain.stderr).toContain("this token is for OneNET's HTTP API (res = products/<pid>); a device cannot log in with it");
    expect((await tokenTool("--api", "--product", PID, "--device", DEV, "--key", PRODUCT_KEY, "--product-key")).stderr).toMatch(/--api .* leave out --device/);

    broker = new OneNetBroker({ devices: [{ productId: PID, deviceName: DEV, key: DEVICE_KEY }], productKeys: { [PID]: PRODUCT_KEY } });
    const port = await broker.listen();
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: DEV, username: PID, password: plain.stdout.trim(), reconnectPeriod: 0 })).rejects.toMatchObject({ code: 4 });
    expect(broker.history.find((e) => e.type === "connack")).toMatchObject({ returnCode: 4, reason: "token: bad_res" });
  });

  it("signs the firmware's own login: the device configured with keyKind product comes online and obeys a set", async () => {
    sim = await Simulation.create({ productId: PID, deviceName: DEV, key: DEVICE_KEY, productKey: PRODUCT_KEY, config: { keyKind: "product", key: PRODUCT_KEY } });
    sim.start();
    const s = sim;
    expect(await s.runUntil(() => s.online, 120_000)).toBe(true);
    const connect = s.broker!.history.find((e) => e.type === "packet" && e.cmd === "connect") as { bytes: Uint8Array };
    expect(Buffer.from(connect.bytes).toString("latin1")).toContain(`res=products%2F${PID}%2Fdevices%2F${DEV}&`);
    const id = await s.setLed(true);
    expect(await s.runUntil(() => s.replyTo(id) !== undefined, 10_000)).toBe(true);
    expect(s.ledOn).toBe(true);
  });
});
