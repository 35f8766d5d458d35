// Placeholder until the token command lands.
export async function run(_argv: string[]): Promise<number> {
  console.error("onenet-led token: not built yet");
  return 1;
}
