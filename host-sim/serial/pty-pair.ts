/*
 * A pseudo-terminal pair from socat (`socat -d -d pty,raw,echo=0 pty,raw,echo=0`): two device
 * paths wired back to back, so the emulator can sit on one and the board's serial port on the
 * other, exactly as with a USB-UART adapter. Debian: `apt-get install socat` (CI's .ci/run does).
 *
 *   const pair = await ptyPair();   // { a: "/dev/pts/5", b: "/dev/pts/6", close() }
 */
import { spawn } from "node:child_process";

export interface PtyPair {
  a: string;
  b: string;
  close(): Promise<void>;
}

export const SOCAT_MISSING =
  "socat is not installed: the pty serial test needs it. Install it with `apt-get install -y socat` (.ci/run does this on CI).";

export function ptyPair(options: { socat?: string; timeoutMs?: number } = {}): Promise<PtyPair> {
  return new Promise<PtyPair>((resolve, reject) => {
    const child = spawn(options.socat ?? "socat", ["-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    const paths: string[] = [];
    let log = "";
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(new Error(`socat did not report two ptys within ${options.timeoutMs ?? 5000} ms: ${log}`)),
      options.timeoutMs ?? 5000,
    );
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    child.once("error", (error: NodeJS.ErrnoException) =>
      fail(error.code === "ENOENT" ? new Error(SOCAT_MISSING) : error),
    );
    child.once("exit", (code) => fail(new Error(`socat exited (${code}) before the ptys were ready: ${log}`)));
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (text: string) => {
      log += text;
      for (const m of text.matchAll(/PTY is (\S+)/g)) paths.push(m[1]);
      if (!settled && paths.length >= 2 && /starting data transfer loop/.test(log)) {
        settled = true;
        clearTimeout(timer);
        resolve({
          a: paths[0],
          b: paths[1],
          close: async () => {
            if (child.exitCode === null && child.signalCode === null) {
              child.kill();
              await exited;
            }
          },
        });
      }
    });
  });
}
