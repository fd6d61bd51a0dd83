import { Module, Rng, type SegmentationModel } from '@semseg/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { slideLogitsBefore } from '../bench/slide-before.js';
import { slideLogits } from '../src/inference/predict.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A model whose logits depend on the window (3x3 conv, zero-padded): overlaps really differ. */
class ConvModel extends Module implements SegmentationModel {
  readonly numClasses = 5;
  readonly weight: tf.Variable;
  /** Bytes alive on the backend at each forward: the peak memory the accumulation causes. */
  readonly bytesAtForward: number[] = [];
  constructor(rng: Rng) {
    super();
    this.weight = this.registerParameter(
      'weight',
      tf.tensor4d(rng.fillNormal(new Float32Array(9 * 3 * 5)), [3, 3, 3, 5]),
    );
  }
  forward(x: tf.Tensor4D): tf.Tensor4D {
    this.bytesAtForward.push(tf.memory().numBytes);
    return tf.conv2d(x, this.weight as tf.Tensor4D, 1, 'same');
  }
}

describe('sliding-window accumulation into one buffer per image', () => {
  it('gives the same bits as keeping every window, and leaks nothing', () => {
    const rng = new Rng(4);
    const model = new ConvModel(rng);
    for (const [h, w, batchSize] of [
      [61, 97, 1],
      [61, 97, 3],
      [20, 30, 2], // smaller than a window: padded
    ] as const) {
      const x = tf.tensor4d(rng.fillNormal(new Float32Array(h * w * 3)), [1, h, w, 3]);
      const options = { crop: [32, 40] as [number, number], stride: [21, 27] as [number, number], batchSize };
      const baseline = tf.memory().numTensors;
      const after = slideLogits(model, x, options);
      expect(tf.memory().numTensors).toBe(baseline + 1);
      const before = tf.tidy(() => slideLogitsBefore(model, x, options));
      expect(after.shape).toEqual([1, h, w, 5]);
      expect(
        Buffer.from((after.dataSync() as Float32Array).buffer).equals(
          Buffer.from((before.dataSync() as Float32Array).buffer),
        ),
      ).toBe(true);
      tf.dispose([after, before, x]);
      expect(tf.memory().numTensors).toBe(baseline - 1);
    }
    model.dispose();
  });

  it('peaks at a few image-sized buffers, not two per window', () => {
    const rng = new Rng(5);
    const model = new ConvModel(rng);
    const [h, w] = [96, 160];
    const x = tf.tensor4d(rng.fillNormal(new Float32Array(h * w * 3)), [1, h, w, 3]);
    const options = {
      crop: [32, 32] as [number, number],
      stride: [16, 16] as [number, number],
      batchSize: 1,
    };
    const imageBytes = h * w * 5 * 4;
    const windows = 5 * 9;
    const base = tf.memory().numBytes;
    tf.dispose(slideLogits(model, x, options));
    const afterPeak = Math.max(...model.bytesAtForward) - base;
    model.bytesAtForward.length = 0;
    tf.dispose(tf.tidy(() => slideLogitsBefore(model, x, options)));
    const beforePeak = Math.max(...model.bytesAtForward) - base;
    // The running sum and one window's input (the padded window and the next sum live only inside
    // one addition, after the forward).
    expect(afterPeak).toBeLessThanOrEqual(imageBytes + 64 * 1024);
    // Before: by the last window, 2 x (windows - 1) image-sized tensors were alive.
    expect(beforePeak).toBeGreaterThan((2 * (windows - 1) - 1) * imageBytes);
    tf.dispose(x);
    model.dispose();
  });
});
