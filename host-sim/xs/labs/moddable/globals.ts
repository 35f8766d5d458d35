/*
 * XS-on-Moddable string/buffer conversions that xsnap's XS lacks (bench only). On a device they are
 * native; here they are plain JS, so the figures for Moddable's client include their cost: read
 * them as an upper bound for its string conversions.
 */
const S = String as unknown as { fromArrayBuffer?: (buffer: ArrayBuffer) => string };
const A = ArrayBuffer as unknown as { fromString?: (text: string) => ArrayBuffer };

S.fromArrayBuffer ??= (buffer: ArrayBuffer): string => {
  const bytes = new Uint8Array(buffer);
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
};

A.fromString ??= (text: string): ArrayBuffer => {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out.buffer;
};

export {};
