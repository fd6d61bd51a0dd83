import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@semseg/core';
import type { Pair } from './geometry.js';
import { type PoolGeometry, type WindowPlan, scatterWindows, windowOrigins } from './max-pool.js';

export interface UnpoolGeometry {
  kernel: Pair;
  stride: Pair;
  padding: Pair;
}

/** PyTorch's default unpooled size, (in - 1) * stride - 2 * padding + kernel. */
export function unpoolDefaultLength(input: number, kernel: number, stride: number, padding: number): number {
  return (input - 1) * stride - 2 * padding + kernel;
}

/**
 * Max unpooling with PyTorch `MaxUnpool2d` semantics: each value goes to the position its switch
 * names (index h * W + w in the output plane), zeros elsewhere; `outputSize` settles odd sizes.
 * Where overlapping windows name the same position the latest window in raster order wins (as
 * PyTorch on the CPU). Switches must come from a max pool with the same kernel, stride and
 * padding (as in every use of MaxUnpool2d); a switch outside its own window is dropped.
 * Differentiable in `x` (the gradient gathers at the switches).
 */
export function maxUnpool2d(
  x: tf.Tensor4D,
  switches: tf.Tensor4D,
  g: UnpoolGeometry,
  outputSize?: Pair,
): tf.Tensor4D {
  const [n, oh, ow, c] = x.shape;
  if (switches.shape.some((d, i) => d !== x.shape[i])) {
    throw new ConfigError(`switches [${switches.shape}] do not match the input [${x.shape}]`);
  }
  const defaults: Pair = [
    unpoolDefaultLength(oh, g.kernel[0], g.stride[0], g.padding[0]),
    unpoolDefaultLength(ow, g.kernel[1], g.stride[1], g.padding[1]),
  ];
  const size = outputSize ?? defaults;
  for (let a = 0; a < 2; a++) {
    if (Math.abs(size[a]! - defaults[a]!) >= g.stride[a]!) {
      throw new ConfigError(
        `unpool output size [${size}] must be within a stride of the default [${defaults}] (as PyTorch requires)`,
      );
    }
  }
  const pool: PoolGeometry = { ...g, ceilMode: false };
  const plan: WindowPlan = {
    inputSize: size,
    outputSize: [oh, ow],
    padding: [g.padding[0], 0, g.padding[1], 0],
  };
  return tf.tidy(() => {
    const [kh, kw] = g.kernel;
    const index = tf.cast(switches, 'float32');
    const row = tf.floor(tf.div(index, size[1]));
    const col = tf.sub(index, tf.mul(row, size[1]));
    const i = tf.sub(row, windowOrigins(oh, g.stride[0], g.padding[0], [1, oh, 1, 1]));
    const j = tf.sub(col, windowOrigins(ow, g.stride[1], g.padding[1], [1, 1, ow, 1]));
    const inside = tf.logicalAnd(
      tf.logicalAnd(tf.greaterEqual(i, 0), tf.less(i, kh)),
      tf.logicalAnd(tf.greaterEqual(j, 0), tf.less(j, kw)),
    );
    const offset = tf.where(inside, tf.add(tf.mul(i, kw), j), tf.scalar(-1));
    const hit = (p: number): tf.Tensor4D => tf.cast(tf.equal(offset, p), 'float32') as tf.Tensor4D;
    const overlapping = g.kernel[0] > g.stride[0] || g.kernel[1] > g.stride[1];
    return scatterWindows((p) => tf.mul(x, hit(p)), overlapping ? hit : null, [n, oh, ow, c], plan, pool);
  });
}
