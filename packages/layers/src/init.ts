import { ConfigError, type Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';

/** Fan-in and fan-out of a weight: receptive field * input (or output) channels. */
export interface Fans {
  fanIn: number;
  fanOut: number;
}

/** Makes an initial float32 tensor from the seeded generator. */
export type Initializer = (shape: readonly number[], fans: Fans, rng: Rng) => tf.Tensor;

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export const zeros = (): Initializer => (shape) => tf.zeros([...shape]);

export const constant =
  (value: number): Initializer =>
  (shape) =>
    tf.fill([...shape], value);

/** N(mean, std^2): e.g. normal(0.01) for DeepLab's and FCN's classifiers. */
export const normal =
  (std: number, mean = 0): Initializer =>
  (shape, _fans, rng) =>
    tf.tensor(rng.fillNormal(new Float32Array(sizeOf(shape)), mean, std), [...shape]);

export const uniform =
  (low: number, high: number): Initializer =>
  (shape, _fans, rng) =>
    tf.tensor(rng.fillUniform(new Float32Array(sizeOf(shape)), low, high), [...shape]);

export interface KaimingOptions {
  /** 'fanIn' (default) keeps forward variance, 'fanOut' backward variance. */
  mode?: 'fanIn' | 'fanOut';
  /** Negative slope of the rectifier that follows (0 for ReLU). */
  negativeSlope?: number;
}

function kaimingStd({ mode = 'fanIn', negativeSlope = 0 }: KaimingOptions, fans: Fans): number {
  const gain = Math.sqrt(2 / (1 + negativeSlope * negativeSlope));
  return gain / Math.sqrt(mode === 'fanIn' ? fans.fanIn : fans.fanOut);
}

/** He et al. 2015 (PyTorch `kaiming_normal_`): N(0, gain^2 / fan). */
export const heNormal =
  (options: KaimingOptions = {}): Initializer =>
  (shape, fans, rng) =>
    normal(kaimingStd(options, fans))(shape, fans, rng);

/** PyTorch `kaiming_uniform_`: U(-b, b) with b = sqrt(3) * gain / sqrt(fan). */
export const heUniform =
  (options: KaimingOptions = {}): Initializer =>
  (shape, fans, rng) => {
    const bound = Math.sqrt(3) * kaimingStd(options, fans);
    return uniform(-bound, bound)(shape, fans, rng);
  };

/** Glorot & Bengio 2010 (PyTorch `xavier_normal_`): N(0, gain^2 * 2 / (fanIn + fanOut)). */
export const xavierNormal =
  (gain = 1): Initializer =>
  (shape, fans, rng) =>
    normal(gain * Math.sqrt(2 / (fans.fanIn + fans.fanOut)))(shape, fans, rng);

/** PyTorch `xavier_uniform_`: U(-b, b) with b = gain * sqrt(6 / (fanIn + fanOut)). */
export const xavierUniform =
  (gain = 1): Initializer =>
  (shape, fans, rng) => {
    const bound = gain * Math.sqrt(6 / (fans.fanIn + fans.fanOut));
    return uniform(-bound, bound)(shape, fans, rng);
  };

/**
 * PyTorch's default for conv weights and biases (kaiming_uniform with a = sqrt(5), and the bias
 * rule): U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
 */
export const torchDefault = (): Initializer => (shape, fans, rng) => {
  const bound = 1 / Math.sqrt(fans.fanIn);
  return uniform(-bound, bound)(shape, fans, rng);
};

/** The bilinear interpolation kernel of FCN's `upsample_filt`, for a size x size filter. */
export function bilinearKernel(size: number): Float64Array {
  const factor = Math.floor((size + 1) / 2);
  const center = size % 2 === 1 ? factor - 1 : factor - 0.5;
  const kernel = new Float64Array(size * size);
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      kernel[i * size + j] = (1 - Math.abs(i - center) / factor) * (1 - Math.abs(j - center) / factor);
    }
  }
  return kernel;
}

/**
 * FCN's bilinear initialisation of a transposed-conv filter [k, k, outChannels, inChannels]:
 * channel c upsamples channel c (a diagonal of bilinear kernels), so that a stride-s layer with
 * k = 2s and padding s/2 reproduces bilinear upsampling (half-pixel centres) in the interior.
 */
export const bilinear = (): Initializer => (shape) => {
  const [kh, kw, outChannels, inChannels] = shape;
  if (shape.length !== 4 || kh !== kw || outChannels !== inChannels) {
    throw new ConfigError(
      `bilinear initialisation needs a square filter with as many input as output channels, got [${shape}]`,
    );
  }
  const size = kh!;
  const channels = outChannels!;
  const kernel = bilinearKernel(size);
  const values = new Float32Array(size * size * channels * channels);
  for (let tap = 0; tap < size * size; tap++) {
    for (let c = 0; c < channels; c++) values[tap * channels * channels + c * channels + c] = kernel[tap]!;
  }
  return tf.tensor4d(values, [size, size, channels, channels]);
};
