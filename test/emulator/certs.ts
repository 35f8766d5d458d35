/*
 * Certificates made at test time with the `openssl` command line (installed on CI by .ci/run), in
 * a temporary directory removed by `cleanup()`: no private key is ever committed.
 *
 *   const pki = makePki();                  // two unrelated CAs, servers signed by the first
 *   pki.ca.cert, pki.otherCa.cert           // PEM
 *   pki.server   { key, cert }              // for mqtts.heclouds.com, mqttstls.heclouds.com, 127.0.0.1
 *   pki.wrongName { key, cert }             // signed by pki.ca, but for other.example only
 *   pki.cleanup()
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface KeyPair {
  key: string;
  cert: string;
}

export interface Pki {
  ca: { cert: string };
  otherCa: { cert: string };
  server: KeyPair;
  wrongName: KeyPair;
  cleanup(): void;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function makeCa(dir: string, name: string, cn: string): void {
  openssl(dir, [
    "req", "-x509", ...EC, "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "30", "-subj", `/O=onenet-led tests/CN=${cn}`,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

function makeLeaf(dir: string, name: string, ca: string, cn: string, san: string): KeyPair {
  openssl(dir, ["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`]);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl(dir, [
    "x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial",
    "-out", `${name}.crt`, "-days", "30", "-extfile", `${name}.ext`,
  ]);
  return { key: readFileSync(join(dir, `${name}.key`), "utf8"), cert: readFileSync(join(dir, `${name}.crt`), "utf8") };
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "onenet-led-pki-"));
  try {
    makeCa(dir, "ca", "Test OneNET MQTTS CA");
    makeCa(dir, "other-ca", "Unrelated CA");
    const server = makeLeaf(dir, "server", "ca", "mqtts.heclouds.com", "DNS:mqtts.heclouds.com,DNS:mqttstls.heclouds.com,IP:127.0.0.1");
    const wrongName = makeLeaf(dir, "wrong-name", "ca", "other.example", "DNS:other.example");
    return {
      ca: { cert: readFileSync(join(dir, "ca.crt"), "utf8") },
      otherCa: { cert: readFileSync(join(dir, "other-ca.crt"), "utf8") },
      server,
      wrongName,
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
