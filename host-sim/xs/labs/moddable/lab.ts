/*
 * Moddable's own MQTT client (modules/network/mqtt/mqtt.js from a local Moddable SDK, never
 * committed here) inside xsnap, fed the same packets as ours, for bench/xs.ts. Its Moddable
 * modules are the stand-ins next to this file.
 */
import "./globals.js";
import Client from "moddable-mqtt";
import { Socket } from "./socket.js";
import { runTimers } from "./timer.js";
import { fromHex } from "../hex.js";

export class ModdableLab {
  readonly client: Client;
  private readonly socket: Socket;
  received = 0;
  ready = false;
  private packet: ArrayBuffer = new ArrayBuffer(0);

  constructor(connackHex: string) {
    this.client = new Client({ host: "mqtts.heclouds.com", port: 1883, id: "test1", user: "L14FCC38pq", password: "token", timeout: 0 });
    this.client.onReady = () => {
      this.ready = true;
    };
    this.client.onMessage = () => {
      this.received++;
    };
    const socket = Socket.last;
    if (!socket?.callback) throw new Error("Moddable's client did not open a socket");
    this.socket = socket;
    socket.callback(1); // connected: the client writes CONNECT
    this.deliver(connackHex);
  }

  /** One read of `hex` from the socket, then the client's deferred dispatch. */
  deliver(hex: string): void {
    this.socket.pending = fromHex(hex).buffer as ArrayBuffer;
    this.socket.callback?.(2);
    runTimers();
  }

  /** Receives the prepared PUBLISH `n` times (one socket read each). */
  prepare(hex: string): void {
    this.packet = fromHex(hex).buffer as ArrayBuffer;
  }

  receive(n: number): number {
    const socket = this.socket;
    for (let i = 0; i < n; i++) {
      socket.pending = this.packet;
      socket.callback?.(2);
      runTimers();
    }
    return this.received;
  }

  send(topic: string, payload: string, n: number): number {
    for (let i = 0; i < n; i++) this.client.publish(topic, payload);
    return this.socket.written;
  }
}
