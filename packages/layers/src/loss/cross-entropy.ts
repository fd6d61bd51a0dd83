import { IGNORE_INDEX, InputError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';

/** Labels: an int32 tensor [N, H, W] or a typed array of N*H*W class indices. */
export type Labels = tf.Tensor3D | Uint8Array | Int32Array | Uint16Array;

export interface CrossEntropyOptions {
  /** Pixels with this label give no loss and no gradient (default 255, VOC's void). */
  ignoreIndex?: number;
  /** Per-class weights (length C): the mean becomes sum(w[y] * loss) / sum(w[y]), as PyTorch. */
  classWeights?: readonly number[] | Float32Array;
  /** 'mean' over valid pixels (default), 'sum', or 'none' (per pixel [N, H, W], 0 where ignored). */
  reduction?: 'mean' | 'sum' | 'none';
}

function labelTensor(
  labels: Labels,
  shape: readonly [number, number, number],
  numClasses: number,
  ignoreIndex: number,
): tf.Tensor3D {
  if (labels instanceof tf.Tensor) {
    if (labels.shape.some((d, i) => d !== shape[i])) {
      throw new InputError(`labels [${labels.shape}] do not match the logits' [${shape}]`);
    }
    return labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32');
  }
  const expected = shape[0] * shape[1] * shape[2];
  if (labels.length !== expected)
    throw new InputError(`labels hold ${labels.length} values, logits need ${expected}`);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label !== ignoreIndex && label >= numClasses) {
      throw new InputError(
        `label ${label} at index ${i} is not a class (0..${numClasses - 1}) nor the ignore index ${ignoreIndex}`,
      );
    }
  }
  return tf.tensor3d(Int32Array.from(labels), [shape[0], shape[1], shape[2]], 'int32');
}

/**
 * Pixel-wise softmax cross-entropy over logits [N, H, W, C]. Ignored pixels contribute neither
 * loss nor gradient; the mean is over valid pixels (weighted as PyTorch's `weight` when class
 * weights are given). When no pixel is valid the mean is 0 (PyTorch gives NaN), so a crop of
 * pure void does not poison a training run.
 */
export function softmaxCrossEntropy(
  logits: tf.Tensor4D,
  labels: Labels,
  options: CrossEntropyOptions = {},
): tf.Tensor {
  const ignoreIndex = options.ignoreIndex ?? IGNORE_INDEX;
  const [n, h, w, numClasses] = logits.shape;
  if (options.classWeights && options.classWeights.length !== numClasses) {
    throw new InputError(`${options.classWeights.length} class weights for ${numClasses} classes`);
  }
  return tf.tidy(() => {
    const target = labelTensor(labels, [n, h, w], numClasses, ignoreIndex);
    const valid = tf.cast(tf.notEqual(target, ignoreIndex), 'float32');
    // Out-of-range indices (the ignore index) one-hot to all zeros.
    const oneHot = tf.cast(tf.oneHot(target, numClasses), 'float32');
    const logProbabilities = tf.logSoftmax(logits);
    const pixelLoss = tf.neg(tf.sum(tf.mul(oneHot, logProbabilities), -1));
    let pixelWeight: tf.Tensor = valid;
    if (options.classWeights) {
      const weights = tf.tensor1d(Float32Array.from(options.classWeights));
      pixelWeight = tf.mul(valid, tf.sum(tf.mul(oneHot, weights), -1));
    }
    const weighted = tf.mul(pixelLoss, pixelWeight);
    const reduction = options.reduction ?? 'mean';
    if (reduction === 'none') return weighted;
    const total = tf.sum(weighted);
    if (reduction === 'sum') return total;
    // No valid pixel: 0 / 1 rather than NaN. The count does not depend on the logits, so the
    // comparison stays off the gradient path (tfjs has no gradient for Equal).
    const count = tf.sum(pixelWeight);
    return tf.div(total, tf.add(count, tf.cast(tf.equal(count, 0), 'float32')));
  });
}
