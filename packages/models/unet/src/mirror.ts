import * as tf from '@tensorflow/tfjs-core';

/** Index of position `j` (any integer) in a mirrored extension of `[0, n)` (edge not repeated). */
export function reflectIndex(j: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const k = ((j % period) + period) % period;
  return k < n ? k : period - k;
}

/**
 * Extends an NHWC tensor by mirroring at the bottom and right to `height` x `width` (as the paper
 * extrapolates missing context; any extension length, repeated mirroring where it exceeds the map).
 */
export function mirrorExtend(x: tf.Tensor4D, height: number, width: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  if (height === h && width === w) return tf.clone(x);
  return tf.tidy(() => {
    let y: tf.Tensor4D = x;
    if (height !== h) {
      const rows = Int32Array.from({ length: height }, (_, i) => reflectIndex(i, h));
      y = tf.gather(y, tf.tensor1d(rows, 'int32'), 1) as tf.Tensor4D;
    }
    if (width !== w) {
      const cols = Int32Array.from({ length: width }, (_, i) => reflectIndex(i, w));
      y = tf.gather(y, tf.tensor1d(cols, 'int32'), 2) as tf.Tensor4D;
    }
    return y;
  });
}
