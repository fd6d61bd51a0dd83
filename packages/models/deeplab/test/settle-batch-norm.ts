import type { Module } from '@semseg/core';
import { TorchBatchNorm2d } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';

function batchNorms(module: Module, out: TorchBatchNorm2d[] = []): TorchBatchNorm2d[] {
  if (module instanceof TorchBatchNorm2d && !module.frozen && module.momentum > 0) out.push(module);
  for (const [, child] of module.children()) batchNorms(child, out);
  return out;
}

/**
 * Precise batch norm (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm"): sets every batch
 * norm's running statistics to those of `images` under the final weights, as an evaluation after
 * training should see them. Running averages lag the weights by about 1 / momentum steps
 * (torchvision's MobileNetV3 uses momentum 0.01, so hundreds of steps), which is what made a
 * model that fits its batch score low in eval mode. One pass with dropout off and batch norm in
 * training mode; each layer's update r' = r + m (b - r) is inverted to b = r + (r' - r) / m, so
 * no layer's momentum is touched. Leaves the model in eval mode.
 */
export function settleBatchNorm(
  model: Module & { forward(x: tf.Tensor4D): tf.Tensor4D },
  images: tf.Tensor4D,
): void {
  const layers = batchNorms(model);
  const before = layers.map((bn) => [tf.clone(bn.runningMean), tf.clone(bn.runningVar)] as const);
  model.eval();
  for (const bn of layers) bn.train();
  tf.dispose(model.forward(images));
  model.eval();
  tf.tidy(() => {
    layers.forEach((bn, i) => {
      const [mean, variance] = before[i]!;
      const invert = (r: tf.Tensor, updated: tf.Variable) =>
        updated.assign(tf.add(r, tf.div(tf.sub(updated, r), bn.momentum)));
      invert(mean, bn.runningMean);
      invert(variance, bn.runningVar);
    });
  });
  tf.dispose(before.flat());
}
