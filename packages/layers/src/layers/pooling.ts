import { Module } from '@semseg/core';
import type * as tf from '@tensorflow/tfjs-core';
import { type Pair, type PairLike, toPair, toPositivePair } from '../ops/geometry.js';
import {
  type PoolGeometry,
  type PooledWithSwitches,
  checkPoolGeometry,
  maxPool2d,
  maxPool2dWithSwitches,
} from '../ops/max-pool.js';
import { type UnpoolGeometry, maxUnpool2d } from '../ops/max-unpool.js';
import { Layer } from './layer.js';

export interface MaxPool2dOptions {
  kernelSize: PairLike;
  /** Default: the kernel size. */
  stride?: PairLike;
  /** Implicit padding on both sides (at most half the kernel). Default 0. */
  padding?: PairLike;
  /** Round the output size up as Caffe does (DeconvNet, DeepLab prototxts). Default false. */
  ceilMode?: boolean;
}

/**
 * Max pooling with Caffe/PyTorch padding and ceil mode. `forwardWithSwitches` also returns where
 * each maximum came from (PyTorch's `return_indices`) for MaxUnpool2d. The gradient routes to the
 * first maximum of each window on every backend.
 */
export class MaxPool2d extends Layer {
  readonly geometry: PoolGeometry;

  constructor(options: MaxPool2dOptions) {
    super();
    const kernel = toPositivePair(options.kernelSize, 'kernelSize');
    this.geometry = {
      kernel,
      stride: toPositivePair(options.stride ?? kernel, 'stride'),
      padding: toPair(options.padding ?? 0, 'padding'),
      ceilMode: options.ceilMode ?? false,
    };
    checkPoolGeometry(this.geometry);
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return maxPool2d(x, this.geometry);
  }

  forwardWithSwitches(x: tf.Tensor4D): PooledWithSwitches {
    return maxPool2dWithSwitches(x, this.geometry);
  }
}

export interface MaxUnpool2dOptions {
  kernelSize: PairLike;
  stride?: PairLike;
  padding?: PairLike;
}

/**
 * PyTorch's MaxUnpool2d: `forward(x, switches, outputSize?)` puts each value at its switch, zeros
 * elsewhere. Give `outputSize` (the pooled layer's input size) when that size was odd.
 */
export class MaxUnpool2d extends Module {
  readonly geometry: UnpoolGeometry;

  constructor(options: MaxUnpool2dOptions) {
    super();
    const kernel = toPositivePair(options.kernelSize, 'kernelSize');
    this.geometry = {
      kernel,
      stride: toPositivePair(options.stride ?? kernel, 'stride'),
      padding: toPair(options.padding ?? 0, 'padding'),
    };
  }

  forward(x: tf.Tensor4D, switches: tf.Tensor4D, outputSize?: Pair): tf.Tensor4D {
    return maxUnpool2d(x, switches, this.geometry, outputSize);
  }
}
