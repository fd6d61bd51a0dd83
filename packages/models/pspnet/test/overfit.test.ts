// A learning test, not a timing: a width-reduced PSPNet, trained through the engine's Trainer with
// its auxiliary loss and the reference's parameter groups, must fit one synthetic batch.
import { Rng, createModel } from '@semseg/core';
import { Trainer } from '@semseg/engine';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type PSPNet, pspnetParameterGroup } from '../src/index.js';
import { syntheticBatch } from './synthetic.js';
import { useWasm } from './wasm.js';

beforeAll(async () => {
  await useWasm();
});

function pixelAccuracy(model: PSPNet, images: tf.Tensor4D, labels: Uint8Array): number {
  model.eval();
  const predicted = tf.tidy(() => tf.argMax(model.forward(images), 3).dataSync());
  model.train();
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

describe('PSPNet learns', () => {
  it('pspnet-resnet50 at width 1/16 overfits one synthetic batch to pixel accuracy > 0.95 on wasm, leaking no tensors', async () => {
    const [n, size] = [4, 64];
    const { images, labels } = syntheticBatch(n, size, 1);
    const model = createModel(
      'pspnet-resnet50',
      { numClasses: 3, width: 1 / 16 },
      { rng: new Rng(1) },
    ) as PSPNet;
    const maxSteps = 200;
    const trainer = new Trainer({
      model,
      optimizer: { type: 'sgd', momentum: 0.9, weightDecay: 1e-4 },
      schedule: { policy: 'poly', baseLr: 0.01, power: 0.9, maxSteps },
      parameterGroup: pspnetParameterGroup,
    });
    const x = tf.tensor4d(images, [n, size, size, 3]);
    let baseline = -1;
    let accuracy = 0;
    const losses: number[] = [];
    for (let step = 1; step <= maxSteps; step++) {
      losses.push((await trainer.trainStep(images, labels, [n, size, size])).loss);
      if (step === 2) baseline = tf.memory().numTensors;
      if (step % 10 === 0) {
        accuracy = pixelAccuracy(model, x, labels);
        if (accuracy > 0.95) break;
      }
    }
    console.log(
      `pspnet-resnet50 width 1/16: pixel accuracy ${accuracy.toFixed(3)} after ${losses.length} steps (loss ${losses[0]!.toFixed(3)} -> ${losses.at(-1)!.toFixed(3)})`,
    );
    expect(accuracy).toBeGreaterThan(0.95);
    expect(tf.memory().numTensors).toBe(baseline);
    x.dispose();
    trainer.dispose();
    model.dispose();
  }, 300_000);
});
