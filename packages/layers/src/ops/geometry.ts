import { ConfigError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';

/** A size per spatial axis: [height, width]. */
export type Pair = [number, number];

/** Spatial padding [top, bottom, left, right]. */
export type Padding4 = [number, number, number, number];

/** One number for both axes, or [height, width]. */
export type PairLike = number | readonly [number, number];

export function toPair(value: PairLike, what: string): Pair {
  const pair: Pair = typeof value === 'number' ? [value, value] : [value[0], value[1]];
  for (const v of pair) {
    if (!Number.isInteger(v) || v < 0)
      throw new ConfigError(`${what} must be non-negative integers, got ${value}`);
  }
  return pair;
}

export function toPositivePair(value: PairLike, what: string): Pair {
  const pair = toPair(value, what);
  if (pair[0] < 1 || pair[1] < 1) throw new ConfigError(`${what} must be at least 1, got ${value}`);
  return pair;
}

/** Extent of a dilated kernel: (k - 1) * d + 1. */
export function effectiveKernel(kernel: number, dilation: number): number {
  return (kernel - 1) * dilation + 1;
}

/** Output length of a sliding window over `length` padded by `padTotal`, floor rounding. */
export function slidingOutput(
  length: number,
  padTotal: number,
  kernelExtent: number,
  stride: number,
): number {
  return Math.floor((length + padTotal - kernelExtent) / stride) + 1;
}

/**
 * Pads (positive amounts, zeros or `value`) or crops (negative amounts) the spatial axes of an NHWC
 * tensor. Used for convolution padding and for the windows the gradients need.
 */
export function padOrCrop(x: tf.Tensor4D, [top, bottom, left, right]: Padding4, value = 0): tf.Tensor4D {
  let out = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = out.shape;
    const t = Math.max(0, -top);
    const l = Math.max(0, -left);
    const height = h - t - Math.max(0, -bottom);
    const width = w - l - Math.max(0, -right);
    if (height <= 0 || width <= 0)
      throw new ConfigError(`cropping [${top}, ${bottom}, ${left}, ${right}] leaves nothing of ${h}x${w}`);
    out = tf.slice(out, [0, t, l, 0], [n, height, width, c]);
  }
  const pt = Math.max(0, top);
  const pb = Math.max(0, bottom);
  const pl = Math.max(0, left);
  const pr = Math.max(0, right);
  if (pt > 0 || pb > 0 || pl > 0 || pr > 0) {
    out = tf.pad(
      out,
      [
        [0, 0],
        [pt, pb],
        [pl, pr],
        [0, 0],
      ],
      value,
    );
  }
  return out;
}

/**
 * Rearranges blocks of channels into space: [N, H, W, bh*bw*C] -> [N, H*bh, W*bw, C], channel
 * order (row in block, column in block, channel) as tfjs's depthToSpace. Built from rank-4
 * reshapes and one transpose, so it runs and differentiates on every backend.
 */
export function depthToSpace(x: tf.Tensor4D, [bh, bw]: Pair): tf.Tensor4D {
  if (bh === 1 && bw === 1) return x;
  const [n, h, w, depth] = x.shape;
  const c = depth / (bh * bw);
  const rows = tf.reshape(x, [n * h, w, bh, bw * c]);
  const swapped = tf.transpose(rows, [0, 2, 1, 3]);
  return tf.reshape(swapped, [n, h * bh, w * bw, c]);
}

/** Inverse of depthToSpace: [N, H*bh, W*bw, C] -> [N, H, W, bh*bw*C]. */
export function spaceToDepth(x: tf.Tensor4D, [bh, bw]: Pair): tf.Tensor4D {
  if (bh === 1 && bw === 1) return x;
  const [n, hh, ww, c] = x.shape;
  const h = hh / bh;
  const w = ww / bw;
  const rows = tf.reshape(x, [n * h, bh, w, bw * c]);
  const swapped = tf.transpose(rows, [0, 2, 1, 3]);
  return tf.reshape(swapped, [n, h, w, bh * bw * c]);
}
