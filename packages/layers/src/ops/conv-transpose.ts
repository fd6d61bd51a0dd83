import { ConfigError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { trainableValidConv } from './conv.js';
import { type Pair, effectiveKernel } from './geometry.js';
import { transposedConvWindow } from './transposed-conv.js';

export interface ConvTransposeGeometry {
  stride: Pair;
  dilation: Pair;
  /** PyTorch's `padding`: rows/columns cut from the top/left of the full output. */
  padding: Pair;
  /** Output height and width. */
  outputSize: Pair;
}

/** PyTorch's output length: (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1. */
export function convTransposeOutputLength(
  input: number,
  kernel: number,
  stride: number,
  padding: number,
  dilation: number,
  outputPadding: number,
): number {
  const length = (input - 1) * stride - 2 * padding + effectiveKernel(kernel, dilation) + outputPadding;
  if (length < 1) throw new ConfigError(`transposed convolution output would be ${length} long`);
  return length;
}

/**
 * Transposed convolution (NHWC input; filter [kh, kw, outChannels, inChannels] as tf.conv2dTranspose).
 * Built from the trainable forward conv (polyphase for stride > 1), so both its input and filter
 * gradients are forward convolutions: it trains on wasm and is fast on cpu.
 */
export function convTranspose2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvTransposeGeometry,
): tf.Tensor4D {
  return tf.tidy(() =>
    transposedConvWindow(
      x,
      filter,
      geometry.stride,
      geometry.dilation,
      geometry.padding,
      geometry.outputSize,
      trainableValidConv,
    ),
  );
}
