/*
 * Byte copy between two Uint8Arrays without allocating: `dst.set(src.subarray(...))` would create a
 * view object per call (heap on XS, garbage on V8). Unrolled by 8, which roughly halves the cost of
 * the plain loop on V8.
 */

/** Copies src[from..from+n) to dst[to..to+n); the ranges must not overlap. Returns to + n. */
export function copyBytes(dst: Uint8Array, to: number, src: Uint8Array, from: number, n: number): number {
  if (from === 0 && n === src.length) {
    dst.set(src, to); // the whole source: no view needed
    return to + n;
  }
  const end = from + n;
  const end8 = end - 7;
  while (from < end8) {
    dst[to] = src[from];
    dst[to + 1] = src[from + 1];
    dst[to + 2] = src[from + 2];
    dst[to + 3] = src[from + 3];
    dst[to + 4] = src[from + 4];
    dst[to + 5] = src[from + 5];
    dst[to + 6] = src[from + 6];
    dst[to + 7] = src[from + 7];
    to += 8;
    from += 8;
  }
  while (from < end) dst[to++] = src[from++];
  return to;
}
