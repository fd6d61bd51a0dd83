// Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled
// Functions", 2012): the lower envelope of parabolas along columns, then along rows, of squared
// distances. O(pixels), typed arrays only.

/** Stands for "no feature" (a finite value keeps the envelope arithmetic free of NaN). */
const FAR = 1e20;

/** The 1-D squared-distance transform of `f[0..n)` into `out` (v, z: scratch of n and n + 1). */
function transform1d(f: Float64Array, n: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = Number.NEGATIVE_INFINITY;
  z[1] = Number.POSITIVE_INFINITY;
  for (let q = 1; q < n; q++) {
    let s: number;
    for (;;) {
      const p = v[k]!;
      s = (f[q]! + q * q - (f[p]! + p * p)) / (2 * (q - p));
      if (s > z[k]!) break;
      k--;
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Number.POSITIVE_INFINITY;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    const p = v[k]!;
    out[q] = (q - p) * (q - p) + f[p]!;
  }
}

/**
 * Euclidean distance from every pixel of a `width` x `height` grid (row-major) to the nearest pixel
 * where `isFeature` holds; Infinity everywhere when none does.
 */
export function distanceTransform(
  isFeature: (index: number) => boolean,
  width: number,
  height: number,
): Float64Array {
  const size = Math.max(width, height);
  const f = new Float64Array(size);
  const out = new Float64Array(size);
  const v = new Int32Array(size);
  const z = new Float64Array(size + 1);
  const result = new Float64Array(width * height);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = isFeature(y * width + x) ? 0 : FAR;
    transform1d(f, height, out, v, z);
    for (let y = 0; y < height; y++) result[y * width + x] = out[y]!;
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) f[x] = result[y * width + x]!;
    transform1d(f, width, out, v, z);
    for (let x = 0; x < width; x++) {
      const d = out[x]!;
      result[y * width + x] = d >= FAR / 2 ? Number.POSITIVE_INFINITY : Math.sqrt(d);
    }
  }
  return result;
}
