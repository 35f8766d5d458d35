// Placeholder until the run command lands.
export async function run(_argv: string[]): Promise<number> {
  console.error("onenet-led run: not built yet");
  return 1;
}
