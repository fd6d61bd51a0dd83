import type { ParameterOptions, Rng } from '@semseg/core';
import { ConfigError, InputError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Initializer, torchDefault } from '../init.js';
import { trainableDepthwiseConv2d } from '../ops/depthwise.js';
import { type Pair, type PairLike, toPair, toPositivePair } from '../ops/geometry.js';
import { makeBias } from './conv-parameters.js';
import { Layer } from './layer.js';

export interface DepthwiseConv2dOptions {
  channels: number;
  kernelSize: PairLike;
  stride?: PairLike;
  /** Zero padding on both sides, per axis (PyTorch's `padding`). Default 0. */
  padding?: PairLike;
  /** Atrous rate. Default 1. */
  dilation?: PairLike;
  /** Default true. */
  bias?: boolean;
  rng: Rng;
  /** Default: PyTorch's (U(+-1/sqrt(fanIn)) with fanIn = kh * kw). */
  weightInit?: Initializer;
  biasInit?: Initializer;
  weightOptions?: ParameterOptions;
  biasOptions?: ParameterOptions;
}

/**
 * Depthwise convolution (PyTorch Conv2d with groups = in = out channels), NHWC. The weight is
 * [kh, kw, 1, C]: PyTorch's [C, 1, kh, kw] in the same OIHW -> HWIO layout as every other conv, so
 * torchvision files load with the `conv` layout. Dilation runs as space-to-batch, a dense depthwise
 * conv and batch-to-space (exact), because tfjs's depthwise gradient rejects dilation > 1. The
 * gradients are forward ops (ops/depthwise.ts), so it trains on wasm, which lacks tfjs's.
 */
export class DepthwiseConv2d extends Layer {
  readonly channels: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly kernelSize: Pair;
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;

  constructor(options: DepthwiseConv2dOptions) {
    super();
    const { channels } = options;
    if (!(Number.isInteger(channels) && channels > 0)) {
      throw new ConfigError(`DepthwiseConv2d channels must be a positive integer, got ${channels}`);
    }
    this.channels = channels;
    this.kernelSize = toPositivePair(options.kernelSize, 'kernelSize');
    this.stride = toPositivePair(options.stride ?? 1, 'stride');
    this.dilation = toPositivePair(options.dilation ?? 1, 'dilation');
    this.padding = toPair(options.padding ?? 0, 'padding');
    const [kh, kw] = this.kernelSize;
    // PyTorch's fans of a [C, 1, kh, kw] weight: in = kh * kw, out = C * kh * kw.
    const fans = { fanIn: kh * kw, fanOut: kh * kw * channels };
    this.weight = this.registerParameter(
      'weight',
      (options.weightInit ?? torchDefault())([kh, kw, 1, channels], fans, options.rng),
      options.weightOptions,
    );
    this.bias = makeBias(
      (name, value, opts) => this.registerParameter(name, value, opts),
      channels,
      fans,
      options,
    );
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    if (c !== this.channels) throw new InputError(`DepthwiseConv2d(${this.channels}) got ${c} channels`);
    return tf.tidy(() => {
      const [kh, kw] = this.kernelSize;
      const filter = tf.reshape(this.weight, [kh, kw, c, 1]) as tf.Tensor4D;
      const [ph, pw] = this.padding;
      const [rh, rw] = this.dilation;
      let y: tf.Tensor4D;
      if (rh === 1 && rw === 1) {
        const padded =
          ph > 0 || pw > 0
            ? tf.pad(x, [
                [0, 0],
                [ph, ph],
                [pw, pw],
                [0, 0],
              ])
            : x;
        y = trainableDepthwiseConv2d(padded, filter, this.stride);
      } else {
        // Pad to a multiple of the rate, convolve each phase densely, interleave, crop the extra.
        const extraH = (rh - ((h + 2 * ph) % rh)) % rh;
        const extraW = (rw - ((w + 2 * pw) % rw)) % rw;
        const phases = tf.spaceToBatchND(
          x,
          [rh, rw],
          [
            [ph, ph + extraH],
            [pw, pw + extraW],
          ],
        );
        const dense = trainableDepthwiseConv2d(phases as tf.Tensor4D, filter, [1, 1]);
        y = tf.batchToSpaceND(
          dense,
          [rh, rw],
          [
            [0, extraH],
            [0, extraW],
          ],
        ) as tf.Tensor4D;
        const [sh, sw] = this.stride;
        if (sh > 1 || sw > 1) y = everyNth(y, sh, sw);
      }
      return this.bias ? (tf.add(y, this.bias) as tf.Tensor4D) : y;
    });
  }
}

/** Rows and columns 0, s, 2s, ... of NHWC (strided slicing through pad/reshape/slice, which have gradients). */
function everyNth(y: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  const [n, h, w, c] = y.shape;
  const oh = Math.ceil(h / sh);
  const ow = Math.ceil(w / sw);
  const padded = tf.pad(y, [
    [0, 0],
    [0, oh * sh - h],
    [0, ow * sw - w],
    [0, 0],
  ]);
  const blocks = tf.reshape(padded, [n, oh, sh, ow, sw, c]);
  return tf.reshape(tf.slice(blocks, [0, 0, 0, 0, 0, 0], [n, oh, 1, ow, 1, c]), [n, oh, ow, c]);
}
