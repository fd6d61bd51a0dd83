import { ConfigError } from '@semseg/core';
import { type Padding4, type Pair, effectiveKernel } from './geometry.js';

/**
 * Convolution padding: 'valid' (none), 'same' (TensorFlow's rule: output = ceil(input / stride),
 * the odd pixel at the bottom/right; PyTorch's 'same' for stride 1), a number or [h, w] applied on
 * both sides (PyTorch's `padding`), or [top, bottom, left, right].
 */
export type ConvPadding =
  | 'same'
  | 'valid'
  | number
  | readonly [number, number]
  | readonly [number, number, number, number];

export function resolveConvPadding(
  padding: ConvPadding,
  inputSize: Pair,
  kernel: Pair,
  stride: Pair,
  dilation: Pair,
): Padding4 {
  if (padding === 'valid') return [0, 0, 0, 0];
  if (padding === 'same') {
    const [top, bottom] = samePadding(inputSize[0], kernel[0], stride[0], dilation[0]);
    const [left, right] = samePadding(inputSize[1], kernel[1], stride[1], dilation[1]);
    return [top, bottom, left, right];
  }
  const values: number[] =
    typeof padding === 'number'
      ? [padding, padding, padding, padding]
      : padding.length === 2
        ? [padding[0], padding[0], padding[1], padding[1]]
        : [...padding];
  if (values.length !== 4 || values.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new ConfigError(
      `padding must be 'same', 'valid' or non-negative integers, got ${JSON.stringify(padding)}`,
    );
  }
  return values as Padding4;
}

function samePadding(length: number, kernel: number, stride: number, dilation: number): [number, number] {
  const out = Math.ceil(length / stride);
  const total = Math.max(0, (out - 1) * stride + effectiveKernel(kernel, dilation) - length);
  const before = Math.floor(total / 2);
  return [before, total - before];
}
