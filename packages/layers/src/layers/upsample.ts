import { ConfigError } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Pair, type PairLike, toPositivePair } from '../ops/geometry.js';
import { type InterpolationMode, bedOfNails, resize } from '../ops/resize.js';
import { Conv2d, type Conv2dOptions } from './conv2d.js';
import { Layer } from './layer.js';

export type UpsampleMode = InterpolationMode | 'bed-of-nails';

export interface UpsampleOptions {
  /** Output size [h, w]; or give `scaleFactor`. */
  size?: Pair;
  /** Output = floor(input * factor) per axis (PyTorch); an integer for bed of nails. */
  scaleFactor?: number | readonly [number, number];
  /** Default 'nearest' (PyTorch's default). */
  mode?: UpsampleMode;
  alignCorners?: boolean;
  halfPixelCenters?: boolean;
}

/**
 * Upsampling without parameters: nearest, bilinear and bicubic (PyTorch/tfjs coordinate
 * conventions, see `resize`), or bed of nails (each value at the top-left of its block).
 */
export class Upsample extends Layer {
  readonly options: UpsampleOptions;

  constructor(options: UpsampleOptions) {
    super();
    if ((options.size === undefined) === (options.scaleFactor === undefined)) {
      throw new ConfigError('Upsample needs exactly one of size and scaleFactor');
    }
    if (options.mode === 'bed-of-nails') {
      if (options.scaleFactor === undefined)
        throw new ConfigError('bed-of-nails upsampling needs an integer scaleFactor');
      toPositivePair(options.scaleFactor as PairLike, 'scaleFactor');
    }
    this.options = options;
  }

  outputSizeFor([h, w]: Pair): Pair {
    if (this.options.size) return this.options.size;
    const factor = this.options.scaleFactor!;
    const [fh, fw] = typeof factor === 'number' ? [factor, factor] : factor;
    return [Math.floor(h * fh), Math.floor(w * fw)];
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const mode = this.options.mode ?? 'nearest';
    if (mode === 'bed-of-nails')
      return bedOfNails(x, toPositivePair(this.options.scaleFactor as PairLike, 'scaleFactor'));
    return resize(x, this.outputSizeFor([x.shape[1], x.shape[2]]), {
      mode,
      alignCorners: this.options.alignCorners,
      halfPixelCenters: this.options.halfPixelCenters,
    });
  }
}

export interface ResizeConv2dOptions extends Omit<Conv2dOptions, 'padding'> {
  scaleFactor: number | readonly [number, number];
  /** Default 'nearest' (Odena et al. 2016). */
  mode?: InterpolationMode;
  /** Default 'same'. */
  padding?: Conv2dOptions['padding'];
}

/**
 * Resize-convolution: upsample, then convolve (Odena, Dumoulin & Olah 2016), which has none of
 * the checkerboard overlap of a transposed conv. Child modules `upsample` and `conv`.
 */
export class ResizeConv2d extends Layer {
  readonly upsample: Upsample;
  readonly conv: Conv2d;

  constructor(options: ResizeConv2dOptions) {
    super();
    const { scaleFactor, mode, padding, ...conv } = options;
    this.upsample = this.registerModule('upsample', new Upsample({ scaleFactor, mode: mode ?? 'nearest' }));
    this.conv = this.registerModule('conv', new Conv2d({ ...conv, padding: padding ?? 'same' }));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.conv.forward(this.upsample.forward(x)));
  }
}
