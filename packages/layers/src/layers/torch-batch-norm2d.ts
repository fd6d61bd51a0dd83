import { ConfigError, InputError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { batchNormTraining } from '../ops/batch-norm.js';
import { Layer } from './layer.js';

export interface TorchBatchNorm2dOptions {
  /** Added to the variance (PyTorch default 1e-5; torchvision's MobileNetV3 uses 1e-3). */
  eps?: number;
  /** Weight of the new batch in the running averages (PyTorch default 0.1; MobileNetV3 0.01). */
  momentum?: number;
  /**
   * torchvision's FrozenBatchNorm2d: running statistics in training mode too, and the affine
   * parameters not trained (statistics and affine stay as loaded, whatever the mode).
   */
  frozen?: boolean;
}

/**
 * Batch normalisation over N, H, W of NHWC input with PyTorch's state_dict names (`weight`, `bias`,
 * `running_mean`, `running_var`), so a torchvision state_dict loads by identity. Training mode uses
 * batch statistics (biased variance) and updates the running averages with the unbiased variance,
 * as torch.nn.BatchNorm2d; eval mode, and frozen batch norm in every mode, use the running ones.
 * PyTorch's int64 `num_batches_tracked` is not kept: it only matters for `momentum=None`.
 */
export class TorchBatchNorm2d extends Layer {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  readonly frozen: boolean;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;

  constructor(numFeatures: number, options: TorchBatchNorm2dOptions = {}) {
    super();
    if (!(Number.isInteger(numFeatures) && numFeatures > 0)) {
      throw new ConfigError(`TorchBatchNorm2d needs a positive number of features, got ${numFeatures}`);
    }
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    if (!(this.momentum >= 0 && this.momentum <= 1)) {
      throw new ConfigError(`TorchBatchNorm2d momentum must be in [0, 1], got ${this.momentum}`);
    }
    this.frozen = options.frozen ?? false;
    const affine = { weightDecay: false, trainable: !this.frozen };
    this.weight = this.registerParameter('weight', tf.ones([numFeatures]), affine);
    this.bias = this.registerParameter('bias', tf.zeros([numFeatures]), affine);
    this.runningMean = this.registerBuffer('running_mean', tf.zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', tf.ones([numFeatures]));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    if (c !== this.numFeatures)
      throw new InputError(`TorchBatchNorm2d(${this.numFeatures}) got ${c} channels`);
    return tf.tidy(() => {
      if (!this.training || this.frozen) {
        // Running statistics: one batch-norm kernel (FusedBatchNorm on every backend), which an
        // ONNX export sees as the layer it is, with its statistics and epsilon.
        return tf.batchNorm(
          x,
          this.runningMean,
          this.runningVar,
          this.bias,
          this.weight,
          this.eps,
        ) as tf.Tensor4D;
      }
      const count = n * h * w;
      if (count < 2)
        throw new InputError('TorchBatchNorm2d needs more than one value per channel in training');
      return batchNormTraining(
        x,
        this.weight as tf.Tensor1D,
        this.bias as tf.Tensor1D,
        this.eps,
        (mean, variance) => this.updateRunningStats(mean, variance, count),
      );
    });
  }

  private updateRunningStats(mean: tf.Tensor, variance: tf.Tensor, count: number): void {
    // Not on the gradient path: nothing in training reads the running averages.
    const unbiased = tf.mul(variance, count / (count - 1));
    const blend = (running: tf.Variable, batch: tf.Tensor) =>
      running.assign(tf.add(running, tf.mul(tf.sub(batch, running), this.momentum)));
    blend(this.runningMean, mean);
    blend(this.runningVar, unbiased);
  }
}
