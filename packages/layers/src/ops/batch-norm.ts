import * as tf from '@tensorflow/tfjs-core';

// Batch normalisation in training mode as one differentiable op with the closed-form gradient.
//
// Why: written as tfjs ops (moments, subtract, rsqrt, multiply, add), the tape records about 20
// kernels per layer and differentiates each, and the engine clones every saved input for the
// backward pass: ~90 kernels per batch norm per step, most of them passes over the whole
// activation. DeconvNet's 26 batch norms made it the model with the most per-op overhead. Here
// the forward is the statistics and one batch-norm kernel, and the backward is two per-channel
// sums and one fused expression. The forward runs with the tape off (a custom op's body), so its
// moments are neither recorded nor cloned.

const AXES = [0, 1, 2];

/**
 * y = (x - mean) / sqrt(variance + eps) * weight + bias over N, H, W of NHWC `x`, with the batch's
 * statistics (PyTorch's BatchNorm2d in training mode). `weight` and `bias` both or neither
 * (affine or not). Gradients flow to x (through the statistics too), weight and bias:
 *   dbias = sum(dy), dweight = sum(dy * xhat),
 *   dx = weight / std * (dy - (dbias + xhat * dweight) / M),  M = N*H*W.
 * `onStatistics` receives the batch mean and biased variance (per channel) while they exist, for
 * the running averages; they are not on the gradient path.
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  weight: tf.Tensor | null,
  bias: tf.Tensor | null,
  eps: number,
  onStatistics?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): tf.Tensor4D {
  if ((weight === null) !== (bias === null))
    throw new Error('batchNormTraining: weight and bias, or neither');
  const [n, h, w] = x.shape;
  const count = n * h * w;
  const forward = (
    input: tf.Tensor4D,
    gamma: tf.Tensor | null,
    beta: tf.Tensor | null,
    save: tf.GradSaveFunc,
  ) => {
    const { mean, variance } = tf.moments(input, AXES) as { mean: tf.Tensor1D; variance: tf.Tensor1D };
    onStatistics?.(mean, variance);
    const invStd = tf.rsqrt(tf.add(variance, eps));
    // One FusedBatchNorm kernel with the batch's statistics: (x - mean) first, as PyTorch does
    // (x * scale - mean * scale would cancel where a channel's mean dwarfs its deviation).
    const y = tf.batchNorm(input, mean, variance, beta ?? undefined, gamma ?? undefined, eps) as tf.Tensor4D;
    save([input, mean, invStd, ...(gamma ? [gamma] : [])]);
    return y;
  };
  const backward = (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
    const [input, mean, invStd, gamma] = saved as [tf.Tensor4D, tf.Tensor, tf.Tensor, tf.Tensor?];
    const xhat = tf.mul(tf.sub(input, mean), invStd);
    const dBias = tf.sum(dy, AXES);
    const dWeight = tf.sum(tf.mul(dy, xhat), AXES);
    const scale = gamma ? tf.mul(gamma, invStd) : invStd;
    // dx = scale * dy + (-scale * dWeight / M) * xhat + (-scale * dBias / M)
    const perM = tf.div(scale, -count);
    const dx = tf.add(tf.add(tf.mul(dy, scale), tf.mul(xhat, tf.mul(perM, dWeight))), tf.mul(perM, dBias));
    return gamma ? [dx, dWeight, dBias] : [dx];
  };
  const op =
    weight && bias
      ? tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
          const save = args[3] as tf.GradSaveFunc;
          return {
            value: forward(args[0] as tf.Tensor4D, args[1] as tf.Tensor, args[2] as tf.Tensor, save),
            gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backward(dy as tf.Tensor4D, saved),
          };
        })
      : tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
          const save = args[1] as tf.GradSaveFunc;
          return {
            value: forward(args[0] as tf.Tensor4D, null, null, save),
            gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backward(dy as tf.Tensor4D, saved),
          };
        });
  return (weight && bias ? op(x, weight, bias) : op(x)) as tf.Tensor4D;
}
