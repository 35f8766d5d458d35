// A broker that admits only the device, as OneNET does: a scripted login gate on a free loopback port in front
// of a real broker (Mosquitto). The first packet of every connection must be a CONNECT; when it carries the
// device's client id, user name (product id) and a valid OneNET token (checked by host-sim/broker/token-check,
// not by the firmware's code), the connection is piped to the broker behind; anything else gets CONNACK
// `refuseWith` (5, or 9: not an MQTT 3.1.1 code, but a broker may send it) and is closed.
//
// Public API:
//   startDeviceGate({ upstream: { host, port }, device: { productId, deviceName, key }, refuseWith }): Promise<DeviceGate>
//   interface DeviceGate { port; admitted: string[] (client ids); refused: string[]; close(): Promise<void> }
import net from "node:net";
import { MqttFramer } from "../../host-sim/broker/tap.js";
import { verifyToken } from "../../host-sim/broker/token-check.js";
import { dissect } from "../../host-sim/packet-dissect.js";

export interface DeviceGate {
  port: number;
  admitted: string[];
  refused: string[];
  close(): Promise<void>;
}

export interface DeviceGateOptions {
  upstream: { host: string; port: number };
  device: { productId: string; deviceName: string; key: string };
  refuseWith: number;
}

function connectFields(packet: Uint8Array): Record<string, unknown> | undefined {
  const d = dissect(packet, { role: "server" });
  const p = d.packets[0];
  if (!p || p.type !== "CONNECT" || p.error) return undefined;
  return Object.fromEntries(p.fields.map((f) => [f.name, f.value]));
}

export async function startDeviceGate(options: DeviceGateOptions): Promise<DeviceGate> {
  const admitted: string[] = [];
  const refused: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    const framer = new MqttFramer();
    const received: Buffer[] = [];
    const onData = (chunk: Buffer) => {
      received.push(chunk);
      const [first] = framer.push(chunk);
      if (!first) {
        if (framer.broken) client.destroy();
        return;
      }
      client.off("data", onData);
      client.pause();
      const fields = connectFields(first);
      const clientId = String(fields?.["client id"] ?? "?");
      const { productId, deviceName, key } = options.device;
      const verdict =
        fields && fields["client id"] === deviceName && fields["user name"] === productId && typeof fields["password"] === "string"
          ? verifyToken(fields["password"], { productId, deviceName, deviceKey: key, nowMs: Date.now() })
          : { ok: false as const };
      if (!verdict.ok) {
        refused.push(clientId);
        client.end(Buffer.from([0x20, 0x02, 0x00, options.refuseWith]));
        return;
      }
      admitted.push(clientId);
      const upstream = net.connect(options.upstream.port, options.upstream.host);
      sockets.add(upstream);
      upstream.on("close", () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on("error", () => upstream.destroy());
      client.on("close", () => upstream.end());
      upstream.write(Buffer.concat(received));
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    };
    client.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    admitted,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
