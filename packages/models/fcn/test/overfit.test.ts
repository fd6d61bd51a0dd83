// A learning test, not a timing: a width-1/8 FCN-8s must fit one batch of synthetic scenes.
import { Rng } from '@semseg/core';
import { softmaxCrossEntropy } from '@semseg/layers';
import { nextMacrotask } from '@semseg/tooling/event-loop';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FCN } from '../src/index.js';
import { syntheticBatch } from './synthetic.js';
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

describe('FCN-8s learns', () => {
  it('overfits one synthetic batch to pixel accuracy > 0.95 on wasm, leaking no tensors', async () => {
    const size = 64;
    const { images, labels } = syntheticBatch(4, size, 1);
    const model = new FCN(
      '8s',
      { width: 1 / 8, numClasses: 3, alignment: 'compact', dropout: 0 },
      new Rng(1),
    );
    const x = tf.tensor4d(images, [4, size, size, 3]);
    const y = tf.tensor3d(Int32Array.from(labels), [4, size, size], 'int32');
    const optimizer = tf.train.adam(2e-3);
    const maxSteps = 150;
    let accuracy = 0;
    let steps = 0;
    let baseline = -1;
    const losses: number[] = [];
    for (steps = 1; steps <= maxSteps; steps++) {
      const loss = optimizer.minimize(
        () => softmaxCrossEntropy(model.forward(x), y) as tf.Scalar,
        true,
        model.parameters(),
      )!;
      losses.push(loss.dataSync()[0]!);
      loss.dispose();
      await nextMacrotask(); // a turn of the loop per step, so the worker answers vitest's RPC
      if (steps === 2) baseline = tf.memory().numTensors;
      if (steps % 10 === 0) {
        model.eval();
        const logits = model.forward(x);
        accuracy = pixelAccuracy(logits, labels);
        logits.dispose();
        model.train();
        if (accuracy > 0.95) break;
      }
    }
    console.log(
      `FCN-8s width 1/8: pixel accuracy ${accuracy.toFixed(3)} after ${steps} steps (loss ${losses[0]!.toFixed(3)} -> ${losses.at(-1)!.toFixed(3)})`,
    );
    expect(accuracy).toBeGreaterThan(0.95);
    expect(tf.memory().numTensors).toBe(baseline);
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }, 300_000);
});
