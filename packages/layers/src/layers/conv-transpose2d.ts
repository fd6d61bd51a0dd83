import { ConfigError, type ParameterOptions, type Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Initializer, torchDefault } from '../init.js';
import { convTranspose2d, convTransposeOutputLength } from '../ops/conv-transpose.js';
import { type Pair, type PairLike, toPair, toPositivePair } from '../ops/geometry.js';
import { checkChannels, makeBias } from './conv-parameters.js';
import { Layer } from './layer.js';

export interface ConvTranspose2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: PairLike;
  stride?: PairLike;
  /** PyTorch's `padding`: cut from both sides of the full output. Default 0. */
  padding?: PairLike;
  /** PyTorch's `output_padding`: extra rows/columns at the bottom/right. Default 0. */
  outputPadding?: PairLike;
  dilation?: PairLike;
  bias?: boolean;
  rng: Rng;
  /** Default PyTorch's; `bilinear()` for FCN's upsampling layers. */
  weightInit?: Initializer;
  biasInit?: Initializer;
  weightOptions?: ParameterOptions;
  biasOptions?: ParameterOptions;
}

/**
 * Transposed convolution ("deconvolution"), NHWC, weight [kh, kw, out, in] as tf.conv2dTranspose,
 * named `weight`, bias `bias`. `forward(x, outputSize)` picks the output size among those that
 * map back to the input size (PyTorch's `output_size`). Both gradients are forward convolutions.
 */
export class ConvTranspose2d extends Layer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly outputPadding: Pair;
  readonly dilation: Pair;

  constructor(options: ConvTranspose2dOptions) {
    super();
    const { inChannels, outChannels } = options;
    checkChannels('ConvTranspose2d', inChannels, outChannels);
    this.kernelSize = toPositivePair(options.kernelSize, 'kernelSize');
    this.stride = toPositivePair(options.stride ?? 1, 'stride');
    this.padding = toPair(options.padding ?? 0, 'padding');
    this.outputPadding = toPair(options.outputPadding ?? 0, 'outputPadding');
    this.dilation = toPositivePair(options.dilation ?? 1, 'dilation');
    for (let a = 0; a < 2; a++) {
      if (this.outputPadding[a]! >= Math.max(this.stride[a]!, this.dilation[a]!)) {
        throw new ConfigError('outputPadding must be smaller than the stride or the dilation (as PyTorch)');
      }
    }
    const [kh, kw] = this.kernelSize;
    // PyTorch computes a transposed conv's fans from weight [in, out, kh, kw] as if out were the input.
    const fans = { fanIn: kh * kw * outChannels, fanOut: kh * kw * inChannels };
    const weightInit = options.weightInit ?? torchDefault();
    this.weight = this.registerParameter(
      'weight',
      weightInit([kh, kw, outChannels, inChannels], fans, options.rng),
      options.weightOptions,
    );
    this.bias = makeBias(
      (name, value, opts) => this.registerParameter(name, value, opts),
      outChannels,
      fans,
      options,
    );
  }

  /** Output size for an input size, with `outputPadding` (or a requested size, checked as PyTorch does). */
  outputSizeFor(inputSize: Pair, requested?: Pair): Pair {
    const size: number[] = [];
    for (let a = 0; a < 2; a++) {
      const smallest = convTransposeOutputLength(
        inputSize[a]!,
        this.kernelSize[a]!,
        this.stride[a]!,
        this.padding[a]!,
        this.dilation[a]!,
        0,
      );
      if (requested === undefined) {
        size.push(smallest + this.outputPadding[a]!);
        continue;
      }
      const largest = smallest + Math.max(this.stride[a]!, this.dilation[a]!) - 1;
      if (requested[a]! < smallest || requested[a]! > largest) {
        throw new ConfigError(
          `requested output size [${requested}] is outside ${smallest}..${largest} on axis ${a}`,
        );
      }
      size.push(requested[a]!);
    }
    return [size[0]!, size[1]!];
  }

  forward(x: tf.Tensor4D, outputSize?: Pair): tf.Tensor4D {
    return tf.tidy(() => {
      const size = this.outputSizeFor([x.shape[1], x.shape[2]], outputSize);
      const y = convTranspose2d(
        x,
        this.weight as tf.Tensor4D,
        { stride: this.stride, dilation: this.dilation, padding: this.padding, outputSize: size },
        // The gemm route while training (the filter changes every step); evaluation keeps the
        // conv route, whose ops are the ones the ONNX exporter maps to a size-generic graph.
        { route: this.training ? 'auto' : 'conv' },
      );
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}
