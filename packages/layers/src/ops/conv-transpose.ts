import { ConfigError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { convInputGradientByGemm, prefersGemm } from './conv-gemm.js';
import { type ConvGeometry, convFilterGradient, convForward, trainableValidConv } from './conv.js';
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
 * gradients are forward convolutions: it trains on wasm and is fast on cpu. A stride-1 one whose
 * filter dwarfs its input (DeconvNet's 7x7x4096x512 deconv-fc6 on a few pixels) runs as matmuls
 * with the filter on the left instead (conv-gemm.ts says why; `stride1ByGemm`), unless `route`
 * is 'conv'.
 */
export function convTranspose2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  geometry: ConvTransposeGeometry,
  { route = 'auto' }: { route?: 'auto' | 'conv' } = {},
): tf.Tensor4D {
  const forward = route === 'auto' ? forwardGeometry(x.shape, filter.shape, geometry) : null;
  if (forward && prefersGemm(x.shape, filter.shape, forward))
    return stride1ByGemm(x, filter, forward, geometry);
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

/**
 * The forward convolution (output -> input) whose input gradient this stride-1 transposed
 * convolution is: padding `padding` at the top/left, and at the bottom/right what makes its
 * output the transposed convolution's input size. Null for stride > 1.
 */
function forwardGeometry(
  inputShape: readonly number[],
  [kh, kw]: readonly number[],
  { stride, dilation, padding, outputSize }: ConvTransposeGeometry,
): ConvGeometry | null {
  if (stride[0] !== 1 || stride[1] !== 1) return null;
  const bottom = inputShape[1]! - 1 + effectiveKernel(kh!, dilation[0]) - outputSize[0] - padding[0];
  const right = inputShape[2]! - 1 + effectiveKernel(kw!, dilation[1]) - outputSize[1] - padding[1];
  return { stride: [1, 1], dilation, padding: [padding[0], bottom, padding[1], right] };
}

/**
 * out = the input gradient of the forward conv out -> x with this filter, so: the value by
 * `convInputGradientByGemm`; d/dx the forward conv of d/dout (gemm, as the filter changes while
 * training); d/dfilter that conv's filter gradient with d/dout as its input and x as its output
 * gradient.
 */
function stride1ByGemm(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  forward: ConvGeometry,
  { outputSize }: ConvTransposeGeometry,
): tf.Tensor4D {
  const n = x.shape[0];
  const outShape: [number, number, number, number] = [n, outputSize[0], outputSize[1], filter.shape[2]];
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor4D;
    const kernel = args[1] as tf.Tensor4D;
    const save = args[2] as tf.GradSaveFunc;
    save([input, kernel]);
    return {
      value: convInputGradientByGemm(input, kernel, forward, outShape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const savedInput = saved[0] as tf.Tensor4D;
        const savedKernel = saved[1] as tf.Tensor4D;
        const dOut = dy as tf.Tensor4D;
        // The forward conv's output is x's size exactly (its bottom/right padding says so).
        const dx = convForward(dOut, savedKernel, forward, 'auto');
        return [dx, convFilterGradient(dOut, savedInput, forward, savedKernel.shape)];
      },
    };
  });
  return tf.tidy(() => op(x, filter) as tf.Tensor4D);
}
