// Models for the data-parallel tests. The replica threads import this file (as a plugin), so it
// registers on import, idempotently (the main thread imports it too).
import { isMainThread } from 'node:worker_threads';
import {
  Module,
  type Rng,
  type SegmentationModel,
  type TrainingOutput,
  listModels,
  registerModel,
} from '@semseg/core';
import { BatchNorm2d, Conv2d, Dropout } from '@semseg/layers';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { PLAIN } from './helpers.js';

export const PARALLEL_PLUGIN = new URL('./parallel-models.ts', import.meta.url).href;

const configSchema = z.object({
  numClasses: z.number().int().min(2).default(3),
  hidden: z.number().int().positive().default(4),
  dropout: z.number().min(0).lt(1).default(0),
  batchNorm: z.boolean().default(false),
  /** An auxiliary head scored against labels at half resolution (two loss terms). */
  aux: z.boolean().default(false),
  /** In a replica thread, exit the thread on a batch of this many images (a thread that dies). */
  exitOnBatchOf: z.number().int().default(0),
  /** ... at this forward call of the thread (default: the first). */
  exitAtCall: z.number().int().default(1),
});
type Config = z.infer<typeof configSchema>;

/** conv 3x3 -> (BN) -> ReLU -> (dropout) -> 1x1 scores (and a 1x1 auxiliary head). */
export class ParallelNet extends Module implements SegmentationModel {
  readonly numClasses: number;
  readonly config: Config;
  readonly normalization = PLAIN;
  private readonly conv: Conv2d;
  private readonly bn: BatchNorm2d | null;
  private readonly drop: Dropout | null;
  private readonly score: Conv2d;
  private readonly auxScore: Conv2d | null;
  private calls = 0;
  constructor(config: Config, rng: Rng) {
    super();
    this.config = config;
    this.numClasses = config.numClasses;
    const { hidden, numClasses } = config;
    this.conv = this.registerModule(
      'conv',
      new Conv2d({ inChannels: 3, outChannels: hidden, kernelSize: 3, padding: 1, rng }),
    );
    this.bn = config.batchNorm ? this.registerModule('bn', new BatchNorm2d(hidden)) : null;
    this.drop =
      config.dropout > 0 ? this.registerModule('drop', new Dropout(config.dropout, rng.split())) : null;
    this.score = this.registerModule(
      'score',
      new Conv2d({ inChannels: hidden, outChannels: numClasses, kernelSize: 1, rng }),
    );
    this.auxScore = config.aux
      ? this.registerModule(
          'aux',
          new Conv2d({ inChannels: hidden, outChannels: numClasses, kernelSize: 1, rng }),
        )
      : null;
  }
  private features(x: tf.Tensor4D): tf.Tensor4D {
    this.calls++;
    const { exitOnBatchOf, exitAtCall } = this.config;
    if (!isMainThread && x.shape[0] === exitOnBatchOf && this.calls >= exitAtCall) process.exit(7);
    let f = this.conv.forward(x);
    if (this.bn) f = this.bn.forward(f);
    f = tf.relu(f);
    return this.drop ? this.drop.forward(f) : f;
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => this.score.forward(this.features(x)));
  }
  trainingOutputs(images: tf.Tensor4D, labels: tf.Tensor3D): TrainingOutput[] {
    const f = this.features(images);
    const main: TrainingOutput = { logits: this.score.forward(f), labels, weight: 1 };
    if (!this.auxScore) return [main];
    const [, h, w] = images.shape;
    // Labels at half resolution: a term whose count differs from the main term's.
    const small = tf.slice(tf.reshape(labels, [-1, h / 2, 2, w / 2, 2]), [0, 0, 0, 0, 0], [-1, -1, 1, -1, 1]);
    const auxLabels = tf.reshape(small, [-1, h / 2, w / 2]) as tf.Tensor3D;
    const auxLogits = tf.avgPool(this.auxScore.forward(f), 2, 2, 'valid') as tf.Tensor4D;
    return [main, { logits: auxLogits, labels: auxLabels, weight: 0.4 }];
  }
}

if (!listModels().some((m) => m.name === 'parallel-test-net')) {
  registerModel({
    name: 'parallel-test-net',
    description: 'a small network for the data-parallel tests',
    configSchema,
    create: (config, { rng }) => new ParallelNet(config, rng),
  });
}
