import { ConfigError, type Rng } from '@semseg/core';
import { Layer } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Caffe's Dropout: each element zeroed with probability p in training, the rest scaled by
 * 1 / (1 - p); the identity in eval. (@semseg/layers' Dropout2d drops whole channels.) Masks come
 * from the seeded generator, registered so that a resumed run draws what an uninterrupted one would.
 */
export class Dropout extends Layer {
  readonly p: number;
  private readonly rng: Rng;

  constructor(p: number, rng: Rng) {
    super();
    if (!(p >= 0 && p < 1)) throw new ConfigError(`dropout probability must be in [0, 1), got ${p}`);
    this.p = p;
    this.rng = this.registerGenerator('rng', rng);
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (!this.training || this.p === 0) return tf.clone(x);
    const draws = this.rng.fillUniform(new Float32Array(x.size));
    const keep = 1 / (1 - this.p);
    for (let i = 0; i < draws.length; i++) draws[i] = draws[i]! < this.p ? 0 : keep;
    return tf.tidy(() => tf.mul(x, tf.tensor4d(draws, x.shape)));
  }
}
