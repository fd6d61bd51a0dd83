import type { ParameterOptions, Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Initializer, torchDefault } from '../init.js';
import { type ConvGeometry, conv2d, inferenceConv, recordingGradients } from '../ops/conv.js';
import { type PairLike, toPositivePair } from '../ops/geometry.js';
import { type ConvPadding, resolveConvPadding } from '../ops/padding.js';
import { checkChannels, makeBias } from './conv-parameters.js';
import { Layer } from './layer.js';

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: PairLike;
  stride?: PairLike;
  /** 'same', 'valid', a number or [h, w] on both sides, or [top, bottom, left, right]. Default 0. */
  padding?: ConvPadding;
  /** Atrous rate (DeepLab). Default 1. */
  dilation?: PairLike;
  /** Default true. */
  bias?: boolean;
  /** Draws the initial weights. */
  rng: Rng;
  /** Default: PyTorch's (U(+-1/sqrt(fanIn))). */
  weightInit?: Initializer;
  biasInit?: Initializer;
  /** Optimiser settings of the weight (default: trainable, decayed, lr x1). */
  weightOptions?: ParameterOptions;
  /** Optimiser settings of the bias (default: trainable, not decayed, lr x1). */
  biasOptions?: ParameterOptions;
}

/**
 * 2-D convolution, NHWC, weight [kh, kw, in, out] (tfjs HWIO) named `weight`, bias [out] named
 * `bias`. Its gradients are forward convolutions (see `conv2d`): trains on every backend.
 */
export class Conv2d extends Layer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly dilation: [number, number];
  readonly padding: ConvPadding;

  constructor(options: Conv2dOptions) {
    super();
    const { inChannels, outChannels } = options;
    checkChannels('Conv2d', inChannels, outChannels);
    this.kernelSize = toPositivePair(options.kernelSize, 'kernelSize');
    this.stride = toPositivePair(options.stride ?? 1, 'stride');
    this.dilation = toPositivePair(options.dilation ?? 1, 'dilation');
    this.padding = options.padding ?? 0;
    if (typeof this.padding !== 'string') resolveConvPadding(this.padding, [1, 1], [1, 1], [1, 1], [1, 1]);
    const [kh, kw] = this.kernelSize;
    const fans = { fanIn: kh * kw * inChannels, fanOut: kh * kw * outChannels };
    const weightInit = options.weightInit ?? torchDefault();
    this.weight = this.registerParameter(
      'weight',
      weightInit([kh, kw, inChannels, outChannels], fans, options.rng),
      options.weightOptions,
    );
    this.bias = makeBias(
      (name, value, opts) => this.registerParameter(name, value, opts),
      outChannels,
      fans,
      options,
    );
  }

  geometryFor(inputSize: [number, number]): ConvGeometry {
    return {
      stride: this.stride,
      dilation: this.dilation,
      padding: resolveConvPadding(this.padding, inputSize, this.kernelSize, this.stride, this.dilation),
    };
  }

  /**
   * Convolution and bias, then `activation` (default none). In evaluation mode with no gradient
   * recorded, one fused kernel does all three (FCN-8s w1/4 at 200x200 on wasm: the 20 bias adds and
   * 15 ReLUs were 8 of 162 kernel-ms, each another pass over a map).
   */
  forward(x: tf.Tensor4D, { activation = 'linear' }: { activation?: 'linear' | 'relu' } = {}): tf.Tensor4D {
    return tf.tidy(() => {
      const filter = this.weight as tf.Tensor4D;
      const geometry = this.geometryFor([x.shape[1], x.shape[2]]);
      if (!this.training && !recordingGradients())
        return inferenceConv(x, filter, geometry, { bias: this.bias as tf.Tensor1D | null, activation });
      // Training updates the filter every step, so XNNPACK's cached packing of it never hits.
      const y = conv2d(x, filter, geometry, { forward: this.training ? 'auto' : 'conv' });
      const biased = this.bias ? tf.add(y, this.bias) : y;
      return (activation === 'relu' ? tf.relu(biased) : biased) as tf.Tensor4D;
    });
  }
}
