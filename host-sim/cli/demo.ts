/*
 * `onenet-led run --demo`: the scripted scenario a newcomer (or CI) can watch. Every step states
 * what it waits for; a step that does not happen in time fails the demo (exit 1). Against a broker
 * that admits only the device there is no cloud console: the steps that need one (the sets) are
 * skipped, and said to be.
 */
import type { SimDevice, Simulation } from "../sim.js";

/** Waits in board time (virtual mode) or wall time (real mode) until `predicate()` holds. */
export async function waitFor(sim: Simulation<SimDevice>, predicate: () => boolean, limitMs: number, abort?: AbortSignal): Promise<boolean> {
  if (sim.options.mode !== "real") return sim.runUntil(() => abort?.aborted === true || predicate(), limitMs).then(() => abort?.aborted !== true && predicate());
  const deadline = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() >= deadline || abort?.aborted) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

interface Step {
  title: string;
  act?: () => Promise<void> | void;
  until: () => boolean;
  limitMs: number;
  /** Needs the cloud console (sends a set). */
  console?: boolean;
}

export async function runDemo(sim: Simulation<SimDevice>, print: (line: string) => void, abort?: AbortSignal): Promise<number> {
  const led = sim.config.led.identifier;
  const reported = () => sim.deviceMessages.filter((m) => m.kind === "property/post");
  const lastReported = (): unknown => {
    const posts = reported();
    const params = (posts.at(-1)?.json as { params?: Record<string, { value?: unknown }> } | undefined)?.params;
    return params?.[led]?.value;
  };
  let setId = "";
  const setAndCheck = (on: boolean): Step => ({
    title: `the cloud sets ${led}=${on}: the LED switches ${on ? "on" : "off"}, set_reply carries the id with code 200, property/post reports it`,
    act: async () => {
      setId = await sim.setLed(on);
    },
    until: () => {
      const reply = sim.replyTo(setId)?.json as { code?: unknown } | undefined;
      return sim.ledOn === on && reply?.code === 200 && lastReported() === on;
    },
    limitMs: 10_000,
    console: true,
  });
  let onlineBeforeDrop = 0;
  const steps: Step[] = [
    { title: "power on: the ESP8266 boots and joins WiFi", act: () => sim.start(), until: () => sim.link.wifi === "up", limitMs: 60_000 },
    { title: "TCP to the broker, CONNECT with a fresh token, SUBSCRIBE: online", until: () => sim.online, limitMs: 60_000 },
    { title: "the current state is posted after connecting", until: () => reported().length > 0, limitMs: 10_000 },
    setAndCheck(true),
    setAndCheck(false),
    {
      title: "fault: the WiFi access point drops; the board notices and goes offline",
      act: () => {
        onlineBeforeDrop = sim.device.client.stats.connacks;
        sim.wifiDrop(8000);
      },
      until: () => !sim.online,
      // In transparent mode the module says nothing when WiFi goes: only the keepalive finds out.
      limitMs: sim.config.mqtt.keepaliveS * 1500 + 60_000,
    },
    {
      title: "the access point comes back: WiFi, TCP and MQTT recover by themselves",
      until: () => sim.online && sim.device.client.stats.connacks > onlineBeforeDrop,
      limitMs: 180_000,
    },
    setAndCheck(true),
  ];
  const started = sim.clock.now();
  let skipped = 0;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (step.console && !sim.cloud) {
      skipped++;
      print(`demo step ${i + 1}/${steps.length} skipped (no cloud console login on this broker): ${step.title}`);
      continue;
    }
    print(`demo step ${i + 1}/${steps.length}: ${step.title}`);
    await step.act?.();
    const held = await waitFor(sim, step.until, step.limitMs, abort);
    if (abort?.aborted) return 1;
    if (!held) {
      print(`demo FAILED at step ${i + 1}: ${step.title} (nothing after ${step.limitMs / 1000} s)`);
      return 1;
    }
    print(`demo step ${i + 1} ok at ${((sim.clock.now() - started) / 1000).toFixed(3)} s`);
  }
  const ran = steps.length - skipped;
  print(`demo passed: ${ran} steps in ${((sim.clock.now() - started) / 1000).toFixed(1)} s of board time` +
    (skipped ? ` (${skipped} skipped: they need a cloud console login, --cloud-user/--cloud-password)` : ""));
  return 0;
}
