/*
 * The OneNET token for host tools (`onenet-led token`, tests, the broker's checks): the firmware's
 * TokenBuilder turned into a string, and every step of it explained. Plain code, no Node APIs, so
 * the XS tests can load it next to the firmware. The key never appears in what comes out.
 *
 *   buildTokenString(params & { et }): string          throws OneNetConfigError on bad parameters
 *   explainToken(params & { et }): TokenExplanation    the string to sign, HMAC, base64, URL encoding
 *   (and everything firmware/onenet/token.ts exports)
 */
import type { TokenMethod } from "../../firmware/config.js";
import { base64Decode, base64DecodedLength } from "../../firmware/onenet/base64.js";
import { KEY_BYTES, MAX_ET, OneNetConfigError, TOKEN_VERSION, TokenBuilder, type TokenParams } from "../../firmware/onenet/token.js";
import { urlEncodeString, urlEncodedStringLength } from "../../firmware/onenet/urlencode.js";

export * from "../../firmware/onenet/token.js";

function checkEt(et: number): void {
  if (!Number.isInteger(et) || et < 1 || et > MAX_ET) throw new OneNetConfigError("bad-et", "et", `must be a whole number of unix seconds in 1..${MAX_ET}`);
}

function bytesToAscii(bytes: Uint8Array, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** The token as a string. Throws OneNetConfigError on bad parameters. */
export function buildTokenString(params: TokenParams & { et: number }): string {
  checkEt(params.et);
  const builder = new TokenBuilder(params);
  const out = new Uint8Array(builder.maxLength);
  return bytesToAscii(out, builder.build(out, 0, params.et));
}

export interface TokenExplanation {
  version: string;
  resource: string;
  resourceEncoded: string;
  et: number;
  method: TokenMethod;
  keyBytes: number;
  /** The exact string the HMAC signs (newlines as real newlines). */
  stringToSign: string;
  hmacHex: string;
  signBase64: string;
  signEncoded: string;
  token: string;
}

/** Every step of the token, for `onenet-led token --explain`, read back from the token the firmware built. Never includes the key. */
export function explainToken(params: TokenParams & { et: number }): TokenExplanation {
  const token = buildTokenString(params);
  const builder = new TokenBuilder(params);
  const signEncoded = token.slice(token.lastIndexOf("&sign=") + 6);
  const signBase64 = decodeURIComponent(signEncoded);
  const digest = new Uint8Array(base64DecodedLength(signBase64));
  const digestLength = base64Decode(signBase64, digest, 0);
  let hmacHex = "";
  for (let i = 0; i < digestLength; i++) hmacHex += (digest[i] >> 4).toString(16) + (digest[i] & 15).toString(16);
  const encodedResource = new Uint8Array(urlEncodedStringLength(builder.resource));
  urlEncodeString(builder.resource, encodedResource, 0);
  return {
    version: TOKEN_VERSION,
    resource: builder.resource,
    resourceEncoded: bytesToAscii(encodedResource, encodedResource.length),
    et: params.et,
    method: builder.method,
    keyBytes: KEY_BYTES,
    stringToSign: `${params.et}\n${builder.method}\n${builder.resource}\n${TOKEN_VERSION}`,
    hmacHex,
    signBase64,
    signEncoded,
    token,
  };
}
