import { IGNORE_INDEX, InputError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The paper's weighted loss: softmax cross-entropy times a per-pixel weight (`unetWeightMap`),
 * summed and divided by the labelled pixels (the paper's energy is the sum; the mean keeps
 * learning rates comparable with the unweighted loss). Pixels labelled `ignoreIndex` count for
 * nothing. `pixelWeights`: N x h x w at the logits' size (crop valid U-Net's with the labels).
 */
export function pixelWeightedCrossEntropy(
  logits: tf.Tensor4D,
  labels: tf.Tensor3D,
  pixelWeights: tf.Tensor3D,
  ignoreIndex = IGNORE_INDEX,
): tf.Scalar {
  const [n, h, w, numClasses] = logits.shape;
  for (const [what, t] of [
    ['labels', labels],
    ['pixel weights', pixelWeights],
  ] as const) {
    if (t.shape[0] !== n || t.shape[1] !== h || t.shape[2] !== w) {
      throw new InputError(`${what} [${t.shape}] do not match the logits' [${n},${h},${w}]`);
    }
  }
  return tf.tidy(() => {
    const target = labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32');
    const valid = tf.cast(tf.notEqual(target, ignoreIndex), 'float32');
    const oneHot = tf.cast(tf.oneHot(target, numClasses), 'float32');
    const pixelLoss = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1));
    const total = tf.sum(tf.mul(tf.mul(pixelLoss, pixelWeights), valid));
    const count = tf.maximum(tf.sum(valid), 1);
    return tf.div(total, count) as tf.Scalar;
  });
}
