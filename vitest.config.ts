import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Many tests open loopback sockets and child processes; two cores on CI.
    pool: "forks",
  },
});
