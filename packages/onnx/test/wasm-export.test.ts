// exportOnnx on the wasm backend, where @semseg/layers' convolutions take core's Winograd kernels
// at inference (16 channels and up): the trace runs without them (ONNX has no ops for them), the
// file runs in onnxruntime to the tfjs values, and the kernels are there again afterwards.
import '@semseg/unet';
import { Rng, type SegmentationModel, createModel, hasWinogradTransforms } from '@semseg/core';
import { useNodeBackend } from '@semseg/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exportOnnx } from '../src/index.js';
import { maxAbsDiff, onnxCheckerSkipReason, runOnnx } from './helpers.js';
import { randomizeWeights } from './random-weights.js';

const [H, W, C] = [40, 48, 3];

describe.skipIf(onnxCheckerSkipReason() !== null)('exportOnnx on wasm', () => {
  let model: SegmentationModel;

  beforeAll(async () => {
    await useNodeBackend('wasm');
    model = createModel(
      'unet',
      { padding: 'same', width: 1 / 4, depth: 3, numClasses: C },
      { rng: new Rng(4) },
    ) as SegmentationModel;
    randomizeWeights(model, 5);
    model.eval();
  });

  afterAll(() => {
    for (const e of model.namedEntries()) e.variable.dispose();
  });

  test('traces the direct routes where the forward takes Winograd, to the same values', async () => {
    const x = tf.randomNormal([1, H, W, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    // The plain forward takes Winograd (so the test means something).
    const profile = await tf.profile(() => tf.tidy(() => model.forward(x)));
    expect(profile.kernels.some((k) => k.name === 'SemsegWinogradInput')).toBe(true);
    const logits = tf.tidy(() => model.forward(x)).dataSync() as Float32Array;
    const bytes = exportOnnx(model, { height: H, width: W });
    expect(hasWinogradTransforms()).toBe(true);
    const out = await runOnnx(bytes, x.dataSync() as Float32Array, [1, H, W, 3]);
    const largest = logits.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    expect(maxAbsDiff(out.data, logits)).toBeLessThan(1e-4 * Math.max(1, largest));
    x.dispose();
  });
});
