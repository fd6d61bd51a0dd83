import { ConfigError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Pair, padOrCrop } from './geometry.js';
import { indicatorEqual, indicatorInRange } from './indicator.js';
import {
  type PoolGeometry,
  type WindowPlan,
  rowsToInput,
  scatterWindows,
  tapIndex,
  tilesExactly,
  windowOrigins,
  windowRows,
  windowTaps,
} from './max-pool.js';

export interface UnpoolGeometry {
  kernel: Pair;
  stride: Pair;
  padding: Pair;
}

/** PyTorch's default unpooled size, (in - 1) * stride - 2 * padding + kernel. */
export function unpoolDefaultLength(input: number, kernel: number, stride: number, padding: number): number {
  return (input - 1) * stride - 2 * padding + kernel;
}

/** Offset in its window (i * kw + j) of each switch, or -1 for a switch outside its window. float32. */
function switchOffsets(switches: tf.Tensor4D, g: UnpoolGeometry, size: Pair): tf.Tensor4D {
  const [, oh, ow] = switches.shape;
  const [kh, kw] = g.kernel;
  const index = tf.cast(switches, 'float32');
  const row = tf.floor(tf.div(index, size[1]));
  const col = tf.sub(index, tf.mul(row, size[1]));
  const i = tf.sub(row, windowOrigins(oh, g.stride[0], g.padding[0], [1, oh, 1, 1]));
  const j = tf.sub(col, windowOrigins(ow, g.stride[1], g.padding[1], [1, 1, ow, 1]));
  const inside = tf.mul(indicatorInRange(i, 0, kh), indicatorInRange(j, 0, kw));
  return tf.sub(tf.mul(inside, tf.add(tf.add(tf.mul(i, kw), j), 1)), 1) as tf.Tensor4D;
}

/**
 * Max unpooling with PyTorch `MaxUnpool2d` semantics: each value goes to the position its switch
 * names (index h * W + w in the output plane), zeros elsewhere; `outputSize` settles odd sizes.
 * Where overlapping windows name the same position the latest window in raster order wins (as
 * PyTorch on the CPU). Switches must come from a max pool with the same kernel, stride and
 * padding (as in every use of MaxUnpool2d); a switch outside its own window is dropped.
 * Differentiable in `x`: the gradient reads the output gradient back at the switches (for the
 * windows whose value was kept).
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
  const needH = (oh - 1) * g.stride[0] + g.kernel[0];
  const needW = (ow - 1) * g.stride[1] + g.kernel[1];
  const plan: WindowPlan = {
    inputSize: size,
    outputSize: [oh, ow],
    padding: [g.padding[0], needH - size[0] - g.padding[0], g.padding[1], needW - size[1] - g.padding[1]],
  };
  const taps = g.kernel[0] * g.kernel[1];
  const overlapping = g.kernel[0] > g.stride[0] || g.kernel[1] > g.stride[1];
  const m = n * oh * ow;
  // Windows that tile the output (kernel = stride): one broadcast multiply and a depth-to-space.
  const tapHits = (offsets: tf.Tensor4D): tf.Tensor3D =>
    indicatorEqual(tf.reshape(offsets, [m, 1, c]), tapIndex(taps)) as tf.Tensor3D;
  const scatter = (values: tf.Tensor4D, offsets: tf.Tensor4D): tf.Tensor4D => {
    if (tilesExactly(pool)) {
      return rowsToInput(
        tf.mul(tapHits(offsets), tf.reshape(values, [m, 1, c])) as tf.Tensor3D,
        values.shape,
        plan,
        pool,
      );
    }
    const hit = (p: number): tf.Tensor4D => indicatorEqual(offsets, p) as tf.Tensor4D;
    return scatterWindows(
      (p) => tf.mul(values, hit(p)),
      overlapping ? hit : null,
      [n, oh, ow, c],
      plan,
      pool,
    );
  };
  // The switches are index data: captured here rather than passed as an input, they stay off the tape.
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const offsets = switchOffsets(switches, g, size);
    save([offsets]);
    return {
      value: scatter(input, offsets),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const savedOffsets = saved[0] as tf.Tensor4D;
        const paddedDy = padOrCrop(dy as tf.Tensor4D, plan.padding);
        if (tilesExactly(pool)) {
          return tf.reshape(tf.sum(tf.mul(tapHits(savedOffsets), windowRows(paddedDy, pool)), 1), [
            n,
            oh,
            ow,
            c,
          ]);
        }
        // With overlapping windows only the window whose value was kept gets the gradient: scatter
        // each window's raster number + 1 the same way and see which window each position kept.
        let kept: tf.Tensor4D | null = null;
        let windowId: tf.Tensor | null = null;
        if (overlapping) {
          const ids = new Float32Array(oh * ow);
          for (let k = 0; k < ids.length; k++) ids[k] = k + 1;
          windowId = tf.tensor4d(ids, [1, oh, ow, 1]);
          const idMap = scatter(tf.mul(tf.onesLike(input), windowId) as tf.Tensor4D, savedOffsets);
          kept = padOrCrop(idMap, plan.padding);
        }
        let dx: tf.Tensor | null = null;
        const dyAt = windowTaps(paddedDy, plan, pool);
        const keptAt = kept ? windowTaps(kept, plan, pool) : null;
        for (let p = 0; p < taps; p++) {
          const [i, j] = [Math.floor(p / g.kernel[1]), p % g.kernel[1]];
          let part: tf.Tensor = tf.mul(dyAt(i, j), indicatorEqual(savedOffsets, p));
          if (keptAt && windowId) {
            part = tf.mul(part, indicatorEqual(keptAt(i, j), windowId));
          }
          dx = dx === null ? part : tf.add(dx, part);
        }
        return dx!;
      },
    };
  });
  return tf.tidy(() => op(x) as tf.Tensor4D);
}
