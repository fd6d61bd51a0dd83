import { ConfigError, type Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Initializer, normal, zeros } from '../init.js';
import { Conv2d } from './conv2d.js';
import { Layer } from './layer.js';

export class ReLU extends Layer {
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.relu(x);
  }
}

/**
 * Channel dropout (PyTorch Dropout2d): in training each channel of each sample is zeroed with
 * probability p and the rest scaled by 1 / (1 - p); the identity in eval. The masks come from the
 * seeded generator, so a run is reproducible.
 */
export class Dropout2d extends Layer {
  readonly p: number;
  private readonly rng: Rng;

  constructor(p: number, rng: Rng) {
    super();
    if (!(p >= 0 && p < 1)) throw new ConfigError(`dropout probability must be in [0, 1), got ${p}`);
    this.p = p;
    // Registered so that a training checkpoint saves its state (exact resume).
    this.rng = this.registerGenerator('rng', rng);
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (!this.training || this.p === 0) return tf.clone(x);
    const [n, , , c] = x.shape;
    const mask = new Float32Array(n * c);
    const keep = 1 / (1 - this.p);
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.bernoulli(this.p) ? 0 : keep;
    return tf.tidy(() => tf.mul(x, tf.tensor4d(mask, [n, 1, 1, c])));
  }
}

/** Runs layers in order; children are named as given (or `0`, `1`, ... when unnamed, as PyTorch). */
export class Sequential extends Layer {
  readonly layers: Layer[];

  constructor(layers: ReadonlyArray<Layer | readonly [string, Layer]>) {
    super();
    this.layers = layers.map((entry, index) => {
      const [name, layer] = entry instanceof Layer ? [`${index}`, entry] : entry;
      return this.registerModule(name, layer);
    });
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let out = x;
      for (const layer of this.layers) out = layer.forward(out);
      return out === x ? tf.clone(x) : out;
    });
  }
}

export interface ClassifierOptions {
  rng: Rng;
  /** Default normal(0.01) (DeepLab); FCN's score layers use zeros(). */
  weightInit?: Initializer;
  /** Learning-rate multiplier of weight and bias (DeepLab trains its classifier at 10x / 20x). */
  lrMultiplier?: number;
}

/** The 1x1 convolution from features to per-class logits; bias initialised to zero. */
export function classifier(inChannels: number, numClasses: number, options: ClassifierOptions): Conv2d {
  const lrMultiplier = options.lrMultiplier ?? 1;
  return new Conv2d({
    inChannels,
    outChannels: numClasses,
    kernelSize: 1,
    rng: options.rng,
    weightInit: options.weightInit ?? normal(0.01),
    biasInit: zeros(),
    weightOptions: { lrMultiplier },
    biasOptions: { lrMultiplier },
  });
}
