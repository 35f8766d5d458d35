/*
 * What the bench sees of an emulated chip from outside, as a developer with a logic analyser on a
 * real bench would: the module's WiFi and links (the ESP8266 emulator's events) and the MQTT
 * session on its TCP link (./mqtt-watch.ts). It feeds the same observer the host-board firmware
 * reports to, so the CLI, the dashboard and the tests treat a chip like any other device.
 */
import type { LedDeviceObserver } from "../../firmware/app.js";
import type { LinkStatus } from "../../firmware/at/driver.js";
import type { EmulatorEvent } from "../esp8266/emulator.js";
import type { BenchParts } from "../sim.js";
import { MqttWatch, type WatchedPacket } from "./mqtt-watch.js";

export function linkStatusOf(event: EmulatorEvent): LinkStatus | undefined {
  switch (event.type) {
    case "reset":
      return "module-starting";
    case "ready":
      return "module-ready";
    case "wifi":
      if (event.state === "joining") return "wifi-joining";
      if (event.state === "got-ip") return "wifi-up";
      if (event.state === "disconnected" || event.state === "failed") return "wifi-down";
      return undefined;
    case "link":
      if (event.state === "connecting") return "link-opening";
      if (event.state === "open") return "link-up";
      return "link-down";
    default:
      return undefined;
  }
}

export interface OutsideView {
  readonly watch: MqttWatch;
  detach(): void;
}

export function watchFromOutside(bench: Pick<BenchParts, "emulator" | "network">, observer: LedDeviceObserver, onPacket?: (packet: WatchedPacket) => void): OutsideView {
  const watch = new MqttWatch((state) => observer.session?.(state), onPacket);
  const offNet = bench.network.listen(watch);
  const offModule = bench.emulator.listen((event) => {
    const status = linkStatusOf(event);
    if (status) observer.link?.(status, event.type === "link" || event.type === "wifi" ? event.detail : "");
  });
  return {
    watch,
    detach() {
      offNet();
      offModule();
    },
  };
}
