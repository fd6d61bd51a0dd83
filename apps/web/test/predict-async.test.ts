import { type Normalization, Rng, createModel } from '@semseg/core';
import { predictImage } from '@semseg/engine';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import '../src/models.js';
import { predictWholeImageAsync } from '../src/predict-async.js';

beforeAll(async () => {
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
});

describe('the asynchronous whole-image pass used on WebGPU', () => {
  it("equals the engine's predictImage bit for bit, and leaks no tensors", async () => {
    const model = createModel(
      'fcn8s',
      { numClasses: 4, width: 1 / 32, alignment: 'compact' },
      { rng: new Rng(5) },
    );
    // Non-zero score layers, so that the classes differ from pixel to pixel.
    for (const { name, variable } of model.namedParameters()) {
      if (name.includes('score')) variable.assign(tf.randomNormal(variable.shape, 0, 0.5, 'float32', 11));
    }
    model.eval();
    const width = 37;
    const height = 29;
    const data = new Uint8Array(width * height * 3).map((_, i) => (i * 37 + (i % 7) * 11) % 256);
    const image = { width, height, data };
    const normalization: Normalization = {
      mean: [0.4, 0.5, 0.6],
      std: [0.2, 0.25, 0.3],
      scale: 1,
      channelOrder: 'bgr',
    };
    const before = tf.memory().numTensors;
    const reference = predictImage(model, image, { normalization });
    const ours = await predictWholeImageAsync(model, image, normalization);
    expect(tf.memory().numTensors).toBe(before);
    expect(new Set(reference.labels).size).toBeGreaterThan(1);
    expect(ours.probabilities).toEqual(reference.probabilities);
    expect(ours.labels).toEqual(reference.labels);
    expect([ours.width, ours.height, ours.numClasses]).toEqual([width, height, 4]);
    model.dispose();
  });
});
