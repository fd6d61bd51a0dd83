/**
 * Resampling on HWC typed arrays. Bilinear uses half-pixel centres with edge clamping (OpenCV's
 * INTER_LINEAR, PyTorch's `align_corners=False`), no antialiasing, as mmsegmentation's and
 * DeepLab's pipelines do. Labels use nearest neighbour on pixel centres, so no new class values
 * appear and a flipped resize is the resize of a flip.
 */

/** Source sample positions along one axis for output positions `start .. start + count - 1`. */
export interface AxisTaps {
  low: Int32Array;
  high: Int32Array;
  weight: Float64Array;
}

export function bilinearTaps(inSize: number, outSize: number, start = 0, count = outSize): AxisTaps {
  const low = new Int32Array(count);
  const high = new Int32Array(count);
  const weight = new Float64Array(count);
  const ratio = inSize / outSize;
  for (let k = 0; k < count; k++) {
    let position = (start + k + 0.5) * ratio - 0.5;
    if (position < 0) position = 0;
    let i0 = Math.floor(position);
    if (i0 > inSize - 1) i0 = inSize - 1;
    low[k] = i0;
    high[k] = i0 + 1 < inSize ? i0 + 1 : inSize - 1;
    weight[k] = position - i0;
  }
  return { low, high, weight };
}

export function nearestTaps(inSize: number, outSize: number, start = 0, count = outSize): Int32Array {
  const index = new Int32Array(count);
  const ratio = inSize / outSize;
  for (let k = 0; k < count; k++) {
    const i = Math.floor((start + k + 0.5) * ratio);
    index[k] = i < inSize ? i : inSize - 1;
  }
  return index;
}

/** One bilinear RGB sample; shared by `resizeImageBilinear` and the fused augmentation so both agree bit for bit. */
export function bilinearPixel(
  image: ArrayLike<number>,
  width: number,
  y0: number,
  y1: number,
  fy: number,
  x0: number,
  x1: number,
  fx: number,
  out: Float32Array,
  outOffset: number,
): void {
  const r0 = y0 * width;
  const r1 = y1 * width;
  for (let c = 0; c < 3; c++) {
    const p00 = image[(r0 + x0) * 3 + c];
    const p01 = image[(r0 + x1) * 3 + c];
    const p10 = image[(r1 + x0) * 3 + c];
    const p11 = image[(r1 + x1) * 3 + c];
    const top = p00 + (p01 - p00) * fx;
    const bottom = p10 + (p11 - p10) * fx;
    out[outOffset + c] = top + (bottom - top) * fy;
  }
}

/** Bilinear resize of an RGB HWC image to `outWidth x outHeight`, as floats in the input's units. */
export function resizeImageBilinear(
  image: Uint8Array | Float32Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Float32Array {
  const out = new Float32Array(outWidth * outHeight * 3);
  const xs = bilinearTaps(width, outWidth);
  const ys = bilinearTaps(height, outHeight);
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      bilinearPixel(
        image,
        width,
        ys.low[y],
        ys.high[y],
        ys.weight[y],
        xs.low[x],
        xs.high[x],
        xs.weight[x],
        out,
        (y * outWidth + x) * 3,
      );
    }
  }
  return out;
}

/** Nearest-neighbour resize of a label map (values are copied, never blended). */
export function resizeLabelNearest(
  label: Uint8Array,
  width: number,
  height: number,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  const out = new Uint8Array(outWidth * outHeight);
  const xs = nearestTaps(width, outWidth);
  const ys = nearestTaps(height, outHeight);
  for (let y = 0; y < outHeight; y++) {
    const row = ys[y] * width;
    for (let x = 0; x < outWidth; x++) out[y * outWidth + x] = label[row + xs[x]];
  }
  return out;
}
