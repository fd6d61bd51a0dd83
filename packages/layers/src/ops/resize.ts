import { ConfigError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Pair, depthToSpace } from './geometry.js';

export type InterpolationMode = 'nearest' | 'bilinear' | 'bicubic';

export interface ResizeOptions {
  mode: InterpolationMode;
  /**
   * Corner pixels of input and output are aligned (PyTorch `align_corners=True`, tfjs
   * `alignCorners`). Default false.
   */
  alignCorners?: boolean;
  /**
   * Without aligned corners, pixel centres sit at +0.5 (PyTorch `align_corners=False` for bilinear
   * and bicubic, `nearest-exact` for nearest; tfjs `halfPixelCenters`). Default true for bilinear
   * and bicubic, false for nearest (PyTorch's `nearest`, tfjs's default). With false, bilinear is
   * tfjs's legacy default (TF1 `resize_bilinear`).
   */
  halfPixelCenters?: boolean;
}

/** PyTorch's bicubic coefficient (A = -0.75, as `upsample_bicubic2d`). */
const CUBIC_A = -0.75;

function cubicNear(t: number): number {
  return ((CUBIC_A + 2) * t - (CUBIC_A + 3)) * t * t + 1;
}

function cubicFar(t: number): number {
  return ((CUBIC_A * t - 5 * CUBIC_A) * t + 8 * CUBIC_A) * t - 4 * CUBIC_A;
}

/**
 * Interpolation weights [outLength, inLength] along one axis, in float64 on the host. Rows sum to
 * one. Resizing is then two small matmuls, which every backend differentiates.
 */
export function interpolationMatrix(
  inLength: number,
  outLength: number,
  options: ResizeOptions,
): Float64Array {
  const { mode } = options;
  const alignCorners = options.alignCorners ?? false;
  const halfPixel = !alignCorners && (options.halfPixelCenters ?? mode !== 'nearest');
  const scale = alignCorners ? (outLength > 1 ? (inLength - 1) / (outLength - 1) : 0) : inLength / outLength;
  const m = new Float64Array(outLength * inLength);
  const clampIndex = (i: number) => Math.min(inLength - 1, Math.max(0, i));
  for (let o = 0; o < outLength; o++) {
    const row = o * inLength;
    if (mode === 'nearest') {
      const source = alignCorners ? Math.round(o * scale) : Math.floor((halfPixel ? o + 0.5 : o) * scale);
      m[row + clampIndex(source)] = 1;
    } else if (mode === 'bilinear') {
      const raw = alignCorners ? o * scale : halfPixel ? (o + 0.5) * scale - 0.5 : o * scale;
      const source = Math.max(0, raw);
      const i0 = Math.min(inLength - 1, Math.floor(source));
      const i1 = Math.min(inLength - 1, i0 + 1);
      const frac = source - i0;
      m[row + i0] += 1 - frac;
      m[row + i1] += frac;
    } else {
      // Bicubic does not clamp the source coordinate (PyTorch); taps outside repeat the edge.
      const source = alignCorners ? o * scale : halfPixel ? (o + 0.5) * scale - 0.5 : o * scale;
      const i0 = Math.floor(source);
      const t = source - i0;
      const weights = [cubicFar(t + 1), cubicNear(t), cubicNear(1 - t), cubicFar(2 - t)];
      for (let k = 0; k < 4; k++) m[row + clampIndex(i0 - 1 + k)] += weights[k]!;
    }
  }
  return m;
}

/** Applies an [outLength, inLength] matrix along axis 1 of [N, L, W, C]: returns [N, outLength, W, C]. */
function resizeRows(x: tf.Tensor4D, matrix: Float64Array, outLength: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const lengthFirst = tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, n * w * c]);
  const resized = tf.matMul(tf.tensor2d(Float32Array.from(matrix), [outLength, h]), lengthFirst);
  return tf.transpose(tf.reshape(resized, [outLength, n, w, c]), [1, 0, 2, 3]);
}

function isIntegerFactor(inLength: number, outLength: number): boolean {
  return outLength % inLength === 0;
}

/**
 * Resizes NHWC to `size` with nearest, bilinear or bicubic interpolation, following the
 * PyTorch/tfjs coordinate conventions (see ResizeOptions). Differentiable on every backend.
 */
export function resize(x: tf.Tensor4D, size: Pair, options: ResizeOptions): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [outH, outW] = size;
  if (!(outH >= 1 && outW >= 1 && Number.isInteger(outH) && Number.isInteger(outW))) {
    throw new ConfigError(`resize size must be positive integers, got [${size}]`);
  }
  return tf.tidy(() => {
    const alignCorners = options.alignCorners ?? false;
    // Nearest by an integer factor repeats each pixel factor x factor times in every convention
    // but aligned corners: a tile and a depth-to-space, no matmul.
    if (options.mode === 'nearest' && !alignCorners && isIntegerFactor(h, outH) && isIntegerFactor(w, outW)) {
      return nearestByFactor(x, [outH / h, outW / w]);
    }
    let out = x;
    if (outH !== h) out = resizeRows(out, interpolationMatrix(h, outH, options), outH);
    if (outW !== w) {
      const transposed = tf.transpose(out, [0, 2, 1, 3]);
      out = tf.transpose(resizeRows(transposed, interpolationMatrix(w, outW, options), outW), [0, 2, 1, 3]);
    }
    return out === x ? tf.clone(x) : out;
  });
}

/** Nearest-neighbour upsampling by integer factors. */
export function nearestByFactor(x: tf.Tensor4D, factor: Pair): tf.Tensor4D {
  return tf.tidy(() => depthToSpace(tf.tile(x, [1, 1, 1, factor[0] * factor[1]]), factor));
}

/**
 * Bed-of-nails upsampling: each value at the top-left of its factor x factor block, zeros elsewhere
 * (unpooling with every switch at the first position).
 */
export function bedOfNails(x: tf.Tensor4D, factor: Pair): tf.Tensor4D {
  return tf.tidy(() => {
    const c = x.shape[3];
    const blocks = tf.pad(x, [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, (factor[0] * factor[1] - 1) * c],
    ]);
    return depthToSpace(blocks, factor);
  });
}
