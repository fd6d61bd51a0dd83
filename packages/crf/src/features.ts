// Kernel features of the 2-D CRF, in float32 like the reference: (x/sx, y/sy) for the appearance-free
// Gaussian kernel and (x/sx, y/sy, r/sr, g/sg, b/sb) for the bilateral one; x is the column, y the row.

/** Feature vectors of N points, `dims` numbers each, point-major. */
export interface Features {
  readonly data: Float32Array;
  readonly dims: number;
  /** An upper bound of |value| where known from the construction (saves a scan). */
  readonly bound?: number;
}

export function gaussianFeatures(width: number, height: number, sx: number, sy: number): Features {
  const data = new Float32Array(width * height * 2);
  const fsx = Math.fround(sx);
  const fsy = Math.fround(sy);
  for (let y = 0, p = 0; y < height; y++) {
    const fy = y / fsy;
    for (let x = 0; x < width; x++, p += 2) {
      data[p] = x / fsx;
      data[p + 1] = fy;
    }
  }
  return { data, dims: 2, bound: Math.max(width / fsx, height / fsy) };
}

export function bilateralFeatures(
  width: number,
  height: number,
  sx: number,
  sy: number,
  srgb: readonly [number, number, number],
  rgb: Uint8Array | Uint8ClampedArray,
): Features {
  const data = new Float32Array(width * height * 5);
  const fsx = Math.fround(sx);
  const fsy = Math.fround(sy);
  const [sr, sg, sb] = srgb.map(Math.fround);
  for (let y = 0, p = 0, c = 0; y < height; y++) {
    const fy = y / fsy;
    for (let x = 0; x < width; x++, p += 5, c += 3) {
      data[p] = x / fsx;
      data[p + 1] = fy;
      data[p + 2] = rgb[c] / sr;
      data[p + 3] = rgb[c + 1] / sg;
      data[p + 4] = rgb[c + 2] / sb;
    }
  }
  return { data, dims: 5, bound: Math.max(width / fsx, height / fsy, 255 / sr, 255 / sg, 255 / sb) };
}
