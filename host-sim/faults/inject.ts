/*
 * One place that knows how to inject each fault into the simulated bench, shared by the fault
 * campaign and the soak. Durations and rates are drawn from the caller's seeded random source.
 */
import type { SimDevice, Simulation } from "../sim.js";

export const FAULTS = ["wifi-drop", "tcp-close", "reset-module", "broker-restart", "uart-noise", "busy", "send-fail", "blackhole", "connack-refused"] as const;
export type Fault = (typeof FAULTS)[number];

/** What an injected fault leaves behind, for the checks that follow. */
export interface Injected {
  /** A UART noise window [from, to] (board time). */
  noise?: [number, number];
  /** A stalled path [from, to] (board time): bytes held in the network, lost if the link dies first. */
  stall?: [number, number];
  /** A CONNACK refusal that sends the session into its long back-off. */
  refusedLong?: boolean;
}

export function injectFault(sim: Simulation<SimDevice>, fault: Fault, random: () => number, keepaliveS: number): Injected {
  // The Simulation's own fault methods record themselves; the others are recorded here.
  switch (fault) {
    case "wifi-drop":
      sim.wifiDrop(1_000 + Math.floor(random() * 30_000));
      return {};
    case "tcp-close":
      sim.tcpClose();
      return {};
    case "reset-module":
      sim.resetModule();
      return {};
    case "broker-restart":
      // In-process links are refused for the down time in board time; the promise only concerns
      // TCP listeners, which the simulated bench has none of.
      void sim.brokerRestart(1_000 + Math.floor(random() * 10_000));
      return {};
  }
  sim.recordFault(fault);
  switch (fault) {
    case "uart-noise": {
      const rate = 0.0005 + random() * 0.005;
      const ms = 2_000 + Math.floor(random() * 20_000);
      sim.uart.setFaults({ dropRate: rate, corruptRate: rate, seed: Math.floor(random() * 2 ** 31) });
      sim.clock.setTimeout(() => sim.uart.setFaults({}), ms);
      return { noise: [sim.clock.now(), sim.clock.now() + ms] };
    }
    case "busy":
      sim.emulator.busyBurst(200 + Math.floor(random() * 3_000));
      return {};
    case "send-fail":
      // A send failing on a live link; injected while offline, failures would pile up for the
      // next connects, which is not the fault under test.
      if (sim.online) sim.emulator.failNextSend(1 + Math.floor(random() * 2));
      return {};
    case "blackhole": {
      const ms = 5_000 + Math.floor(random() * keepaliveS * 2_000);
      sim.gate.blackhole = true;
      sim.clock.setTimeout(() => (sim.gate.blackhole = false), ms);
      return { stall: [sim.clock.now(), sim.clock.now() + ms] };
    }
    case "connack-refused": {
      // Like send-fail: refusals injected while offline would pile up for the coming connects.
      if (!sim.online) return {};
      const code = random() < 0.8 ? 3 : 4;
      sim.broker!.refuseNextConnects(code);
      // A refusal waits for the next connect: force one.
      sim.tcpClose();
      return { refusedLong: code === 4 };
    }
  }
}
