// A learning test, not a timing: a width-reduced FC-DenseNet (dropout 0.2 kept) must fit one
// synthetic batch through the engine's Trainer with RMSprop on wasm, leaking no tensors.
import { Rng } from '@semseg/core';
import { Trainer } from '@semseg/engine';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FcDenseNet } from '../src/index.js';
import { syntheticBatch } from './synthetic.js';
import { useWasm } from './wasm.js';

beforeAll(async () => {
  await useWasm();
});

describe('FC-DenseNet learns on wasm', () => {
  it('growth 4, blocks 2/2/2/2/2/2/2 (3 pools), 40x40: pixel accuracy > 0.95', async () => {
    const n = 2;
    const size = 40;
    const { images, labels } = syntheticBatch(n, size, 3);
    const model = new FcDenseNet(
      '103',
      { numClasses: 3, growthRate: 4, layersPerBlock: [2, 2, 2, 2, 2, 2, 2], firstConvChannels: 8 },
      new Rng(1),
    );
    const maxSteps = 200;
    const trainer = new Trainer({
      model,
      optimizer: { type: 'rmsprop', weightDecay: 2e-4 },
      schedule: { policy: 'exp', baseLr: 2e-3, gamma: 0.999, maxSteps },
    });
    const x = tf.tensor4d(images, [n, size, size, 3]);
    let accuracy = 0;
    let baseline = -1;
    let step = 0;
    const losses: number[] = [];
    for (step = 1; step <= maxSteps; step++) {
      losses.push((await trainer.trainStep(images, labels, [n, size, size])).loss);
      if (step === 2) baseline = tf.memory().numTensors;
      if (step % 10 === 0) {
        model.eval();
        const predicted = tf.tidy(() => tf.argMax(model.forward(x), 3).dataSync());
        model.train();
        let correct = 0;
        for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
        accuracy = correct / labels.length;
        if (accuracy > 0.95) break;
      }
    }
    console.log(
      `FC-DenseNet (growth 4): pixel accuracy ${accuracy.toFixed(3)} after ${step} steps (loss ${losses[0]!.toFixed(3)} -> ${losses.at(-1)!.toFixed(3)})`,
    );
    expect(accuracy).toBeGreaterThan(0.95);
    expect(tf.memory().numTensors).toBe(baseline);
    x.dispose();
    trainer.dispose();
    model.dispose();
  }, 300_000);
});
