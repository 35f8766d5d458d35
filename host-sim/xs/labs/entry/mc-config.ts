// Stand-in for `mc/config`: filled by lab.ts with the raw keys a manifest would give, before the entry runs.
const config: Record<string, unknown> = {};
export default config;
