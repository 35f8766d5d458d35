/*
 * A small, strict option parser shared by every `onenet-led` subcommand: `--name value`,
 * `--name=value` and boolean `--flag`. Unknown options are errors (a typo must not be ignored).
 */

export class UsageError extends Error {
  override name = "UsageError";
}

export interface OptionSpec {
  /** Option names without the leading dashes, e.g. "client-id". */
  readonly values?: readonly string[];
  readonly flags?: readonly string[];
  /** Options that may be given more than once (collected in order). */
  readonly repeated?: readonly string[];
}

export interface ParsedArgs {
  positional: string[];
  values: Map<string, string[]>;
  flags: Set<string>;
  /** The last value of an option, or undefined. */
  get(name: string): string | undefined;
  /** All values of a repeated option. */
  all(name: string): string[];
  has(flag: string): boolean;
}

export function parseArgs(argv: readonly string[], spec: OptionSpec): ParsedArgs {
  const valueNames = new Set([...(spec.values ?? []), ...(spec.repeated ?? [])]);
  const flagNames = new Set(["help", ...(spec.flags ?? [])]);
  const positional: string[] = [];
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("--") || arg === "-") {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (flagNames.has(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags.add(name);
    } else if (valueNames.has(name)) {
      let value: string;
      if (eq >= 0) value = arg.slice(eq + 1);
      else {
        if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
        value = argv[++i];
      }
      const list = values.get(name) ?? [];
      if (list.length && !(spec.repeated ?? []).includes(name)) throw new UsageError(`--${name} given twice`);
      list.push(value);
      values.set(name, list);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return {
    positional,
    values,
    flags,
    get: (name) => values.get(name)?.at(-1),
    all: (name) => values.get(name) ?? [],
    has: (flag) => flags.has(flag),
  };
}

/** Parses a whole number option within [min, max], with an error naming the option. */
export function intOption(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const text = args.get(name);
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text)) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (value < min || value > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}
