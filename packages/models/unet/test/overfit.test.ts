// Learning tests, not timings: width-reduced U-Nets must fit one synthetic batch through the
// engine's Trainer (RMSprop, the model's training outputs) on wasm, leaking no tensors.
import { Rng } from '@semseg/core';
import { Trainer } from '@semseg/engine';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { UNet, type UNetConfig } from '../src/index.js';
import { syntheticBatch } from './synthetic.js';
import { useWasm } from './wasm.js';

beforeAll(async () => {
  await useWasm();
});

/** Pixel accuracy of the eval-mode prediction against the labels of its (centred) output window. */
function pixelAccuracy(
  model: UNet,
  images: Float32Array,
  labels: Uint8Array,
  n: number,
  size: number,
): number {
  model.eval();
  const [oh, ow] = model.outputSize([size, size]);
  const offset = (size - oh) / 2;
  const predicted = tf.tidy(() =>
    tf.argMax(model.forward(tf.tensor4d(images, [n, size, size, 3])), 3).dataSync(),
  );
  model.train();
  let correct = 0;
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++)
        if (predicted[(b * oh + y) * ow + x] === labels[(b * size + y + offset) * size + x + offset])
          correct++;
  return correct / (n * oh * ow);
}

async function overfit(config: UNetConfig, size: number, maxSteps: number): Promise<void> {
  const n = 2;
  const { images, labels } = syntheticBatch(n, size, 7);
  const model = new UNet({ numClasses: 3, dropout: 0, ...config }, new Rng(1));
  const trainer = new Trainer({
    model,
    optimizer: { type: 'rmsprop', weightDecay: 0 },
    schedule: { policy: 'fixed', baseLr: 2e-3, maxSteps },
  });
  let accuracy = 0;
  let baseline = -1;
  const losses: number[] = [];
  let step = 0;
  for (step = 1; step <= maxSteps; step++) {
    losses.push((await trainer.trainStep(images, labels, [n, size, size])).loss);
    if (step === 2) baseline = tf.memory().numTensors;
    if (step % 10 === 0) {
      accuracy = pixelAccuracy(model, images, labels, n, size);
      if (accuracy > 0.95) break;
    }
  }
  console.log(
    `U-Net ${JSON.stringify(config)} at ${size}: pixel accuracy ${accuracy.toFixed(3)} after ${step} steps (loss ${losses[0]!.toFixed(3)} -> ${losses.at(-1)!.toFixed(3)})`,
  );
  expect(accuracy).toBeGreaterThan(0.95);
  expect(tf.memory().numTensors).toBe(baseline);
  trainer.dispose();
  model.dispose();
}

describe('U-Net learns on wasm', () => {
  it('same padding, width 1/16, depth 4, 40x40 (not a multiple of 16): accuracy > 0.95', async () => {
    await overfit({ padding: 'same', width: 1 / 16 }, 40, 200);
  }, 300_000);

  it('valid padding, width 1/8, depth 2, 96x96 -> 56x56 with cropped labels: accuracy > 0.95', async () => {
    await overfit({ padding: 'valid', width: 1 / 8, depth: 2 }, 96, 200);
  }, 300_000);
});
