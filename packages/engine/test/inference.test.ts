import { Rng } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  argmaxLabels,
  normalizedTensor,
  predictImage,
  predictImageAsync,
  windowStarts,
} from '../src/index.js';
import { PLAIN, PixelModel, randomImage } from './helpers.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('inference', () => {
  it('windowStarts covers the image like mmsegmentation (last window flush with the edge)', () => {
    expect(windowStarts(100, 40, 30)).toEqual([0, 30, 60]);
    expect(windowStarts(101, 40, 30)).toEqual([0, 30, 60, 61]);
    expect(windowStarts(30, 40, 30)).toEqual([0]);
    expect(windowStarts(40, 40, 10)).toEqual([0]);
  });

  it('normalises as the checkpoint says: scale, mean/std in RGB order, channels reordered to BGR', () => {
    const image = { width: 1, height: 1, data: new Uint8Array([10, 20, 30]) };
    const x = normalizedTensor(image, { mean: [1, 2, 3], std: [1, 2, 4], scale: 255, channelOrder: 'bgr' });
    // RGB: (10-1)/1, (20-2)/2, (30-3)/4 = 9, 9, 6.75; BGR order: 6.75, 9, 9.
    expect(Array.from(x.dataSync())).toEqual([6.75, 9, 9]);
    x.dispose();
    const y = normalizedTensor(image, {
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      scale: 1,
      channelOrder: 'rgb',
    });
    expect(Array.from(y.dataSync()).map((v) => Number(v.toFixed(5)))).toEqual([-0.92157, -0.84314, -0.76471]);
    y.dispose();
  });

  it('sliding windows equal whole-image inference for a per-pixel model, odd sizes and a small image', () => {
    const rng = new Rng(1);
    const model = new PixelModel(4, rng);
    for (const [w, h] of [
      [37, 29],
      [10, 7],
    ] as const) {
      const image = randomImage(w, h, rng);
      const baseline = tf.memory().numTensors;
      const whole = predictImage(model, image, { normalization: PLAIN });
      const slide = predictImage(model, image, {
        normalization: PLAIN,
        mode: 'slide',
        crop: [16, 16],
        stride: [11, 9],
        batchSize: 3,
      });
      expect(tf.memory().numTensors).toBe(baseline);
      expect(maxDiff(whole.probabilities, slide.probabilities)).toBeLessThan(1e-6);
      expect(whole.probabilities.length).toBe(w * h * 4);
      expect(slide.labels).toEqual(whole.labels);
    }
    model.dispose();
  });

  it('flip averaging is exact for a per-pixel model; scales resize back to the image', () => {
    const rng = new Rng(2);
    const model = new PixelModel(3, rng);
    const image = randomImage(24, 18, rng);
    const plain = predictImage(model, image, { normalization: PLAIN });
    const flipped = predictImage(model, image, { normalization: PLAIN, flip: true });
    expect(maxDiff(plain.probabilities, flipped.probabilities)).toBeLessThan(1e-6);
    const twice = predictImage(model, image, { normalization: PLAIN, scales: [1, 1] });
    expect(maxDiff(plain.probabilities, twice.probabilities)).toBeLessThan(1e-6);
    const multi = predictImage(model, image, { normalization: PLAIN, scales: [0.5, 1.5], flip: true });
    expect(multi.probabilities.length).toBe(24 * 18 * 3);
    for (let p = 0; p < 24 * 18; p++) {
      const sum =
        multi.probabilities[p * 3]! + multi.probabilities[p * 3 + 1]! + multi.probabilities[p * 3 + 2]!;
      expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
    }
    expect(() => predictImage(model, image, { normalization: PLAIN, scales: [0] })).toThrow(
      /scales must be positive/,
    );
    expect(() =>
      predictImage(model, { width: 2, height: 2, data: new Uint8Array(5) }, { normalization: PLAIN }),
    ).toThrow(/image data holds 5 values, 2x2 RGB needs 12/);
    model.dispose();
  });

  it('the asynchronous read gives exactly the synchronous result (slide, scales, flip)', async () => {
    const rng = new Rng(4);
    const model = new PixelModel(3, rng);
    const image = randomImage(30, 21, rng);
    const options = {
      normalization: PLAIN,
      mode: 'slide',
      crop: [16, 16],
      scales: [0.75, 1],
      flip: true,
    } as const;
    const baseline = tf.memory().numTensors;
    const sync = predictImage(model, image, options);
    const async = await predictImageAsync(model, image, options);
    expect(tf.memory().numTensors).toBe(baseline);
    expect(async.probabilities).toEqual(sync.probabilities);
    expect(async.labels).toEqual(sync.labels);
    model.dispose();
  });

  it('argmax takes the first index on ties', () => {
    expect(Array.from(argmaxLabels(Float32Array.from([0.5, 0.5, 0.2, 0.3, 0.5, 0]), 3))).toEqual([0, 1]);
  });
});
