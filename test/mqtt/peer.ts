/* mqtt-packet (a peer nobody here wrote) as a reference: parse bytes, generate bytes. */
import mqtt from "mqtt-packet";

export interface PeerResult {
  packets: mqtt.Packet[];
  errors: string[];
}

export function peerParse(bytes: Uint8Array): PeerResult {
  const parser = mqtt.parser({ protocolVersion: 4 });
  const result: PeerResult = { packets: [], errors: [] };
  parser.on("packet", (p) => result.packets.push(p));
  parser.on("error", (e) => result.errors.push(e.message));
  parser.parse(Buffer.from(bytes));
  return result;
}

export function peerGenerate(packet: mqtt.Packet): Uint8Array {
  return new Uint8Array(mqtt.generate(packet, { protocolVersion: 4 }));
}
