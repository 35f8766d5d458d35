/*
 * Parsing of an AT command line as the ESP8266 firmware does it: `AT+NAME=arg,arg`, `AT+NAME?`,
 * `AT+NAME`; string arguments in double quotes with `\` escaping `"`, `,` and `\`.
 */

export type AtArg = string | number;

export interface ParsedCommand {
  /** Upper-cased name including the `AT` prefix: `AT`, `ATE0`, `AT+CWJAP`, `AT+CWJAP_CUR`. */
  name: string;
  kind: "exec" | "query" | "set" | "test";
  /** Arguments of a set command; undefined when they do not parse. */
  args: AtArg[] | undefined;
  /** The raw text after `=`. */
  rawArgs: string;
}

export function parseCommandLine(line: string): ParsedCommand | undefined {
  if (!/^AT/i.test(line)) return undefined;
  const m = /^(AT[+&]?[A-Za-z0-9_]*)(=\?|\?|=)?(.*)$/s.exec(line);
  if (!m) return undefined;
  const name = m[1].toUpperCase();
  const op = m[2];
  const rest = m[3];
  if (op === "=?") return { name, kind: "test", args: [], rawArgs: "" };
  if (op === "?") return rest === "" ? { name, kind: "query", args: [], rawArgs: "" } : undefined;
  if (op === "=") return { name, kind: "set", args: parseArgs(rest), rawArgs: rest };
  if (rest !== "") {
    // ATE0, ATE1: a digit glued to the name.
    return undefined;
  }
  return { name, kind: "exec", args: [], rawArgs: "" };
}

/** Splits `"a\"b",12,"c"` into ["a\"b", 12, "c"]; undefined on a syntax error. */
export function parseArgs(text: string): AtArg[] | undefined {
  const out: AtArg[] = [];
  let i = 0;
  if (text === "") return undefined;
  for (;;) {
    if (text[i] === '"') {
      i++;
      let s = "";
      for (;;) {
        if (i >= text.length) return undefined;
        const c = text[i];
        if (c === "\\") {
          if (i + 1 >= text.length) return undefined;
          s += text[i + 1];
          i += 2;
          continue;
        }
        if (c === '"') {
          i++;
          break;
        }
        s += c;
        i++;
      }
      out.push(s);
    } else {
      let j = i;
      while (j < text.length && text[j] !== ",") j++;
      const token = text.slice(i, j).trim();
      if (!/^-?\d+$/.test(token)) return undefined;
      out.push(Number(token));
      i = j;
    }
    if (i === text.length) return out;
    if (text[i] !== ",") return undefined;
    i++;
  }
}

/** Escapes a string argument for an AT command (what a driver must do). */
export function quoteArg(s: string): string {
  return `"${s.replace(/[\\",]/g, (c) => `\\${c}`)}"`;
}
