import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { describe, expect, it } from "vitest";
import { eventToJSON, formatEvent } from "../../host-sim/broker/format.js";
import { OneNetBroker } from "../../host-sim/broker/onenet-broker.js";
import { DEV, KEY, PID, token } from "./support.js";

function selfSigned(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "broker-tls-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("OneNetBroker listeners", () => {
  it("serves MQTT over TLS on loopback", async () => {
    const { key, cert } = selfSigned();
    const broker = new OneNetBroker({ devices: [{ productId: PID, deviceName: DEV, key: KEY }] });
    try {
      const port = await broker.listen(0, "127.0.0.1", { key, cert });
      const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${port}`, {
        protocolVersion: 4, clientId: DEV, username: PID, password: token(), keepalive: 60, reconnectPeriod: 0, ca: cert, rejectUnauthorized: true, servername: "localhost",
      });
      expect(broker.isOnline(PID, DEV)).toBe(true);
      expect(broker.history.find((e) => e.type === "link-open")).toMatchObject({ transport: "tls" });
      await client.endAsync();
    } finally {
      await broker.close();
    }
  });

  it("refuses to listen beyond loopback", async () => {
    const broker = new OneNetBroker({ devices: [] });
    try {
      await expect(broker.listen(0, "0.0.0.0")).rejects.toThrow(/loopback/);
    } finally {
      await broker.close();
    }
  });
});

describe("event formatting", () => {
  it("renders events as JSON-safe objects and lines without the token", async () => {
    const broker = new OneNetBroker({ devices: [{ productId: PID, deviceName: DEV, key: KEY }] });
    try {
      const port = await broker.listen();
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
        protocolVersion: 4, clientId: DEV, username: PID, password: token(), keepalive: 60, reconnectPeriod: 0,
      });
      await client.subscribeAsync(`$sys/${PID}/${DEV}/thing/#`);
      await client.publishAsync(`$sys/${PID}/${DEV}/thing/property/post`, '{"id":"1","params":{"led":{"value":true}}}', { qos: 1 });
      await broker.waitFor((e) => e.type === "cloud-publish", 2000, 0);
      broker.setProperty(PID, DEV, { led: false });
      await client.endAsync();
      await broker.waitFor((e) => e.type === "disconnected", 2000, 0);
      const lines = broker.history.map(formatEvent);
      const json = broker.history.map((e) => JSON.stringify(eventToJSON(e)));
      const all = lines.join("\n") + json.join("\n");
      expect(all).not.toContain("sign=");
      expect(all).not.toContain(encodeURIComponent(token()).slice(-20));
      expect(lines).toContain(`${DEV} online (CONNACK 0)`);
      expect(lines.some((l) => l.startsWith(`${DEV} -> property/post (QoS 1): {"id":"1"`))).toBe(true);
      expect(json.some((l) => l.includes('"hex":"20 02 00 00"'))).toBe(true);
      expect(json.some((l) => l.includes('"payload":"{\\"id\\":\\"1\\",\\"code\\":200,\\"msg\\":\\"success\\"}"'))).toBe(true);
    } finally {
      await broker.close();
    }
  });
});
