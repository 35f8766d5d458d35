#!/usr/bin/env node
// The `onenet-led` command. The tools are TypeScript; tsx (a declared dependency) runs them
// without a build step, so `npx onenet-led ...` works right after `npm install`.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../host-sim/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
