import * as tf from '@tensorflow/tfjs-core';

// Masks as float arithmetic. On wasm, Equal with broadcasting, bool casts, Tile and a `where` with a
// scalar branch are 10-50x slower than XNNPACK's broadcasting sub/mul (measured: 333 ms for a
// broadcast Equal over 800k values against 7 ms for a broadcast Mul), so the pooling code builds
// its masks from these instead.

/** 1 where `x` equals `value`, else 0, for integer-valued float tensors. */
export function indicatorEqual(x: tf.Tensor, value: number | tf.Tensor): tf.Tensor {
  return tf.sub(1, tf.step(tf.abs(tf.sub(x, value))));
}

/** 1 where `upper - x` is 0, else 0, given x <= upper everywhere (a value against its window's max). */
export function indicatorAtMost(x: tf.Tensor, upper: tf.Tensor): tf.Tensor {
  return tf.sub(1, tf.step(tf.sub(upper, x)));
}

/** 1 where lower <= x < upper, else 0. */
export function indicatorInRange(x: tf.Tensor, lower: number, upper: number): tf.Tensor {
  return tf.mul(tf.sub(1, tf.step(tf.sub(lower, x))), tf.step(tf.sub(upper, x)));
}
