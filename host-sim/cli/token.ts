/*
 * `onenet-led token`: a OneNET token (version 2018-10-31) from a device or product key, computed by the
 * firmware's own TokenBuilder, so the tool and the board can never disagree. A cross-platform
 * replacement for OneNET's Windows token generator.
 *
 * Bad input exits 1 with a message naming the option (via UsageError, printed by main.ts without a
 * stack trace). The key is never printed, not even by --explain.
 */
import { OneNetConfigError, TOKEN_VERSION, explainToken } from "../onenet/token-tools.js";
import type { TokenExplanation } from "../onenet/token-tools.js";
import { UsageError, intOption, parseArgs } from "./args.js";

const DEFAULT_DAYS = 30;
const MAX_DAYS = 36_500;

const USAGE = `usage: onenet-led token --product <pid> --device <name> --key <base64>
                        [--et <unix seconds> | --days <n>] [--method sha1|sha256|md5]
                        [--product-key] [--explain]
       onenet-led token --api --product <pid> --key <base64 product key> --product-key [...]

Prints a OneNET MQTT token (version ${TOKEN_VERSION}): the CONNECT password, with
client id = device name and user name = product id; res = products/<pid>/devices/<name>.

  --product <pid>      product id (e.g. L14FCC38pq)
  --device <name>      device name (1..64 of letters, digits, _ - . @)
  --key <base64>       the device's key (or, with --product-key, the product's access key)
  --et <unix s>        expiry time, in unix seconds; must be in the future
  --days <n>           expiry n days from now (default ${DEFAULT_DAYS}); not with --et
  --method <m>         signature method: sha1 (default), sha256 or md5
  --product-key        the key is the product's access key: it signs the same device res
                       (products/<pid>/devices/<name>), as OneNET's SDK does; the device logs in with it
  --api                NOT FOR A DEVICE LOGIN: res = products/<pid>, the product-level resource of
                       OneNET's HTTP API (the Authorization header), signed with the product key;
                       --device is not used. OneNET refuses this token at an MQTT login
  --explain            also print the string to sign and every step (never the key)

example:
  onenet-led token --product L14FCC38pq --device test1 \\
    --key b0ZHZ1BnNTdBSUV2c0dhUmJGMDBRYVJXS090VEVnMHU= --et 2017881776 --method sha1`;

const OPTION_OF_FIELD: Record<string, string> = {
  "product id": "--product",
  "device name": "--device",
  key: "--key",
  method: "--method",
  et: "--et",
  "key kind": "--product-key",
  resource: "--api",
};

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

function explain(e: TokenExplanation): string {
  const line = (label: string, value: string) => `${label.padEnd(22)}${value}`;
  const hmacName = `HMAC-${e.method.toUpperCase()}`;
  return [
    line("1. res", e.resource + (e.resource.includes("/devices/") ? "" : "   (product level: for OneNET's HTTP API, not a device login)")),
    line("2. et", `${e.et} (${new Date(e.et * 1000).toISOString()})`),
    line("3. method", e.method),
    line("4. version", e.version),
    line("5. string to sign", JSON.stringify(e.stringToSign) + "   (et\\nmethod\\nres\\nversion; res not URL-encoded)"),
    line("6. key", `${e.keyBytes} bytes, base64-decoded from --key (not shown)`),
    line(`7. ${hmacName}`, `${e.hmacHex} (hex)`),
    line("8. sign = base64", e.signBase64),
    line("9. URL-encode", `res=${e.resourceEncoded}  sign=${e.signEncoded}`),
    line("10. token", e.token),
  ].join("\n");
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { values: ["product", "device", "key", "et", "days", "method"], flags: ["explain", "product-key", "api"] });
  if (args.has("help")) {
    console.log(USAGE);
    return 0;
  }
  if (args.positional.length) throw new UsageError(`unexpected argument ${JSON.stringify(args.positional[0])}`);
  const productId = required(args.get("product"), "product");
  const api = args.has("api");
  if (api && args.get("device") !== undefined) throw new UsageError("--api signs the product-level res (products/<pid>): it names no device; leave out --device");
  if (api && !args.has("product-key")) throw new UsageError("--api signs products/<pid> with the product's access key: add --product-key (and give that key)");
  const deviceName = api ? "" : required(args.get("device"), "device");
  const key = required(args.get("key"), "key");
  const method = args.get("method") ?? "sha1";
  if (args.get("et") !== undefined && args.get("days") !== undefined) throw new UsageError("give --et or --days, not both");
  const nowS = Math.floor(Date.now() / 1000);
  let et = intOption(args, "et", 1, Number.MAX_SAFE_INTEGER);
  if (et !== undefined && et <= nowS) throw new UsageError(`--et ${et} is in the past (${new Date(et * 1000).toISOString()}): OneNET rejects expired tokens`);
  if (et === undefined) et = nowS + (intOption(args, "days", 1, MAX_DAYS) ?? DEFAULT_DAYS) * 86_400;

  let explanation: TokenExplanation;
  try {
    explanation = explainToken({
      productId,
      deviceName,
      key,
      method,
      keyKind: args.has("product-key") ? "product" : "device",
      resource: api ? "product-api" : "device",
      et,
    });
  } catch (error) {
    if (error instanceof OneNetConfigError) {
      // The message names the setting and the rule, never the value (it may be the key).
      throw new UsageError(`${OPTION_OF_FIELD[error.field] ?? error.field}: ${error.message.slice(error.field.length + 2)}`);
    }
    throw error;
  }
  if (args.has("explain")) console.log(explain(explanation));
  else console.log(explanation.token);
  // The token alone on stdout (scripts read it); what it is for on stderr.
  if (api) console.error("note: this token is for OneNET's HTTP API (res = products/<pid>); a device cannot log in with it");
  return 0;
}
