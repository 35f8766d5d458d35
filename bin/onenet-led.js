#!/usr/bin/env node
// The `onenet-led` command. The tools are TypeScript; tsx (a declared dependency) runs them
// without a build step, so `npx onenet-led ...` works right after `npm install`.
import { register } from "tsx/esm/api";

// No stack trace reaches a user: a bug is one line (ONENET_LED_DEBUG=1 shows the stack).
const fatal = (error) => {
  const debug = process.env.ONENET_LED_DEBUG;
  try {
    process.stderr.write(`onenet-led: internal error: ${debug && error instanceof Error ? error.stack : error instanceof Error ? error.message : String(error)}` +
      `${debug ? "" : " (ONENET_LED_DEBUG=1 shows where)"}\n`);
  } catch {
    // stderr is gone too
  }
  process.exit(70);
};
process.on("uncaughtException", fatal);
process.on("unhandledRejection", fatal);

register();
const { main } = await import("../host-sim/cli/main.ts");
const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; should a handle still hold the event loop, do not hang on it.
setTimeout(() => process.exit(code), 500).unref();
