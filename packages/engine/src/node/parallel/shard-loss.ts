import type { LossReduction, SegmentationModel, TrainingOutput } from '@semseg/core';
import { softmaxCrossEntropy } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';

export interface ShardLossOptions {
  reduction: LossReduction;
  classWeights?: readonly number[];
  ignoreIndex: number;
  /**
   * Given this shard's denominators (one per term), the whole batch's: the terms' labelled-pixel
   * counts summed over every shard.
   */
  totals(counts: number[]): number[];
  /**
   * Given, a single-term 'mean' loss is left undivided (times its weight only) and its
   * denominator is handed here instead of exchanged: `count` is this shard's, and the batch's
   * divisor will be max(total, minimum), or 1 for a total of 0. The gradients are then divided
   * in the update (update-phase.ts), so the replicas never wait for each other mid-step.
   */
  defer?: (count: number, minimum: number) => void;
}

/**
 * One shard's part of the Trainer's loss: each training output's cross-entropy summed over the
 * shard's pixels, then (for 'mean') divided by that output's count over the whole batch, so that
 * the shards' losses and gradients add up to the single-thread ones (to float rounding); or, for
 * one term with `defer`, left undivided for the update to divide. The
 * counts are what the Trainer divides by: the class-weighted labelled pixels, or the labelled
 * pixels when pixel weights are given.
 */
export function shardLoss(
  model: SegmentationModel,
  images: tf.Tensor4D,
  labels: tf.Tensor3D,
  pixelWeights: tf.Tensor3D | undefined,
  options: ShardLossOptions,
): tf.Scalar {
  return tf.tidy(() => {
    const outputs: TrainingOutput[] = model.trainingOutputs
      ? model.trainingOutputs(images, labels, pixelWeights)
      : [{ logits: model.forward(images), labels, weight: 1, ...(pixelWeights ? { pixelWeights } : {}) }];
    const ce = {
      ignoreIndex: options.ignoreIndex,
      ...(options.classWeights ? { classWeights: options.classWeights } : {}),
    };
    const sums = outputs.map((o) => {
      if (!o.pixelWeights) return softmaxCrossEntropy(o.logits, o.labels, { ...ce, reduction: 'sum' });
      const perPixel = softmaxCrossEntropy(o.logits, o.labels, { ...ce, reduction: 'none' });
      return tf.sum(tf.mul(perPixel, o.pixelWeights));
    });
    let scales = outputs.map((o) => o.weight);
    if (options.reduction === 'mean' && options.defer && outputs.length === 1) {
      const output = outputs[0]!;
      options.defer(termCount(output, options), output.pixelWeights ? 1 : 0);
    } else if (options.reduction === 'mean') {
      const counts = outputs.map((o) => termCount(o, options));
      const totals = options.totals(counts);
      // The single-thread divisors: no labelled pixel divides by 1 (a loss of 0, not NaN).
      scales = outputs.map(
        (o, t) => o.weight / (totals[t] === 0 ? 1 : o.pixelWeights ? Math.max(totals[t]!, 1) : totals[t]!),
      );
    }
    const terms = sums.map((s, t) => tf.mul(s, scales[t]!));
    return (terms.length === 1 ? terms[0]! : tf.addN(terms)) as tf.Scalar;
  });
}

/** The Trainer's divisor of one output on this shard (labels only: no gradient flows through it). */
function termCount(output: TrainingOutput, options: ShardLossOptions): number {
  return tf.tidy(() => {
    const valid = tf.cast(tf.notEqual(output.labels, options.ignoreIndex), 'float32');
    if (output.pixelWeights || !options.classWeights) return tf.sum(valid).dataSync()[0]!;
    const numClasses = output.logits.shape[3];
    const oneHot = tf.cast(tf.oneHot(tf.cast(output.labels, 'int32') as tf.Tensor3D, numClasses), 'float32');
    const weights = tf.tensor1d(Float32Array.from(options.classWeights));
    return tf.sum(tf.mul(valid, tf.sum(tf.mul(oneHot, weights), -1))).dataSync()[0]!;
  });
}
