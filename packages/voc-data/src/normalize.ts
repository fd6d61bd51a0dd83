import type { PadFill } from './transforms.js';
import type { Normalization } from './types.js';

/** The mean pixel in 0..255 RGB units: the padding value that normalises to zero. */
export function meanPixel(normalization: Normalization): PadFill {
  const unit = normalization.scale === 1 ? 255 : 1;
  const [r, g, b] = normalization.mean;
  return [r * unit, g * unit, b * unit];
}

/**
 * Normalises an RGB HWC image (0..255) into `out` at `offset` (an NHWC batch buffer):
 * `(pixel / (scale === 1 ? 255 : 1) - mean) / std`, channels reordered to `channelOrder`.
 */
export function normalizeImage(
  image: Uint8Array | Float32Array,
  normalization: Normalization,
  out = new Float32Array(image.length),
  offset = 0,
): Float32Array {
  if (offset + image.length > out.length) {
    throw new RangeError(
      `normalizeImage: ${image.length} values do not fit in ${out.length} at offset ${offset}`,
    );
  }
  const divisor = normalization.scale === 1 ? 255 : 1;
  // Source channel for each output channel.
  const order = normalization.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const gain = order.map((c) => 1 / (divisor * normalization.std[c]));
  const bias = order.map((c) => -normalization.mean[c] / normalization.std[c]);
  const [c0, c1, c2] = order;
  const [g0, g1, g2] = gain;
  const [b0, b1, b2] = bias;
  for (let i = 0; i < image.length; i += 3) {
    out[offset + i] = image[i + c0] * g0 + b0;
    out[offset + i + 1] = image[i + c1] * g1 + b1;
    out[offset + i + 2] = image[i + c2] * g2 + b2;
  }
  return out;
}
