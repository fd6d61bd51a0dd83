import { Module, type Normalization, type Rng, type SegmentationModel, registerModel } from '@semseg/core';
import { Conv2d, Dropout } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';

export const PLAIN: Normalization = { mean: [0, 0, 0], std: [1, 1, 1], scale: 255, channelOrder: 'rgb' };

/** A per-pixel model (a 1x1 conv): translation-equivariant, so sliding windows must equal whole-image inference. */
export class PixelModel extends Module implements SegmentationModel {
  readonly numClasses: number;
  readonly weight: tf.Variable;
  constructor(numClasses: number, rng: Rng) {
    super();
    this.numClasses = numClasses;
    this.weight = this.registerParameter(
      'weight',
      tf.tensor2d(rng.fillNormal(new Float32Array(3 * numClasses), 0, 0.02), [3, numClasses]),
    );
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const [n, h, w] = x.shape;
      return tf.reshape(tf.matMul(tf.reshape(x, [-1, 3]), this.weight), [
        n,
        h,
        w,
        this.numClasses,
      ]) as tf.Tensor4D;
    });
  }
}

export function randomImage(
  width: number,
  height: number,
  rng: Rng,
): { width: number; height: number; data: Uint8Array } {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { width, height, data };
}

/**
 * A small registered network for engine tests (the engine must not depend on a model package):
 * conv 3x3 -> ReLU -> element-wise dropout -> 1x1 scores, so a resumed run must also restore the
 * dropout generator to end bit-identical.
 */
export class TestNet extends Module implements SegmentationModel {
  readonly numClasses: number;
  readonly config: { numClasses: number; hidden: number; dropout: number };
  private readonly conv: Conv2d;
  private readonly drop: Dropout;
  private readonly score: Conv2d;
  readonly normalization: Normalization = PLAIN;
  constructor(config: { numClasses: number; hidden: number; dropout: number }, rng: Rng) {
    super();
    this.config = config;
    this.numClasses = config.numClasses;
    this.conv = this.registerModule(
      'conv',
      new Conv2d({ inChannels: 3, outChannels: config.hidden, kernelSize: 3, padding: 1, rng }),
    );
    this.drop = this.registerModule('drop', new Dropout(config.dropout, rng.split()));
    this.score = this.registerModule(
      'score',
      new Conv2d({ inChannels: config.hidden, outChannels: config.numClasses, kernelSize: 1, rng }),
    );
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.score.forward(this.drop.forward(tf.relu(this.conv.forward(x)))));
  }
}

/** Registers `engine-test-net` (idempotent). */
export function registerTestNet(): void {
  registerModel({
    name: 'engine-test-net',
    description: 'a small network for the engine tests',
    configSchema: z.object({
      numClasses: z.number().int().min(2).default(21),
      hidden: z.number().int().positive().default(6),
      dropout: z.number().min(0).lt(1).default(0.5),
    }),
    create: (config, { rng }) => new TestNet(config, rng),
  });
}
