import { ConfigError, InputError, type ParameterOptions } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { batchNormTraining } from '../ops/batch-norm.js';
import { Layer } from './layer.js';

export interface BatchNorm2dOptions {
  /** Added to the variance (PyTorch default 1e-5). */
  eps?: number;
  /**
   * Weight of the new batch in the running averages (PyTorch convention, default 0.1:
   * running = (1 - momentum) * running + momentum * batch). `null`: cumulative average over all
   * batches seen, counted in a `numBatchesTracked` buffer.
   */
  momentum?: number | null;
  /** Learnable per-channel scale `weight` and shift `bias` (default true). */
  affine?: boolean;
  /** Keep running statistics (default true); without them, batch statistics are used in eval too. */
  trackRunningStats?: boolean;
  /** Optimiser settings of weight and bias (default: not decayed, as the references). */
  parameterOptions?: ParameterOptions;
}

/**
 * Batch normalisation over N, H, W of NHWC input, as PyTorch's BatchNorm2d: batch statistics
 * (biased variance) in training, with the running averages updated using the unbiased variance;
 * running statistics in eval. Parameters `weight`, `bias`; buffers `runningMean`, `runningVar`.
 */
export class BatchNorm2d extends Layer {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly weight: tf.Variable | null;
  readonly bias: tf.Variable | null;
  readonly runningMean: tf.Variable | null;
  readonly runningVar: tf.Variable | null;
  readonly numBatchesTracked: tf.Variable | null;

  constructor(numFeatures: number, options: BatchNorm2dOptions = {}) {
    super();
    if (!(Number.isInteger(numFeatures) && numFeatures > 0)) {
      throw new ConfigError(`BatchNorm2d needs a positive number of features, got ${numFeatures}`);
    }
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    const affine = options.affine ?? true;
    const parameterOptions = { weightDecay: false, ...options.parameterOptions };
    this.weight = affine ? this.registerParameter('weight', tf.ones([numFeatures]), parameterOptions) : null;
    this.bias = affine ? this.registerParameter('bias', tf.zeros([numFeatures]), parameterOptions) : null;
    const track = options.trackRunningStats ?? true;
    this.runningMean = track ? this.registerBuffer('runningMean', tf.zeros([numFeatures])) : null;
    this.runningVar = track ? this.registerBuffer('runningVar', tf.ones([numFeatures])) : null;
    this.numBatchesTracked =
      track && this.momentum === null ? this.registerBuffer('numBatchesTracked', tf.zeros([])) : null;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    if (c !== this.numFeatures) throw new InputError(`BatchNorm2d(${this.numFeatures}) got ${c} channels`);
    return tf.tidy(() => {
      if (this.training || this.runningMean === null) {
        const count = n * h * w;
        if (this.training && count < 2) {
          throw new InputError('BatchNorm2d needs more than one value per channel in training');
        }
        const track = this.training && this.runningMean !== null && this.runningVar !== null;
        return batchNormTraining(x, this.weight, this.bias, this.eps, (mean, variance) => {
          if (track) this.updateRunningStats(mean, variance, count);
        });
      }
      // Running statistics: one batch-norm kernel (FusedBatchNorm on every backend), which an
      // ONNX export sees as the layer it is, with its statistics and epsilon.
      return tf.batchNorm(
        x,
        this.runningMean,
        this.runningVar!,
        this.bias ?? undefined,
        this.weight ?? undefined,
        this.eps,
      ) as tf.Tensor4D;
    });
  }

  private updateRunningStats(mean: tf.Tensor, variance: tf.Tensor, count: number): void {
    // The running averages are not on the gradient path: nothing reads them in training.
    const unbiased = tf.mul(variance, count / (count - 1));
    let factor: tf.Tensor | number;
    if (this.numBatchesTracked) {
      this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, 1));
      factor = tf.div(1, this.numBatchesTracked);
    } else {
      factor = this.momentum!;
    }
    const blend = (running: tf.Variable, batch: tf.Tensor) =>
      running.assign(tf.add(running, tf.mul(tf.sub(batch, running), factor)));
    blend(this.runningMean!, mean);
    blend(this.runningVar!, unbiased);
  }
}
