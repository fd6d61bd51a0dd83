// Learning tests, not timings: width-1/8 DeconvNet and SegNet must fit one synthetic batch, and
// training steps must leak no tensors.
import { Rng, type SegmentationModel } from '@semseg/core';
import { softmaxCrossEntropy } from '@semseg/layers';
import { nextMacrotask } from '@semseg/tooling/event-loop';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DeconvNet, SegNet } from '../src/index.js';
import { syntheticScenes } from './scenes.js';
import { useWasm } from './wasm.js';

beforeAll(async () => {
  await useWasm();
});

function pixelAccuracy(logits: tf.Tensor4D, labels: Uint8Array): number {
  const predicted = tf.tidy(() => tf.argMax(logits, 3).dataSync());
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct / labels.length;
}

/** Adam on one batch until the eval-mode pixel accuracy passes 0.95 (checked every 10 steps). */
async function overfit(model: SegmentationModel, size: number, maxSteps: number, lr: number) {
  const { images, labels } = syntheticScenes(4, size, 7);
  const x = tf.tensor4d(images, [4, size, size, 3]);
  const y = tf.tensor3d(Int32Array.from(labels), [4, size, size], 'int32');
  const optimizer = tf.train.adam(lr);
  let accuracy = 0;
  let steps = 0;
  let baseline = -1;
  const losses: number[] = [];
  for (steps = 1; steps <= maxSteps; steps++) {
    model.train();
    const loss = optimizer.minimize(
      () => softmaxCrossEntropy(model.forward(x), y) as tf.Scalar,
      true,
      model.parameters(),
    )!;
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
    await nextMacrotask(); // a turn of the loop per step, so the worker answers vitest's RPC
    // Adam's slots exist after the first step: from then on the count must stay put.
    if (steps === 2) baseline = tf.memory().numTensors;
    if (steps > 2) expect(tf.memory().numTensors).toBe(baseline);
    if (steps % 10 === 0) {
      model.eval();
      const logits = model.forward(x);
      accuracy = pixelAccuracy(logits, labels);
      logits.dispose();
      if (accuracy > 0.95) break;
    }
  }
  tf.dispose([x, y]);
  optimizer.dispose();
  return { accuracy, steps, first: losses[0]!, last: losses.at(-1)! };
}

describe('DeconvNet and SegNet learn', () => {
  it("width-1/8 DeconvNet (fc6 'same') overfits one batch to pixel accuracy > 0.95 in eval mode", async () => {
    const model = new DeconvNet({ width: 1 / 8, numClasses: 3, fc6Padding: 'same', dropout: 0 }, new Rng(1));
    const r = await overfit(model, 32, 150, 2e-3);
    console.log(
      `DeconvNet 1/8: accuracy ${r.accuracy.toFixed(3)} after ${r.steps} steps (loss ${r.first.toFixed(3)} -> ${r.last.toFixed(3)})`,
    );
    expect(r.accuracy).toBeGreaterThan(0.95);
    model.dispose();
  }, 300_000);

  it('width-1/8 SegNet overfits one batch to pixel accuracy > 0.95 in eval mode', async () => {
    const model = new SegNet({ width: 1 / 8, numClasses: 3 }, new Rng(2));
    const r = await overfit(model, 32, 400, 2e-3);
    console.log(
      `SegNet 1/8: accuracy ${r.accuracy.toFixed(3)} after ${r.steps} steps (loss ${r.first.toFixed(3)} -> ${r.last.toFixed(3)})`,
    );
    expect(r.accuracy).toBeGreaterThan(0.95);
    model.dispose();
  }, 300_000);
});
