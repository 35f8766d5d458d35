// Placeholder until the packet command lands.
export async function run(_argv: string[]): Promise<number> {
  console.error("onenet-led packet: not built yet");
  return 1;
}
