import { ConfigError, type Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import { Layer } from './layer.js';

/**
 * Element-wise dropout (torch.nn.Dropout, Caffe's Dropout): in training each value is zeroed with
 * probability p and the rest scaled by 1 / (1 - p); the identity in eval. Masks come from the
 * seeded generator, registered so that a training checkpoint resumes exactly.
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
    const mask = new Float32Array(x.size);
    const keep = 1 / (1 - this.p);
    for (let i = 0; i < mask.length; i++) mask[i] = this.rng.next() < this.p ? 0 : keep;
    return tf.tidy(() => tf.mul(x, tf.tensor4d(mask, x.shape)));
  }
}
